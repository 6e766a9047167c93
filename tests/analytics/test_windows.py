from __future__ import annotations

import pytest

from sidecar.analytics import Analytics, ManualClock
from sidecar.analytics.windows import window_seconds
from tests.analytics.events import llm


def counts(analytics: Analytics) -> dict[str, int]:
    out = {}
    for window in ("1m", "5m", "1h", "all"):
        series = analytics.stats(window, [])["series"]
        out[window] = sum(s["count"] for s in series)
    return out


def test_events_leave_each_window_as_the_clock_moves() -> None:
    clock = ManualClock(start=1_000_000.0)
    analytics = Analytics(clock=clock)
    analytics.record([llm()] * 3)
    assert counts(analytics) == {"1m": 3, "5m": 3, "1h": 3, "all": 3}
    clock.advance(75)
    analytics.record([llm()])
    assert counts(analytics) == {"1m": 1, "5m": 4, "1h": 4, "all": 4}
    clock.advance(6 * 60)
    assert counts(analytics) == {"1m": 0, "5m": 0, "1h": 4, "all": 4}
    clock.advance(62 * 60)
    assert counts(analytics) == {"1m": 0, "5m": 0, "1h": 0, "all": 4}


def test_window_covers_its_span_plus_at_most_one_slice() -> None:
    clock = ManualClock(start=1_000_000.0)
    analytics = Analytics(clock=clock)
    analytics.record([llm()])
    clock.advance(60)
    assert counts(analytics)["1m"] == 1  # 60 s ago: still inside (coverage 60..70 s)
    clock.advance(10)
    assert counts(analytics)["1m"] == 0


def test_memory_is_bounded_by_the_slice_count() -> None:
    clock = ManualClock()
    analytics = Analytics(clock=clock)
    for _ in range(3 * 360):  # three hours of 10 s slices
        analytics.record([llm()])
        clock.advance(10)
    assert analytics._windows.slice_count() <= 30 + 61
    assert counts(analytics)["all"] == 3 * 360
    assert 360 <= counts(analytics)["1h"] <= 366


@pytest.mark.parametrize("window", ["5", "0m", "7s", "65s", "2h", "61m", "1d", "", "5 m"])
def test_unsupported_windows_are_named_in_the_error(window: str) -> None:
    with pytest.raises(ValueError, match=r"^window: "):
        window_seconds(window)
    with pytest.raises(ValueError, match=r"^window: "):
        Analytics().stats(window, [])


def test_supported_windows() -> None:
    assert [window_seconds(w) for w in ("30s", "1m", "5m", "15m", "1h", "all")] == [
        30,
        60,
        300,
        900,
        3600,
        None,
    ]
