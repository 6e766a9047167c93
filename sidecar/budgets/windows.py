"""Budget windows: calendar (minute, hour, day, month in an IANA zone) and rolling N seconds.

A calendar window is identified by its start, so a counter keyed by (budget, window_start) is
new at every boundary on every replica by the clock alone: nothing has to reset anything.
``day`` and ``month`` start at local midnight of the configured zone (Asia/Shanghai: the month
of 2025-03 is [2025-02-28T16:00Z, 2025-03-31T16:00Z)), DST transitions included (a local day
may last 23 or 25 hours). ``minute`` and ``hour`` are the local clock's.

Spellings: ``minute``/``1m``, ``hour``/``1h``, ``day``/``1d``, ``month``/``1mo``; rolling:
``rolling:90s``, ``rolling:15m``, ``rolling:1h``, ``rolling:7d`` (or ``rolling_<dur>``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

WindowKind = Literal["minute", "hour", "day", "month", "rolling"]
_CALENDAR: dict[str, WindowKind] = {
    "minute": "minute", "1m": "minute", "1min": "minute",
    "hour": "hour", "1h": "hour",
    "day": "day", "1d": "day", "daily": "day",
    "month": "month", "1mo": "month", "monthly": "month",
}  # fmt: skip
_ROLLING = re.compile(r"^rolling[:_](\d+)(s|m|h|d)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The window_start of a rolling budget's single counter (a calendar window never starts there).
ROLLING_START = -1.0


class Window(msgspec.Struct, frozen=True):
    """A parsed window; ``seconds`` is the length of a rolling window, 0 for calendar ones."""

    kind: WindowKind
    seconds: int = 0

    @property
    def rolling(self) -> bool:
        return self.kind == "rolling"


@lru_cache(maxsize=256)
def parse_window(text: str) -> Window:
    """Parse a window spelling or raise ValueError naming the accepted ones."""
    key = text.strip().lower()
    if key in _CALENDAR:
        return Window(_CALENDAR[key])
    m = _ROLLING.match(key)
    if m and int(m.group(1)) > 0:
        seconds = int(m.group(1)) * _UNIT[m.group(2)]
        if seconds <= 366 * 86400:
            return Window("rolling", seconds)
    raise ValueError(
        f"unknown window {text!r}: use minute, hour, day, month (1m, 1h, 1d, 1mo) "
        "or rolling:<N>s|m|h|d (at most 366 days)"
    )


def calendar_bounds(kind: WindowKind, now: float, tz: ZoneInfo) -> tuple[float, float]:
    """``[start, end)`` in unix seconds of the calendar window containing ``now``."""
    local = datetime.fromtimestamp(now, tz)
    if kind in ("minute", "hour"):
        step = 60 if kind == "minute" else 3600
        offset = local.utcoffset()
        shift = offset.total_seconds() if offset is not None else 0.0
        start = now - ((now + shift) % step)
        return start, start + step
    if kind == "day":
        first = datetime(local.year, local.month, local.day)
        nxt = first + timedelta(days=1)
    elif kind == "month":
        first = datetime(local.year, local.month, 1)
        nxt = datetime(local.year + local.month // 12, local.month % 12 + 1, 1)
    else:
        raise ValueError(f"{kind} is not a calendar window")
    return first.replace(tzinfo=tz).timestamp(), nxt.replace(tzinfo=tz).timestamp()


class WindowClock:
    """Window bounds for ``now``, memoised per kind while ``now`` stays inside."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._last: dict[WindowKind, tuple[float, float]] = {}

    def bounds(self, window: Window, now: float) -> tuple[float, float]:
        """Calendar: the window containing ``now``. Rolling: ``(ROLLING_START, inf)``, one
        counter for all time whose old holds age out (see the ledgers)."""
        if window.kind == "rolling":
            return ROLLING_START, float("inf")
        last = self._last.get(window.kind)
        if last is not None and last[0] <= now < last[1]:
            return last
        b = calendar_bounds(window.kind, now, self.tz)
        self._last[window.kind] = b
        return b

    def usage_bounds(self, window: Window, now: float) -> tuple[float, float]:
        """The bounds reported by ``usage``: ``(now - N, now)`` for a rolling window."""
        if window.kind == "rolling":
            return now - window.seconds, now
        return self.bounds(window, now)
