"""Cost of GenAI span export on the ingest path, and of OTLP-in decoding.

Run: ``python -m bench.bench_traces`` (``--quick`` for the short version).

- Span sink: events/s through ``SpanExporterSink.consume`` (build a span, enqueue it) with a
  collector that answers instantly and with one that is down (connection refused), against the
  baseline of the OpenTelemetry SDK's own tracer path (``start_span``/``end`` with the same
  attributes and explicit times, same ``BatchSpanProcessor``, same instant exporter).
- OTLP in: spans/s through ``decode_otlp_traces`` for a 500-span request in protobuf, OTLP JSON
  and gzipped protobuf, each against the floor of only parsing (and inflating) the same bytes,
  and the old JSON path (``json.loads`` + protobuf's ``ParseDict``, no mapping) as a peer.
"""

from __future__ import annotations

import base64
import gzip
import json
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence

import msgspec
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, set_span_in_context

from sidecar.events.otlp import decode_otlp_traces
from sidecar.events.schema import Event, LlmCall, ToolCall
from sidecar.telemetry.config import TracesConfig
from sidecar.telemetry.otlp_export import SpanExporterSink, make_otlp_exporter
from sidecar.telemetry.spans import SpanBuilder, build_resource

BATCH = 500
PB = "application/x-protobuf"


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
            events.append(
                ToolCall(
                    id=f"t{i}",
                    ts=base + 0.2,
                    request_id=f"r{i // 10}",
                    session_id="s",
                    tool="search",
                    start_ts=base,
                    duration_ms=200.0,
                    call_id=f"c{i}",
                )
            )
        else:
            events.append(
                LlmCall(
                    id=f"l{i}",
                    ts=base + 0.8,
                    request_id=f"r{i // 10}",
                    session_id="s",
                    model="gpt-4o",
                    provider="openai",
                    input_tokens=120,
                    output_tokens=30,
                    start_ts=base,
                    duration_ms=800.0,
                    finish_reason="stop",
                )
            )
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
                span.name,
                context=parent,
                kind=span.kind,
                attributes=span.attributes,
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


def _client_request() -> ExportTraceServiceRequest:
    """A 500-span request as an instrumented agent sends it (its own instrumentation scope)."""
    builder = SpanBuilder(build_resource(TracesConfig()))
    request = encode_spans([builder.build(e) for e in _events(BATCH)])
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            scope_spans.scope.name = "opentelemetry.instrumentation.openai_v2"
    return request


def _otlp_json(request: ExportTraceServiceRequest) -> bytes:
    """OTLP's JSON mapping of ``request``: hex ids, integer enums, int64 as strings."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document).encode()


def _median_rate(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return BATCH / statistics.median(times)


def _otlp_in_rates(rounds: int) -> list[tuple[str, float, str, float]]:
    """(encoding, decode spans/s, floor name, floor spans/s) for protobuf, JSON and gzip."""
    request = _client_request()
    protobuf = request.SerializeToString()
    as_json = _otlp_json(request)
    gzipped = gzip.compress(protobuf)
    assert len(decode_otlp_traces(protobuf, PB).events) == BATCH
    assert len(decode_otlp_traces(as_json, "application/json").events) == BATCH
    rows = []
    for name, run_decode, floor_name, run_floor in (
        (
            "protobuf",
            lambda: decode_otlp_traces(protobuf, PB),
            "protobuf parse only",
            lambda: ExportTraceServiceRequest.FromString(protobuf),
        ),
        (
            "OTLP JSON",
            lambda: decode_otlp_traces(as_json, "application/json"),
            "JSON parse only (msgspec, untyped)",
            lambda: msgspec.json.decode(as_json),
        ),
        (
            "protobuf + gzip",
            lambda: decode_otlp_traces(zlib.decompress(gzipped, 31), PB),
            "inflate + protobuf parse only",
            lambda: ExportTraceServiceRequest.FromString(zlib.decompress(gzipped, 31)),
        ),
    ):
        rows.append(
            (name, _median_rate(run_decode, rounds), floor_name, _median_rate(run_floor, rounds))
        )
    peer = _median_rate(
        lambda: json_format.ParseDict(
            json.loads(_ids_to_base64(as_json)),
            ExportTraceServiceRequest(),
            ignore_unknown_fields=True,
        ),
        rounds,
    )
    rows.append(("peer: json.loads + protobuf ParseDict, no mapping", peer, "", 0.0))
    return rows


def _ids_to_base64(body: bytes) -> bytes:
    document = json.loads(body)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json.dumps(document).encode()


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
    otlp_in = _otlp_in_rates(rounds)
    command = "python -m bench.bench_traces" + (" --quick" if quick else "")
    lines = [
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
        f"OTLP in: `decode_otlp_traces` (wire decoding, mapping, schema validation, one event per "
        f"operation) on a {BATCH}-span request as a client sends it, against the floor of only "
        "parsing the same bytes.",
        "",
        "| OTLP in | spans/s | floor | floor spans/s | vs floor |",
        "|---|---:|---|---:|---:|",
    ]
    for name, rate, floor_name, floor_rate in otlp_in:
        if floor_rate:
            lines.append(
                f"| {name} | {rate:,.0f} | {floor_name} | {floor_rate:,.0f} | "
                f"{rate / floor_rate:.2f}x |"
            )
        else:
            lines.append(f"| {name} | {rate:,.0f} | | | |")
    lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
