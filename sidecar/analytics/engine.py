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
Ingest costs about 2-4 µs per event (``bench/bench_sketch.py``); memory is bounded by the
field caps, ``max_series`` and the fixed number of time slices (:mod:`sidecar.analytics.windows`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sidecar.analytics.cardinality import OTHER, LabelGuard
from sidecar.analytics.config import SERIES_FIELDS, AnalyticsConfig
from sidecar.analytics.series import SeriesStats
from sidecar.analytics.sketch import QuantileSketch
from sidecar.analytics.windows import Clock, SlicedWindows, window_seconds
from sidecar.events.schema import Event, LlmCall, Run, ToolCall

QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
_Q_VALUES = [q for _, q in QUANTILES]
_OPERATION = SERIES_FIELDS.index("operation")

SeriesKey = tuple[str | None, str | None, str | None, str | None, str, str]


def parse_group_by(group_by: Sequence[str]) -> list[str]:
    """Validate ``group_by`` fields; ValueError naming ``group_by`` and the bad field."""
    if isinstance(group_by, str):
        group_by = [f for f in group_by.split(",") if f]
    fields: list[str] = []
    for field in group_by:
        if field not in SERIES_FIELDS:
            raise ValueError(
                f"group_by: unknown field {field!r}; expected any of {', '.join(SERIES_FIELDS)}"
            )
        if field in fields:
            raise ValueError(f"group_by: field {field!r} given twice")
        fields.append(field)
    return fields


def _quantiles(sketch: QuantileSketch | None) -> dict[str, float] | None:
    if sketch is None or not sketch.count:
        return None
    values = sketch.quantiles(_Q_VALUES)
    return {name: v for (name, _), v in zip(QUANTILES, values, strict=True) if v is not None}


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
        """Synchronous form of :meth:`consume` (one clock read per batch)."""
        slice_ = self._windows.open_slice()
        keys = self._keys
        accuracy, bin_limit = self.config.relative_accuracy, self.config.bin_limit
        for e in events:
            kind = type(e)
            if kind is LlmCall:
                assert isinstance(e, LlmCall)
                raw: tuple[Any, ...] = (
                    e.model, e.provider, e.agent, None, e.operation or "chat", e.status
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
            agg = slice_.get(key)
            if agg is None:
                agg = slice_[key] = SeriesStats(accuracy, bin_limit)
            agg.count += 1
            if e.status == "error":
                agg.errors += 1
            duration = e.duration_ms
            if duration is not None:
                sketch = agg.duration
                if sketch is None:
                    sketch = agg.duration = agg.new_sketch()
                sketch.add(duration)
            if kind is LlmCall:
                assert isinstance(e, LlmCall)
                self._record_llm(e, agg)
            elif kind is Run:
                assert isinstance(e, Run)
                if e.steps is not None:
                    sketch = agg.steps
                    if sketch is None:
                        sketch = agg.steps = agg.new_sketch()
                    sketch.add(e.steps)
        self.events_consumed += len(events)

    @staticmethod
    def _record_llm(e: LlmCall, agg: SeriesStats) -> None:
        out = e.output_tokens
        agg.input_tokens += e.input_tokens
        agg.output_tokens += out
        if e.cached_input_tokens:
            agg.cached_input_tokens += e.cached_input_tokens
        if e.cost_usd is not None:
            agg.cost_usd += e.cost_usd
            agg.cost_events += 1
        ttft = e.ttft_ms
        streaming = e.stream if e.stream is not None else ttft is not None
        if streaming and ttft is not None:
            sketch = agg.ttft
            if sketch is None:
                sketch = agg.ttft = agg.new_sketch()
            sketch.add(ttft)
        if out > 0:
            if streaming and ttft is not None and out > 1:
                per_token = max(e.duration_ms - ttft, 0.0) / (out - 1)
            else:
                per_token = e.duration_ms / out
            sketch = agg.tpot
            if sketch is None:
                sketch = agg.tpot = agg.new_sketch()
            sketch.add(per_token)

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

    def merged(self, window: str, group_by: Sequence[str]) -> dict[tuple[Any, ...], SeriesStats]:
        """Series of ``window`` merged by ``group_by`` (plus operation), keyed by field values."""
        seconds = window_seconds(window)
        fields = parse_group_by(group_by)
        index = [SERIES_FIELDS.index(f) for f in fields]
        if _OPERATION not in index:
            index.append(_OPERATION)
        accuracy, bin_limit = self.config.relative_accuracy, self.config.bin_limit
        parts: dict[tuple[Any, ...], list[SeriesStats]] = {}
        for slice_ in self._windows.slices(seconds):
            for key, agg in slice_.items():
                group = tuple(key[i] for i in index)
                found = parts.get(group)
                if found is None:
                    parts[group] = [agg]
                else:
                    found.append(agg)
        groups: dict[tuple[Any, ...], SeriesStats] = {}
        for group, aggs in parts.items():
            target = groups[group] = SeriesStats(accuracy, bin_limit, dense=True)
            target.merge_all(aggs)
        return groups

    def stats(self, window: str = "5m", group_by: Sequence[str] = ()) -> dict[str, Any]:
        """The ``GET /v1/stats`` body; ValueError naming ``window`` or ``group_by`` when bad."""
        fields = parse_group_by(group_by)
        names = [*fields, "operation"] if "operation" not in fields else fields
        groups = self.merged(window, fields)
        series: list[dict[str, Any]] = []
        for group, agg in groups.items():
            series.append(
                {
                    "key": dict(zip(names, group, strict=True)),
                    "count": agg.count,
                    "errors": agg.errors,
                    "error_rate": agg.errors / agg.count if agg.count else 0.0,
                    "ttft_ms": _quantiles(agg.ttft),
                    "duration_ms": _quantiles(agg.duration),
                    "tpot_ms": _quantiles(agg.tpot),
                    "steps": _quantiles(agg.steps),
                    "tokens": {
                        "input": agg.input_tokens,
                        "output": agg.output_tokens,
                        "cached_input": agg.cached_input_tokens,
                        "total": agg.input_tokens + agg.output_tokens,
                    },
                    "cost_usd": round(agg.cost_usd, 9) if agg.cost_events else None,
                }
            )
        series.sort(key=lambda s: (-s["count"], repr(sorted(s["key"].items()))))
        return {
            "window": window,
            "group_by": fields,
            "until": self._windows.now(),
            "relative_accuracy": self.config.relative_accuracy,
            "series": series,
        }
