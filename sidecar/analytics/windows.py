"""Sliding windows from time slices of mergeable aggregates, merged at query time.

Values go into the open 10 s slice only (one insert each). When the clock leaves that slice it is
closed: compacted, kept for 5 minutes, and folded into its 1-minute slice (kept for 1 hour) and
into the since-start total. A query merges the slices that cover the window:

- windows that are multiples of 10 s up to 5 minutes (``1m``, ``5m``, ``30s``): 10 s slices, so
  a ``5m`` window covers the last 5 minutes plus the open slice (5 min .. 5 min 10 s);
- multiples of 1 minute up to 1 hour (``15m``, ``1h``): 1-minute slices, so ``1h`` covers
  1 h .. 1 h 1 min;
- ``all``: everything since start.

Memory is bounded by the slice count (31 + 61 + 1), whatever the event rate: an aggregate's size
depends on its distinct sketch bins, not on how many values it holds. Time is the sidecar's own
clock at ingest (not the events' timestamps, which may be skewed or replayed); tests pass a
:class:`ManualClock`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, Protocol, Self, TypeVar

FINE_SECONDS = 10
FINE_KEEP = 30  # 5 minutes of 10 s slices
COARSE_SECONDS = 60
COARSE_KEEP = 60  # 1 hour of 1-minute slices
ALL = "all"

_WINDOW = re.compile(r"^([1-9][0-9]{0,4})(s|m|h)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}

Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to: for tests and replays."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Aggregate(Protocol):
    def merge(self, other: Self) -> None: ...

    def compacted(self) -> Self:
        """An independent copy in the compact layout (the slice it came from stays as it is)."""
        ...


A = TypeVar("A", bound=Aggregate)
K = TypeVar("K", bound=Hashable)


def window_seconds(window: str) -> int | None:
    """Seconds of a window like ``5m``; None for ``all``; ValueError naming ``window`` otherwise."""
    if window == ALL:
        return None
    m = _WINDOW.match(window)
    if m:
        seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        fine = seconds % FINE_SECONDS == 0 and seconds <= FINE_SECONDS * FINE_KEEP
        coarse = seconds % COARSE_SECONDS == 0 and seconds <= COARSE_SECONDS * COARSE_KEEP
        if fine or coarse:
            return seconds
    raise ValueError(
        f"window: unsupported value {window!r}; use 'all', a multiple of 10s up to 5m "
        "(e.g. '1m', '5m') or a multiple of 1m up to 1h (e.g. '15m', '1h')"
    )


class SlicedWindows(Generic[K, A]):
    """Per-key aggregates over time slices; see the module docstring for the coverage."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._open_index = int(clock() // FINE_SECONDS)
        self._open: dict[K, A] = {}
        self._fine: dict[int, dict[K, A]] = {}
        self._coarse: dict[int, dict[K, A]] = {}
        self._total: dict[K, A] = {}

    def now(self) -> float:
        return self._clock()

    def open_slice(self) -> dict[K, A]:
        """The mutable slice that new values go into (rotated first if the clock moved on)."""
        index = int(self._clock() // FINE_SECONDS)
        if index != self._open_index:
            self._rotate(index)
        return self._open

    def _rotate(self, index: int) -> None:
        closed, closed_index = self._open, self._open_index
        self._open, self._open_index = {}, index
        if closed:
            frozen = {key: agg.compacted() for key, agg in closed.items()}
            self._fine[closed_index] = frozen
            minute = closed_index * FINE_SECONDS // COARSE_SECONDS
            _fold(self._coarse.setdefault(minute, {}), frozen)
            _fold(self._total, frozen)
        for old in [i for i in self._fine if i < index - FINE_KEEP]:
            del self._fine[old]
        minute_now = index * FINE_SECONDS // COARSE_SECONDS
        for old in [m for m in self._coarse if m < minute_now - COARSE_KEEP]:
            del self._coarse[old]

    def slices(self, seconds: int | None) -> Iterator[dict[K, A]]:
        """The slices to merge for a window of ``seconds`` (None: since start), open one first."""
        self.open_slice()
        yield self._open
        if seconds is None:
            yield self._total
        elif seconds % FINE_SECONDS == 0 and seconds <= FINE_SECONDS * FINE_KEEP:
            first = self._open_index - seconds // FINE_SECONDS
            yield from (s for i, s in self._fine.items() if first <= i)
        else:
            minute_now = self._open_index * FINE_SECONDS // COARSE_SECONDS
            first = minute_now - seconds // COARSE_SECONDS
            yield from (s for m, s in self._coarse.items() if first <= m)

    def slice_count(self) -> int:
        """Closed slices held (bounded by 30 + 61 whatever the traffic)."""
        return len(self._fine) + len(self._coarse)


def _fold(into: dict[K, A], slice_: dict[K, A]) -> None:
    for key, agg in slice_.items():
        target = into.get(key)
        if target is None:
            into[key] = agg.compacted()
        else:
            target.merge(agg)
