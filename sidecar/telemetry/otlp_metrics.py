"""GenAI client metrics over OTLP, aggregated by the OpenTelemetry SDK as exponential histograms.

Instruments (OpenTelemetry names; the Prometheus exposition of the same data is in
:mod:`sidecar.telemetry.prometheus`):

- ``gen_ai.client.operation.duration`` (s), ``gen_ai.client.operation.time_to_first_chunk`` and
  ``gen_ai.client.operation.time_per_output_chunk`` (s, streaming calls), with
  ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model`` and, on failure,
  ``error.type``;
- ``gen_ai.client.token.usage`` ({token}, ``gen_ai.token.type`` input | output), for calls whose
  usage is known;
- ``gen_ai.execute_tool.duration`` (s, ``gen_ai.tool.name``) and ``gen_ai.invoke_agent.duration``
  (s, ``gen_ai.agent.name``);
- counters ``agent_sidecar.cost.usd`` ({USD}, by ``gen_ai.request.model`` and
  ``gen_ai.agent.name``), ``agent_sidecar.admit`` ({decision}, by ``kind`` and ``result``) and
  ``agent_sidecar.admit.denied`` ({decision}, by ``reason``): in Prometheus naming they are the
  same series as ``agent_sidecar_cost_usd_total``, ``agent_sidecar_admit_total`` and
  ``agent_sidecar_admit_denied_total``.

Histograms use the SDK's base-2 exponential aggregation (``max_size`` 160 buckets, scale up to
20): the SDK lowers the scale until the data fit, and a bucket at scale ``s`` spans a factor
``b = 2 ** 2 ** -s``, so a quantile read from merged histograms (any number of sidecars, merged
at the lowest scale among them) is within ``(b - 1) / (b + 1)`` of the exact one: 2.2% at scale
4 (latencies spanning 2**10), 1.1% at scale 5. Label values pass the same caps as Prometheus
(unknown values beyond a cap become ``_OTHER``); identifiers are never attributes.

Ingest never waits for this: ``consume`` appends the batch to a bounded queue (at most
``max_queue_events``; beyond it events are dropped and counted) and one worker thread records
them into the SDK, whose periodic reader exports. The SDK's record is too slow for the event
loop (figures in docs/benchmarks.md), so the queue is what keeps it off.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.resources import Resource

from sidecar import __version__
from sidecar.analytics.cardinality import OTHER, LabelGuard
from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.lifecycle import in_daemon_thread
from sidecar.telemetry import genai_names as gn
from sidecar.telemetry.config import MetricsConfig, OtlpMetricsConfig, TracesConfig
from sidecar.telemetry.prometheus import DURATION_BUCKETS, TOKEN_BUCKETS
from sidecar.telemetry.spans import build_resource

OPERATION_DURATION = "gen_ai.client.operation.duration"
TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"
TOKEN_USAGE = "gen_ai.client.token.usage"
TOOL_DURATION = "gen_ai.execute_tool.duration"
AGENT_DURATION = "gen_ai.invoke_agent.duration"
COST = "agent_sidecar.cost.usd"
ADMIT = "agent_sidecar.admit"
ADMIT_DENIED = "agent_sidecar.admit.denied"
_TOKEN_TYPE = "gen_ai.token.type"
_CACHE_LIMIT = 20_000
_Attrs = dict[str, str]


def _http_metrics_url(endpoint: str) -> str:
    if endpoint.rstrip("/").endswith("/v1/metrics"):
        return endpoint
    return endpoint.rstrip("/") + "/v1/metrics"


def make_metric_exporter(config: OtlpMetricsConfig) -> MetricExporter:
    """The OTLP metric exporter the config asks for; unset fields follow the OTEL_* variables."""
    if config.resolved_protocol() == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        compression = {
            "none": grpc.Compression.NoCompression,
            "gzip": grpc.Compression.Gzip,
            "deflate": grpc.Compression.Deflate,
        }
        return GrpcMetricExporter(
            endpoint=config.endpoint,
            insecure=config.insecure,
            headers=config.headers,
            timeout=config.timeout_s,
            compression=compression[config.compression] if config.compression else None,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter(
        endpoint=_http_metrics_url(config.endpoint) if config.endpoint else None,
        headers=config.headers,
        timeout=config.timeout_s,
        compression=Compression(config.compression) if config.compression else None,
    )


def _views(config: OtlpMetricsConfig) -> list[View]:
    if config.exponential():
        aggregation = ExponentialBucketHistogramAggregation(
            max_size=config.histogram_max_size, max_scale=config.histogram_max_scale
        )
        return [View(instrument_type=Histogram, aggregation=aggregation)]
    seconds = ExplicitBucketHistogramAggregation(boundaries=DURATION_BUCKETS)
    return [
        *(
            View(instrument_name=name, aggregation=seconds)
            for name in (
                OPERATION_DURATION,
                TIME_TO_FIRST_CHUNK,
                TIME_PER_OUTPUT_CHUNK,
                TOOL_DURATION,
                AGENT_DURATION,
            )
        ),
        View(
            instrument_name=TOKEN_USAGE,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=TOKEN_BUCKETS),
        ),
    ]


def metrics_resource(traces: TracesConfig, instance_id: str) -> Resource:
    """The spans' resource plus ``service.instance.id`` (the fleet replica id) unless the
    environment or the config already names one."""
    return Resource({"service.instance.id": instance_id}).merge(build_resource(traces))


class CounterSource:
    """A prometheus_client counter mirrored as an OTLP observable counter (read at export)."""

    def __init__(self, counter: Any, attributes: Sequence[str]) -> None:
        self._counter = counter
        self._attributes = tuple(attributes)

    def observations(self, _options: CallbackOptions) -> Iterable[Observation]:
        for metric in self._counter.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    attrs = {a: sample.labels.get(a, "") for a in self._attributes}
                    yield Observation(sample.value, attrs)


class OtlpMetricsSink:
    """Event sink recording the GenAI metrics into the OpenTelemetry SDK, off the event loop."""

    def __init__(
        self,
        config: OtlpMetricsConfig,
        resource: Resource,
        labels: MetricsConfig | None = None,
        *,
        exporter: MetricExporter | None = None,
        admit_counters: tuple[Any, Any] | None = None,
    ) -> None:
        labels = labels or MetricsConfig()
        self.config = config
        self._guard = LabelGuard(labels.max_label_values, labels.default_label_cap)
        interval = config.export_interval_s
        self._reader = PeriodicExportingMetricReader(
            exporter if exporter is not None else make_metric_exporter(config),
            export_interval_millis=interval * 1000.0 if interval is not None else None,
        )
        self._provider = MeterProvider(
            metric_readers=[self._reader], resource=resource, views=_views(config)
        )
        meter = self._provider.get_meter("agent-sidecar", __version__)
        self.duration = meter.create_histogram(
            OPERATION_DURATION, unit="s", description="GenAI operation duration."
        )
        self.ttft = meter.create_histogram(
            TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to the first content chunk of a streaming GenAI call.",
        )
        self.per_chunk = meter.create_histogram(
            TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Time per output chunk after the first of a streaming GenAI call.",
        )
        self.tokens = meter.create_histogram(
            TOKEN_USAGE, unit="{token}", description="Tokens used per GenAI call, by type."
        )
        self.tool_duration = meter.create_histogram(
            TOOL_DURATION, unit="s", description="Tool execution duration."
        )
        self.agent_duration = meter.create_histogram(
            AGENT_DURATION, unit="s", description="Agent run duration."
        )
        self.cost = meter.create_counter(
            COST, unit="{USD}", description="Cost of LLM calls in US dollars, by model and agent."
        )
        if admit_counters is not None:
            decisions, denied = admit_counters
            meter.create_observable_counter(
                ADMIT,
                [CounterSource(decisions, ("kind", "result")).observations],
                unit="{decision}",
                description="Admission decisions, by kind and result.",
            )
            meter.create_observable_counter(
                ADMIT_DENIED,
                [CounterSource(denied, ("reason",)).observations],
                unit="{decision}",
                description="Denied admissions, by reason.",
            )
        self._llm_attrs: dict[tuple[Any, ...], tuple[_Attrs, _Attrs, _Attrs, _Attrs]] = {}
        self._attrs: dict[tuple[Any, ...], _Attrs] = {}
        self._queue: deque[Sequence[Event]] = deque()
        self._queued = 0
        self._busy = False
        self._condition = threading.Condition()
        self._closed = False
        self.recorded = 0
        self.dropped_queue_full = 0
        self._worker = threading.Thread(target=self._work, name="otlp-metrics", daemon=True)
        self._worker.start()

    # -- the event sink (event loop) ----------------------------------------------------------

    async def consume(self, events: Sequence[Event]) -> None:
        """Queue the batch for recording; drops (counted) instead of waiting when full."""
        self.submit(events)

    def submit(self, events: Sequence[Event]) -> None:
        n = len(events)
        with self._condition:
            if self._closed or self._queued + n > self.config.max_queue_events:
                self.dropped_queue_full += n
                return
            self._queue.append(events)
            self._queued += n
            self._condition.notify()

    def stats(self) -> dict[str, int]:
        with self._condition:
            return {
                "recorded": self.recorded,
                "queued": self._queued,
                "dropped_queue_full": self.dropped_queue_full,
            }

    # -- the worker thread ---------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closed:
                    self._condition.wait()
                if not self._queue:
                    return
                batch = self._queue.popleft()
                self._busy = True
            try:
                self._record(batch)
            finally:
                with self._condition:
                    self._queued -= len(batch)
                    self.recorded += len(batch)
                    self._busy = False
                    self._condition.notify_all()

    def _record(self, events: Sequence[Event]) -> None:
        for e in events:
            kind = type(e)
            if kind is LlmCall:
                assert isinstance(e, LlmCall)
                self._record_llm(e)
            elif kind is ToolCall:
                assert isinstance(e, ToolCall)
                attrs = self._bounded(
                    (gn.OPERATION_NAME, gn.OP_EXECUTE_TOOL),
                    (gn.TOOL_NAME, e.tool),
                    error=(e.status, e.error_type),
                )
                self.tool_duration.record(e.duration_ms / 1000.0, attrs)
            elif kind is Run and e.duration_ms is not None:
                assert isinstance(e, Run)
                attrs = self._bounded(
                    (gn.OPERATION_NAME, gn.OP_INVOKE_AGENT),
                    (gn.AGENT_NAME, e.agent or "unknown"),
                    error=(e.status, e.error_type),
                )
                self.agent_duration.record(e.duration_ms / 1000.0, attrs)

    def _record_llm(self, e: LlmCall) -> None:
        raw = (e.operation, e.provider, e.model, e.status, e.error_type, e.agent)
        cached = self._llm_attrs.get(raw)
        if cached is None:
            cached = self._llm_attribute_sets(raw)
        attrs, inputs, outputs, cost = cached
        self.duration.record(e.duration_ms / 1000.0, attrs)
        if not e.usage_unknown:
            self.tokens.record(e.input_tokens, inputs)
            self.tokens.record(e.output_tokens, outputs)
        ttft = e.ttft_ms
        if ttft is not None and e.stream is not False:
            self.ttft.record(ttft / 1000.0, attrs)
            if e.output_tokens > 1:
                per_chunk = max(e.duration_ms - ttft, 0.0) / (e.output_tokens - 1) / 1000.0
                self.per_chunk.record(per_chunk, attrs)
        if e.cost_usd:
            self.cost.add(e.cost_usd, cost)

    def _llm_attribute_sets(self, raw: tuple[Any, ...]) -> tuple[_Attrs, _Attrs, _Attrs, _Attrs]:
        op, provider, model, status, error_type, agent = raw
        attrs = self._bounded(
            (gn.OPERATION_NAME, op or gn.OP_CHAT),
            (gn.PROVIDER_NAME, provider or ""),
            (gn.REQUEST_MODEL, model or ""),
            error=(status, error_type),
        )
        common = {k: v for k, v in attrs.items() if k != gn.ERROR_TYPE}
        cost = {
            gn.REQUEST_MODEL: attrs[gn.REQUEST_MODEL],
            gn.AGENT_NAME: self._guard.bound("gen_ai_agent_name", agent or "unknown"),
        }
        sets = (attrs, {**common, _TOKEN_TYPE: "input"}, {**common, _TOKEN_TYPE: "output"}, cost)
        if len(self._llm_attrs) < _CACHE_LIMIT:
            self._llm_attrs[raw] = sets
        return sets

    def _bounded(self, *pairs: tuple[str, str], error: tuple[str | None, str | None]) -> _Attrs:
        """Attribute values through the label caps (cached; the cache is bounded too)."""
        raw = (*pairs, error)
        found = self._attrs.get(raw)
        if found is not None:
            return found
        attrs = {
            name: value if value == "" else self._guard.bound(name.replace(".", "_"), value)
            for name, value in pairs
        }
        status, error_type = error
        if status == "error":
            attrs[gn.ERROR_TYPE] = self._guard.bound("error_type", error_type or OTHER)
        if len(self._attrs) < _CACHE_LIMIT:
            self._attrs[raw] = attrs
        return attrs

    # -- lifecycle -----------------------------------------------------------------------------

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued event is recorded (for tests and shutdown)."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._queue and not self._busy, timeout_s)

    def force_flush(self, timeout_s: float = 10.0) -> bool:
        """Record what is queued, then export now (blocking: tests and shutdown only)."""
        return self.drain(timeout_s) and self._provider.force_flush(int(timeout_s * 1000))

    async def start(self) -> None:
        """Nothing to open: the recording thread starts with the sink."""

    async def close(self) -> None:
        """:meth:`shutdown` in a daemon thread, bounded by the caller's deadline."""
        await in_daemon_thread(self.shutdown)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Record what is queued, export once more within ``timeout_s``, stop the threads."""
        self.drain(timeout_s)
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._worker.join(timeout_s)
        self._provider.shutdown(timeout_millis=timeout_s * 1000)
