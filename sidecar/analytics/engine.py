"""The analytics sink: latency percentiles, error rates, tokens and cost per series and window.

Every stored event is counted once (:meth:`Analytics.consume`) in the series of its fields
(model, provider, agent, tool, operation, status); :meth:`Analytics.stats` merges the series and
time slices a query asks for and reports p50, p90, p95, p99 and p99.9 of TTFT, duration, time per
output token and (for runs) steps, each within the configured relative accuracy (1%) of the exact
quantile of the values in the window. Example: ``stats("5m", ["model"])`` for 20,000 calls whose
exact p99 is 2,000 ms reports a p99 in [1,980, 2,020] ms.

What is measured (all in milliseconds):

- ``llm_call``: ``duration_ms``; ``ttft_ms`` for streaming calls (``stream`` true, or unset with a
  ``ttft_ms``); time per output token = ``(duration - ttft) / (output_tokens - 1)`` for streaming
  calls with more than one output token, else ``duration / output_tokens``; tokens; cost.
- ``tool_call``: ``duration_ms`` (operation ``execute_tool``).
- ``run``: ``duration_ms`` and ``steps`` (operation ``invoke_agent``); a run event with neither a
  status nor a duration marks a start and is not counted.

Series are always split by operation (a chat latency and a tool latency are never merged).
Ingest rate: ``bench/bench_sketch.py`` (docs/benchmarks.md); memory is bounded by the
field caps, ``max_series`` and the fixed number of time slices (:mod:`sidecar.analytics.windows`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import reduce
from operator import add
from typing import Any

from sidecar.analytics.cardinality import OTHER, LabelGuard
from sidecar.analytics.config import SERIES_FIELDS, AnalyticsConfig
from sidecar.analytics.report import merge_groups, parse_group_by, stats_body
from sidecar.analytics.series import SeriesKey, SeriesStats
from sidecar.analytics.windows import Clock, SlicedWindows, window_seconds
from sidecar.events.schema import Event, LlmCall, Run, ToolCall

_OPERATION = SERIES_FIELDS.index("operation")


class Analytics:
    """Event sink keeping sliding-window sketches per series; ``stats`` answers /v1/stats."""

    def __init__(self, config: AnalyticsConfig | None = None, clock: Clock = time.time) -> None:
        self.config = config or AnalyticsConfig()
        self._guard = LabelGuard(self.config.max_values)
        self._windows: SlicedWindows[SeriesKey, SeriesStats] = SlicedWindows(clock)
        self._keys: dict[tuple[Any, ...], SeriesKey] = {}
        self._series: set[SeriesKey] = set()
        self.events_consumed = 0
        self.series_overflowed = 0

    async def consume(self, events: Sequence[Event]) -> None:
        """Sink entry point: count each newly stored event once."""
        self.record(events)

    def record(self, events: Sequence[Event]) -> None:
        """Synchronous form of :meth:`consume` (one clock read per batch). Events are grouped by
        series (keys made in event order, as one by one) and each group's values are added to
        its sketches in event order, so the result is that of recording every event alone."""
        keys = self._keys
        groups: dict[SeriesKey, list[Event]] = {}
        for e in events:
            kind = type(e)
            if kind is LlmCall:
                assert isinstance(e, LlmCall)
                raw: tuple[Any, ...] = (
                    e.model,
                    e.provider,
                    e.agent,
                    None,
                    e.operation or "chat",
                    e.status,
                )
            elif kind is ToolCall:
                assert isinstance(e, ToolCall)
                raw = (None, None, e.agent, e.tool, "execute_tool", e.status)
            elif kind is Run:
                assert isinstance(e, Run)
                if e.status is None and e.duration_ms is None:
                    continue
                raw = (None, None, e.agent, None, "invoke_agent", e.status or "ok")
            else:
                continue
            key = keys.get(raw)
            if key is None:
                key = self._series_key(raw)
            group = groups.get(key)
            if group is None:
                groups[key] = [e]
            else:
                group.append(e)
        slice_ = self._windows.open_slice()
        accuracy, bin_limit = self.config.relative_accuracy, self.config.bin_limit
        for key, group in groups.items():
            agg = slice_.get(key)
            if agg is None:
                agg = slice_[key] = SeriesStats(accuracy, bin_limit)
            _record_group(group, agg)
        self.events_consumed += len(events)

    def _series_key(self, raw: tuple[Any, ...]) -> SeriesKey:
        guard = self._guard
        bounded = [
            None if v is None or name == "status" else guard.bound(name, v)
            for name, v in zip(SERIES_FIELDS, raw, strict=True)
        ]
        bounded[-1] = raw[-1]
        key: SeriesKey = tuple(bounded)  # type: ignore[assignment]
        if key not in self._series:
            if len(self._series) >= self.config.max_series:
                self.series_overflowed += 1
                key = (
                    *(None if v is None else OTHER for v in key[:_OPERATION]),
                    key[_OPERATION],
                    key[-1],
                )  # type: ignore[assignment]
            self._series.add(key)
        if len(self._keys) < 4 * self.config.max_series:
            self._keys[raw] = key
        return key

    def now(self) -> float:
        """This sidecar's analytics clock (the ``until`` of every window)."""
        return self._windows.now()

    def merged(self, window: str, group_by: Sequence[str]) -> dict[tuple[Any, ...], SeriesStats]:
        """Series of ``window`` merged by ``group_by`` (plus operation), keyed by field values.

        With ``group_by=SERIES_FIELDS`` the keys are the full series keys (what a replica
        publishes to the fleet)."""
        seconds = window_seconds(window)
        fields = parse_group_by(group_by)
        config = self.config
        return merge_groups(
            self._windows.slices(seconds), fields, config.relative_accuracy, config.bin_limit
        )

    def window_parts(self, window: str) -> list[dict[SeriesKey, SeriesStats]]:
        """The parts of ``window`` (full series keys), frozen: merge them anywhere, any time
        (:func:`~sidecar.analytics.report.merge_groups`); costs a copy of the open slice and of
        the current minute only."""
        return self._windows.parts(window_seconds(window))

    def stats(self, window: str = "5m", group_by: Sequence[str] = ()) -> dict[str, Any]:
        """The ``GET /v1/stats`` body; ValueError naming ``window`` or ``group_by`` when bad."""
        fields = parse_group_by(group_by)
        groups = self.merged(window, fields)
        return stats_body(window, fields, self.now(), self.config.relative_accuracy, groups)


