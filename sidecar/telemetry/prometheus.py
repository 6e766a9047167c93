"""Prometheus metrics named by the OpenTelemetry GenAI conventions, plus the sidecar's own.

GenAI histograms (semantic conventions v1.41, mapped to Prometheus names, base units, the spec's
explicit buckets):

- ``gen_ai_client_operation_duration_seconds`` (every LLM call),
  ``gen_ai_client_operation_time_to_first_chunk_seconds`` and
  ``gen_ai_client_operation_time_per_output_chunk_seconds`` (streaming calls only), labels
  ``gen_ai_operation_name``, ``gen_ai_provider_name``, ``gen_ai_request_model``, ``error_type``;
- ``gen_ai_client_token_usage`` (``gen_ai_token_type`` = input | output), for calls whose usage
  is known (``usage_unknown`` calls are counted in ``agent_sidecar_llm_calls_usage_unknown``);
- ``gen_ai_execute_tool_duration_seconds`` (``gen_ai_tool_name``) and
  ``gen_ai_invoke_agent_duration_seconds`` (``gen_ai_agent_name``), with the duration buckets.

Cardinality guarantee: every label value passes a :class:`~sidecar.analytics.LabelGuard`, so a
label with cap ``c`` (100 models, 200 tools, 50 agents, ... see :class:`MetricsConfig`) shows at
most ``c + 1`` values (the ``+ 1`` is ``_OTHER``); identifiers (user, session, conversation,
request, call ids) are never labels. A streaming LLM call event makes five observations on
the cheap histograms of :mod:`sidecar.telemetry.histograms`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sidecar.analytics import Analytics
from sidecar.analytics.cardinality import OTHER, LabelGuard, check_label_name
from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.telemetry.config import MetricsConfig
from sidecar.telemetry.histograms import HistogramCollector, LabelledHistogram
from sidecar.telemetry.sketch_gauges import SketchQuantileCollector

DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
STEP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
STORE_WRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

GENAI_LABELS = (
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "error_type",
)
TOKEN_LABELS = (*GENAI_LABELS[:3], "gen_ai_token_type")
TOOL_LABELS = ("gen_ai_operation_name", "gen_ai_tool_name", "error_type")
AGENT_LABELS = ("gen_ai_operation_name", "gen_ai_agent_name", "error_type")

_KEY_CACHE_LIMIT = 20_000

_LlmLabels = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


class PrometheusMetrics:
    """GenAI histograms fed as an event sink, and the sidecar's own counters and gauges."""

    def __init__(
        self,
        registry: CollectorRegistry,
        config: MetricsConfig | None = None,
        analytics: Analytics | None = None,
    ) -> None:
        """Register the metrics in ``registry`` (never the global one unless passed in).

        With ``analytics`` and ``config.sketch_quantiles`` the sketch gauges are registered too.
        """
        self.config = config or MetricsConfig()
        self.guard = LabelGuard(self.config.max_label_values, self.config.default_label_cap)
        self.operation_duration = LabelledHistogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration (OpenTelemetry gen_ai.client.operation.duration).",
            GENAI_LABELS,
            DURATION_BUCKETS,
        )
        self.time_to_first_chunk = LabelledHistogram(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "Time to the first content chunk of a streaming GenAI call, seen by the client.",
            GENAI_LABELS,
            DURATION_BUCKETS,
        )
        self.time_per_output_chunk = LabelledHistogram(
            "gen_ai_client_operation_time_per_output_chunk_seconds",
            "Time per output chunk after the first of a streaming GenAI call.",
            GENAI_LABELS,
            DURATION_BUCKETS,
        )
        self.token_usage = LabelledHistogram(
            "gen_ai_client_token_usage",
            "Tokens used per GenAI call, by token type (input or output).",
            TOKEN_LABELS,
            TOKEN_BUCKETS,
        )
        self.tool_duration = LabelledHistogram(
            "gen_ai_execute_tool_duration_seconds",
            "Tool execution duration (OpenTelemetry gen_ai.execute_tool.duration).",
            TOOL_LABELS,
            DURATION_BUCKETS,
        )
        self.agent_duration = LabelledHistogram(
            "gen_ai_invoke_agent_duration_seconds",
            "Agent run duration (OpenTelemetry gen_ai.invoke_agent.duration).",
            AGENT_LABELS,
            DURATION_BUCKETS,
        )
        self.run_steps = LabelledHistogram(
            "agent_sidecar_run_steps",
            "Steps taken per agent run.",
            ("gen_ai_agent_name",),
            STEP_BUCKETS,
        )
        self._histograms = (
            self.operation_duration,
            self.time_to_first_chunk,
            self.time_per_output_chunk,
            self.token_usage,
            self.tool_duration,
            self.agent_duration,
            self.run_steps,
        )
        for h in self._histograms:
            for name in h.label_names:
                check_label_name(name)
        registry.register(HistogramCollector(self._histograms))
        self._cost_children: dict[tuple[str, str | None], Any] = {}
        self._cost = Counter(
            "agent_sidecar_cost_usd",
            "Cost of LLM calls in US dollars, from the price table, by model and agent.",
            ["model", "agent"],
            registry=registry,
        )
        self._ingested = Counter(
            "agent_sidecar_events_ingested", "Events accepted and stored.", registry=registry
        )
        self._rejected = Counter(
            "agent_sidecar_events_rejected",
            "Events rejected, by reason.",
            ["reason"],
            registry=registry,
        )
        self._duplicates = Counter(
            "agent_sidecar_events_duplicate",
            "Events ignored as already stored (same id).",
            registry=registry,
        )
        self._unknown_fields = Counter(
            "agent_sidecar_events_unknown_fields",
            "Events that carried fields unknown to this version (ignored).",
            registry=registry,
        )
        self._otlp_spans = Counter(
            "agent_sidecar_otlp_spans",
            "OTLP spans received on /v1/traces, by outcome: mapped (became an event), ignored "
            "(not a GenAI operation), merged (a second record of one operation), rejected.",
            ["outcome"],
            registry=registry,
        )
        self._otlp_discarded = Counter(
            "agent_sidecar_otlp_discarded",
            "OTLP metric data points and log records received and not ingested, by signal.",
            ["signal"],
            registry=registry,
        )
        self._usage_unknown = Counter(
            "agent_sidecar_llm_calls_usage_unknown",
            "LLM calls stored without token counts (kept out of gen_ai_client_token_usage).",
            registry=registry,
        )
        self._store_write = Histogram(
            "agent_sidecar_store_write_duration_seconds",
            "Duration of one store batch write.",
            buckets=STORE_WRITE_BUCKETS,
            registry=registry,
        )
        self._store_batch = Histogram(
            "agent_sidecar_store_batch_events",
            "Events per store batch write.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self._queue_depth = Gauge(
            "agent_sidecar_ingest_queue_depth", "Events waiting to be stored.", registry=registry
        )
        self._store_up = Gauge(
            "agent_sidecar_store_up",
            "1 when the store answers, 0 when it does not.",
            registry=registry,
        )
        if analytics is not None and self.config.sketch_quantiles:
            registry.register(SketchQuantileCollector(analytics, self.config.sketch_window))
        self._keys: dict[tuple[object, ...], tuple[str, ...]] = {}
        self._llm_keys: dict[tuple[str | None, ...], _LlmLabels] = {}

    # -- the event sink ---------------------------------------------------------------------

    async def consume(self, events: Sequence[Event]) -> None:
        """Sink entry point: observe each newly stored event once."""
        self.record(events)

    def record(self, events: Sequence[Event]) -> None:
        """Observe each event once. LLM calls are grouped by label set and observed a group at
        a time; label values are bounded in event order, as one by one, and each group's
        values are added in event order, so the histograms are exactly those of observing
        every event alone. Costs are added to the counter once per (model, agent) and batch."""
        calls: dict[_LlmLabels, list[LlmCall]] = {}
        costs: dict[Any, float] = {}
        for e in events:
            if type(e) is LlmCall:
                assert isinstance(e, LlmCall)
                raw = (e.operation, e.provider, e.model, e.status, e.error_type)
                cached = self._llm_keys.get(raw)
                if cached is None:
                    cached = self._llm_labels(raw)
                group = calls.get(cached)
                if group is None:
                    group = calls[cached] = []
                group.append(e)
                if e.cost_usd:
                    child = self._cost_child(cached[0][2], e.agent)
                    costs[child] = costs.get(child, 0.0) + e.cost_usd
            elif type(e) is ToolCall:
                assert isinstance(e, ToolCall)
                labels = self._labels(
                    TOOL_LABELS, ("execute_tool", e.tool, self._error(e.status, e.error_type))
                )
                self.tool_duration.observe(labels, e.duration_ms / 1000.0)
            elif type(e) is Run and e.duration_ms is not None:
                assert isinstance(e, Run)
                agent = e.agent or "unknown"
                labels = self._labels(
                    AGENT_LABELS, ("invoke_agent", agent, self._error(e.status, e.error_type))
                )
                self.agent_duration.observe(labels, e.duration_ms / 1000.0)
                if e.steps is not None:
                    self.run_steps.observe(labels[1:2], e.steps)
        for cached, group in calls.items():
            self._record_llm(cached, group)
        for child, cost in costs.items():
            child.inc(cost)

    def _record_llm(self, cached: _LlmLabels, calls: list[LlmCall]) -> None:
        """The histograms of LLM calls that share one label set (costs are the caller's)."""
        labels, input_labels, output_labels = cached
        self.operation_duration.observe_all(labels, [e.duration_ms / 1000.0 for e in calls])
        known = [e for e in calls if not e.usage_unknown]
        if len(known) != len(calls):
            self._usage_unknown.inc(len(calls) - len(known))
        if known:
            self.token_usage.observe_all(input_labels, [e.input_tokens for e in known])
            self.token_usage.observe_all(output_labels, [e.output_tokens for e in known])
        streamed = [e for e in calls if e.ttft_ms is not None and e.stream is not False]
        if not streamed:
            return
        self.time_to_first_chunk.observe_all(
            labels,
            [e.ttft_ms / 1000.0 for e in streamed if e.ttft_ms is not None],
        )
        self.time_per_output_chunk.observe_all(
            labels,
            [
                max(e.duration_ms - e.ttft_ms, 0.0) / (e.output_tokens - 1) / 1000.0
                for e in streamed
                if e.output_tokens > 1 and e.ttft_ms is not None
            ],
        )

    def _cost_child(self, model: str, agent: str | None) -> Any:
        """The cost counter's child for (model, agent), bounded and memoised (labels() is slow)."""
        child = self._cost_children.get((model, agent))
        if child is None:
            bounded = self.guard.bound("gen_ai_agent_name", agent or "unknown")
            child = self._cost.labels(model, bounded)
            if len(self._cost_children) < _KEY_CACHE_LIMIT:
                self._cost_children[(model, agent)] = child
        return child

    def _llm_labels(self, raw: tuple[str | None, ...]) -> _LlmLabels:
        """Label tuples of one kind of LLM call, bounded and cached (the cache is bounded too)."""
        op, provider, model, status, error_type = raw
        error = self._error(status, error_type)
        labels = self._labels(GENAI_LABELS, (op or "chat", provider or "", model or "", error))
        cached = (labels, (*labels[:3], "input"), (*labels[:3], "output"))
        if len(self._llm_keys) < _KEY_CACHE_LIMIT:
            self._llm_keys[raw] = cached
        return cached

    @staticmethod
    def _error(status: str | None, error_type: str | None) -> str:
        if status != "error":
            return ""
        return error_type or OTHER

    def _labels(self, names: tuple[str, ...], values: tuple[str, ...]) -> tuple[str, ...]:
        """Bounded label values, cached by the raw values (the cache itself is bounded)."""
        raw = (names, *values)
        bounded = self._keys.get(raw)
        if bounded is None:
            guard = self.guard
            bounded = tuple(
                v if v == "" else guard.bound(n, v) for n, v in zip(names, values, strict=True)
            )
            if len(self._keys) < _KEY_CACHE_LIMIT:
                self._keys[raw] = bounded
        return bounded

    # -- the sidecar's own metrics ----------------------------------------------------------

    def events_ingested(self, n: int = 1) -> None:
        self._ingested.inc(n)

    def events_rejected(self, reason: str, n: int = 1) -> None:
        self._rejected.labels(self.guard.bound("reason", reason)).inc(n)

    def otlp_spans(self, outcome: str, n: int) -> None:
        """Count OTLP spans by outcome (mapped, ignored, merged, rejected)."""
        if n:
            self._otlp_spans.labels(outcome).inc(n)

    def otlp_discarded(self, signal: str, n: int) -> None:
        """Count OTLP metric points or log records that were received and not ingested."""
        if n:
            self._otlp_discarded.labels(signal).inc(n)

    def events_duplicate(self, n: int = 1) -> None:
        self._duplicates.inc(n)

    def events_unknown_fields(self, n: int = 1) -> None:
        self._unknown_fields.inc(n)

    def store_write(self, duration_s: float, batch_events: int) -> None:
        """One store batch: its write duration and its size."""
        self._store_write.observe(duration_s)
        self._store_batch.observe(batch_events)

    def set_ingest_queue_depth(self, depth: int) -> None:
        self._queue_depth.set(depth)

    def watch_ingest_queue_depth(self, depth: Callable[[], float]) -> None:
        """Read the queue depth at scrape time instead of on every change."""
        self._queue_depth.set_function(depth)

    def set_store_up(self, up: bool) -> None:
        self._store_up.set(1 if up else 0)
