"""Windows merged through cached blocks answer exactly what merging every slice would, and
frozen window parts do not change under later inserts and rotations.

Paths: :meth:`Analytics.stats` for fine (10 s slices) and coarse (1-minute slices) windows as
the clock moves by random steps, and :meth:`Analytics.window_parts` merged after more traffic.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.analytics import Analytics, ManualClock, QuantileSketch
from sidecar.analytics.config import SERIES_FIELDS
from sidecar.analytics.report import merge_groups
from sidecar.analytics.windows import COARSE_SECONDS, FINE_SECONDS
from tests.analytics.events import llm

WINDOWS = {"30s": 30, "1m": 60, "5m": 300, "15m": 900, "1h": 3600}
QS = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0]


def covered(recorded: list[tuple[float, float]], now: float, seconds: int) -> list[float]:
    """The values a window holds by the rules of :mod:`sidecar.analytics.windows`."""
    open_index = int(now // FINE_SECONDS)
    if seconds % FINE_SECONDS == 0 and seconds <= 300:
        first = open_index - seconds // FINE_SECONDS
        return [v for t, v in recorded if int(t // FINE_SECONDS) >= first]
    minute_now = open_index * FINE_SECONDS // COARSE_SECONDS
    first = minute_now - seconds // COARSE_SECONDS
    return [
        v for t, v in recorded if int(t // FINE_SECONDS) * FINE_SECONDS // COARSE_SECONDS >= first
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 200.0), st.integers(0, 40)), min_size=1, max_size=80),
    st.integers(0, 2**16),
)
def test_block_merged_windows_equal_the_sketch_of_the_covered_values(
    steps: list[tuple[float, int]], seed: int
) -> None:
    rng = random.Random(seed)
    clock = ManualClock(start=1_000_000.0)
    analytics = Analytics(clock=clock)
    recorded: list[tuple[float, float]] = []
    for advance, n in steps:
        clock.advance(advance)
        values = [rng.lognormvariate(5.0, 1.0) for _ in range(n)]
        analytics.record([llm(v) for v in values])
        recorded.extend((clock(), v) for v in values)
        window = rng.choice(sorted(WINDOWS))
        expected = covered(recorded, clock(), WINDOWS[window])
        series = analytics.stats(window, [])["series"]
        assert sum(s["count"] for s in series) == len(expected), window
        if expected:
            sketch = QuantileSketch()
            for v in expected:
                sketch.add(v)
            got = analytics.merged(window, [])[("chat",)].duration
            assert got is not None
            assert list(got.store.items()) == list(sketch.store.items()), window
            assert got.quantiles(QS) == sketch.quantiles(QS)
    assert analytics._windows.slice_count() <= 30 + 61 + 6 + 7


def test_frozen_parts_do_not_change_with_later_traffic() -> None:
    clock = ManualClock(start=1_000_000.0)
    analytics = Analytics(clock=clock)
    for i in range(50):
        analytics.record([llm(10.0 + i)] * 3)
        clock.advance(7)
    for window in ("1m", "5m", "1h"):
        parts = analytics.window_parts(window)
        before = analytics.stats(window, [])["series"]
        for _ in range(20):  # more inserts and rotations (into the open slice and this minute)
            analytics.record([llm(999.0)] * 5)
            clock.advance(4)
        groups = merge_groups(parts, [], 0.01, 2048)
        [agg] = groups.values()
        assert agg.count == before[0]["count"]
        assert agg.duration is not None
        assert agg.duration.quantiles([0.5, 0.99]) == [
            before[0]["duration_ms"]["p50"],
            before[0]["duration_ms"]["p99"],
        ]
        assert merge_groups(parts, SERIES_FIELDS, 0.01, 2048)
