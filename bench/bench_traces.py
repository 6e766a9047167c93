"""Cost of GenAI span export on the ingest path, and of OTLP-in decoding.

Run: ``python -m bench.bench_traces`` (``--quick`` for the short version).

- Span sink: events/s through ``SpanExporterSink.consume`` (build a span, enqueue it) with a
  collector that answers instantly and with one that is down (connection refused), against the
  baseline of the OpenTelemetry SDK's own tracer path (``start_span``/``end`` with the same
  attributes and explicit times, same ``BatchSpanProcessor``, same instant exporter).
- OTLP in: spans/s through ``decode_otlp_traces`` for a 500-span protobuf request, against the
  floor of parsing the same bytes with protobuf alone.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, set_span_in_context
from sidecar.telemetry.otlp_in import decode_otlp_traces

from sidecar.events.schema import Event, LlmCall, ToolCall
from sidecar.telemetry.otlp_export import SpanExporterSink, make_otlp_exporter
from sidecar.telemetry.spans import SpanBuilder, build_resource
from sidecar.telemetry.traces_config import TracesConfig

BATCH = 500


class _InstantExporter(SpanExporter):
    """A collector that accepts everything at once (measures our side only)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _events(count: int, offset: int = 0) -> list[Event]:
    events: list[Event] = []
    for i in range(offset, offset + count):
        base = 1_700_000_000.0 + i
        if i % 2:
            events.append(ToolCall(
                id=f"t{i}", ts=base + 0.2, request_id=f"r{i // 10}", session_id="s", tool="search",
                start_ts=base, duration_ms=200.0, call_id=f"c{i}",
            ))
        else:
            events.append(LlmCall(
                id=f"l{i}", ts=base + 0.8, request_id=f"r{i // 10}", session_id="s",
                model="gpt-4o", provider="openai", input_tokens=120, output_tokens=30,
                start_ts=base, duration_ms=800.0, finish_reason="stop",
            ))
    return events


def _rate(run_batch: Callable[[list[Event]], None], rounds: int) -> float:
    """Median events/s over ``rounds`` batches of BATCH events."""
    rates = []
    for r in range(rounds):
        events = _events(BATCH, r * BATCH)
        start = time.perf_counter()
        run_batch(events)
        rates.append(BATCH / (time.perf_counter() - start))
    return statistics.median(rates)


def _sdk_tracer_floor(rounds: int) -> float:
    """The SDK's own path for the same spans: a tracer, a parent context, start/end."""
    builder = SpanBuilder(build_resource(TracesConfig()))
    provider = TracerProvider(resource=builder.resource)
    provider.add_span_processor(BatchSpanProcessor(_InstantExporter(), max_queue_size=1_000_000))
    tracer = provider.get_tracer("bench")

    def run_batch(events: list[Event]) -> None:
        for event in events:
            span = builder.build(event)  # attributes, names and times computed the same way
            parent = set_span_in_context(NonRecordingSpan(span.parent)) if span.parent else None
            live = tracer.start_span(
                span.name, context=parent, kind=span.kind, attributes=span.attributes,
                start_time=span.start_time,
            )
            live.end(end_time=span.end_time)

    rate = _rate(run_batch, rounds)
    provider.shutdown()
    return rate


def _sink_rate(sink: SpanExporterSink, rounds: int) -> float:
    rate = _rate(sink.submit, rounds)
    sink.shutdown()
    return rate


def _otlp_in_rates(rounds: int) -> tuple[float, float]:
    builder = SpanBuilder(build_resource(TracesConfig()))
    body = encode_spans([builder.build(e) for e in _events(BATCH)]).SerializeToString()
    decode_times, floor_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        result = decode_otlp_traces(body, "application/x-protobuf")
        decode_times.append(time.perf_counter() - start)
        assert len(result.events) == BATCH
        start = time.perf_counter()
        ExportTraceServiceRequest().ParseFromString(body)
        floor_times.append(time.perf_counter() - start)
    return BATCH / statistics.median(decode_times), BATCH / statistics.median(floor_times)


def run(quick: bool = False) -> str:
    """Markdown section with medians, the floors measured in the same run, and the command."""
    rounds = 10 if quick else 40
    config = TracesConfig(enabled=True, max_queue_size=2048, max_export_batch_size=512)
    healthy = _sink_rate(SpanExporterSink.from_config(config, _InstantExporter()), rounds)
    down_config = TracesConfig(
        enabled=True, endpoint="http://127.0.0.1:9", timeout_s=1.0, max_queue_size=2048
    )
    down_sink = SpanExporterSink.from_config(down_config, make_otlp_exporter(down_config))
    down = _rate(down_sink.submit, rounds)
    down_stats = down_sink.stats()
    down_sink.shutdown()
    floor = _sdk_tracer_floor(rounds)
    decode, parse_floor = _otlp_in_rates(rounds)
    command = "python -m bench.bench_traces" + (" --quick" if quick else "")
    return "\n".join([
        "## GenAI spans (OTLP out and in)",
        "",
        f"Medians of {rounds} batches of {BATCH} events (half `llm_call`, half `tool_call`), "
        "one core, same run.",
        "",
        "| path | events/s | vs baseline |",
        "|---|---:|---:|",
        f"| baseline: SDK tracer start_span/end, same spans | {floor:,.0f} | 1.00x |",
        f"| `SpanExporterSink.consume`, collector up | {healthy:,.0f} | {healthy / floor:.2f}x |",
        f"| `SpanExporterSink.consume`, collector down | {down:,.0f} | {down / floor:.2f}x |",
        "",
        f"Collector down: {down_stats['dropped']:,} of {rounds * BATCH:,} spans dropped and "
        f"counted, at most {down_config.max_queue_size:,} queued.",
        "",
        "| OTLP in (500-span protobuf request) | spans/s | vs floor |",
        "|---|---:|---:|",
        f"| floor: protobuf parse only | {parse_floor:,.0f} | 1.00x |",
        f"| `decode_otlp_traces` (parse, map, validate) | {decode:,.0f} | "
        f"{decode / parse_floor:.2f}x |",
        "",
        f"Command: `{command}`",
    ])


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
