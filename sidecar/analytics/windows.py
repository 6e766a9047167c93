"""Sliding windows from time slices of mergeable aggregates, merged at query time.

Values go into the open 10 s slice only (one insert each). When the clock leaves that slice it is
closed: compacted, kept for 5 minutes, and folded into its 1-minute slice (kept for 1 hour) and
into the since-start total. A query merges the slices that cover the window:

- windows that are multiples of 10 s up to 5 minutes (``1m``, ``5m``, ``30s``): 10 s slices, so
  a ``5m`` window covers the last 5 minutes plus the open slice (5 min .. 5 min 10 s);
- multiples of 1 minute up to 1 hour (``15m``, ``1h``): 1-minute slices, so ``1h`` covers
  1 h .. 1 h 1 min;
- ``all``: everything since start.

Closed slices never change again, so runs of them are merged once and kept as blocks (a minute
of 10 s slices, ten minutes of 1-minute slices): a ``1h`` query merges at most 6 blocks, 9
1-minute slices, the current minute and the open slice (about 17 parts instead of 62), a ``5m``
query at most 5 blocks and 11 slices (instead of 31). The answer is the same: a block is the
merge of exactly the slices it replaces.

Memory is bounded by the slice count (31 + 61 + 1) and the block count (at most 6 + 7), whatever
the event rate: an aggregate's size depends on its distinct sketch bins, not on how many values
it holds. Time is the sidecar's own
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
FINE_BLOCK = 6  # closed 10 s slices merged once per minute, for windows that cover them whole
COARSE_SECONDS = 60
COARSE_KEEP = 60  # 1 hour of 1-minute slices
COARSE_BLOCK = 10  # closed 1-minute slices merged once per 10 minutes
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
        self._fine_blocks: dict[int, dict[K, A]] = {}
        self._coarse_blocks: dict[int, dict[K, A]] = {}
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
        for old in [b for b in self._fine_blocks if b * FINE_BLOCK < index - FINE_KEEP]:
            del self._fine_blocks[old]
        minute_now = index * FINE_SECONDS // COARSE_SECONDS
        for old in [m for m in self._coarse if m < minute_now - COARSE_KEEP]:
            del self._coarse[old]
        for old in [b for b in self._coarse_blocks if b * COARSE_BLOCK < minute_now - COARSE_KEEP]:
            del self._coarse_blocks[old]

    def slices(self, seconds: int | None) -> Iterator[dict[K, A]]:
        """The slices to merge for a window of ``seconds`` (None: since start), open one first."""
        self.open_slice()
        yield self._open
        if seconds is None:
            yield self._total
        elif seconds % FINE_SECONDS == 0 and seconds <= FINE_SECONDS * FINE_KEEP:
            first = self._open_index - seconds // FINE_SECONDS
            yield from _ranged(
                self._fine, first, self._open_index - 1, FINE_BLOCK, self._fine_blocks
            )
        else:
            minute_now = self._open_index * FINE_SECONDS // COARSE_SECONDS
            first = minute_now - seconds // COARSE_SECONDS
            # minutes before this one are final (the open slice of this minute folds into it)
            yield from _ranged(
                self._coarse, first, minute_now - 1, COARSE_BLOCK, self._coarse_blocks
            )
            current = self._coarse.get(minute_now)
            if current:
                yield current

    def parts(self, seconds: int | None) -> list[dict[K, A]]:
        """The slices of :meth:`slices` as a list that no later insert or rotation changes:
        the open slice, the current minute and the total (the only parts still mutated) are
        compacted copies. So the list can be merged in another thread, or in steps."""
        self.open_slice()  # rotate first: the parts below are the current ones
        minute_now = self._open_index * FINE_SECONDS // COARSE_SECONDS
        mutable = (self._open, self._coarse.get(minute_now), self._total)
        out: list[dict[K, A]] = []
        for part in self.slices(seconds):
            if any(part is m for m in mutable):
                part = {key: agg.compacted() for key, agg in part.items()}
            out.append(part)
        return out

    def slice_count(self) -> int:
        """Closed slices and blocks held (bounded by 30 + 61 + 6 + 7 whatever the traffic)."""
        return (
            len(self._fine) + len(self._coarse) + len(self._fine_blocks) + len(self._coarse_blocks)
        )


def _ranged(
    slices: dict[int, dict[K, A]], first: int, last: int, size: int, blocks: dict[int, dict[K, A]]
) -> Iterator[dict[K, A]]:
    """The closed slices ``first..last``, whole aligned runs of ``size`` as one cached block."""
    i = first
    while i <= last:
        if i % size == 0 and i + size - 1 <= last:
            block = blocks.get(i // size)
            if block is None:
                block = {}
                for j in range(i, i + size):
                    part = slices.get(j)
                    if part:
                        _fold(block, part)
                blocks[i // size] = block
            if block:
                yield block
            i += size
        else:
            part = slices.get(i)
            if part:
                yield part
            i += 1


def _fold(into: dict[K, A], slice_: dict[K, A]) -> None:
    for key, agg in slice_.items():
        target = into.get(key)
        if target is None:
            into[key] = agg.compacted()
        else:
            target.merge(agg)
