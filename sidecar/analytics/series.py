"""The aggregate of one series over one time slice: counts, tokens, cost and latency sketches.

Latencies are kept in milliseconds in :class:`~sidecar.analytics.sketch.QuantileSketch` es
(relative accuracy as configured, 1% by default); sketches are created on first use, so a series
that never streams holds no TTFT sketch. Merging two aggregates gives the aggregate of the union.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.analytics.sketch import QuantileSketch

SKETCHES = ("duration", "ttft", "tpot", "steps")

# model, provider, agent, tool, operation, status (the order of ``SERIES_FIELDS``)
SeriesKey = tuple[str | None, str | None, str | None, str | None, str, str]


class SeriesStats:
    """Counts and sketches of one series in one slice (mutable while its slice is open)."""

    __slots__ = (
        "bin_limit",
        "cached_input_tokens",
        "cost_events",
        "cost_usd",
        "count",
        "dense",
        "duration",
        "errors",
        "input_tokens",
        "output_tokens",
        "relative_accuracy",
        "steps",
        "tpot",
        "ttft",
    )

    def __init__(self, relative_accuracy: float, bin_limit: int, *, dense: bool = False) -> None:
        self.relative_accuracy = relative_accuracy
        self.bin_limit = bin_limit
        self.dense = dense
        self.count = 0
        self.errors = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cached_input_tokens = 0
        self.cost_usd = 0.0
        self.cost_events = 0
        self.duration: QuantileSketch | None = None
        self.ttft: QuantileSketch | None = None
        self.tpot: QuantileSketch | None = None
        self.steps: QuantileSketch | None = None

    def new_sketch(self) -> QuantileSketch:
        return QuantileSketch(self.relative_accuracy, self.bin_limit, dense=self.dense)

    def merge(self, other: SeriesStats) -> None:
        self.merge_all((other,))

    def merge_all(self, others: Sequence[SeriesStats]) -> None:
        """Add every aggregate of ``others`` (sketches merged in one pass each)."""
        for other in others:
            self.count += other.count
            self.errors += other.errors
            self.input_tokens += other.input_tokens
            self.output_tokens += other.output_tokens
            self.cached_input_tokens += other.cached_input_tokens
            self.cost_usd += other.cost_usd
            self.cost_events += other.cost_events
        for name in SKETCHES:
            theirs = [s for o in others if (s := getattr(o, name)) is not None]
            if not theirs:
                continue
            mine: QuantileSketch | None = getattr(self, name)
            if mine is None:
                mine = self.new_sketch()
                setattr(self, name, mine)
            mine.merge_all(theirs)

    def compacted(self) -> SeriesStats:
        new = SeriesStats(self.relative_accuracy, self.bin_limit, dense=True)
        new.merge(self)
        return new