def _record_group(events: list[Event], agg: SeriesStats) -> None:
    """Count events of one series (see the module docstring for what is measured)."""
    agg.count += len(events)
    agg.errors += sum(e.status == "error" for e in events)
    durations = [e.duration_ms for e in events if e.duration_ms is not None]
    if durations:
        if agg.duration is None:
            agg.duration = agg.new_sketch()
        agg.duration.add_all(durations)
    calls = [e for e in events if type(e) is LlmCall]
    if calls:
        _record_llm(calls, agg)
    runs = [e for e in events if type(e) is Run]
    steps = [e.steps for e in runs if e.steps is not None]
    if steps:
        if agg.steps is None:
            agg.steps = agg.new_sketch()
        agg.steps.add_all(steps)


def _record_llm(calls: list[LlmCall], agg: SeriesStats) -> None:
    agg.input_tokens += sum(e.input_tokens for e in calls)
    agg.output_tokens += sum(e.output_tokens for e in calls)
    agg.cached_input_tokens += sum(e.cached_input_tokens or 0 for e in calls)
    costs = [e.cost_usd for e in calls if e.cost_usd is not None]
    if costs:
        agg.cost_usd = reduce(add, costs, agg.cost_usd)  # in event order, as one by one
        agg.cost_events += len(costs)
    ttfts: list[float] = []
    tpots: list[float] = []
    for e in calls:
        out, ttft = e.output_tokens, e.ttft_ms
        streaming = e.stream if e.stream is not None else ttft is not None
        if streaming and ttft is not None:
            ttfts.append(ttft)
        if out > 0:
            if streaming and ttft is not None and out > 1:
                tpots.append(max(e.duration_ms - ttft, 0.0) / (out - 1))
            else:
                tpots.append(e.duration_ms / out)
    if ttfts:
        if agg.ttft is None:
            agg.ttft = agg.new_sketch()
        agg.ttft.add_all(ttfts)
    if tpots:
        if agg.tpot is None:
            agg.tpot = agg.new_sketch()
        agg.tpot.add_all(tpots)
