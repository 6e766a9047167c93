"""OTLP/HTTP receiver: ``POST /v1/traces`` (GenAI spans as events), ``/v1/metrics``, ``/v1/logs``.

Loaded (with protobuf and the OTLP message classes) at the first OTLP request, by
:mod:`sidecar.api.traces_routes`.

Spans become events (:mod:`sidecar.events.otlp`) that go through the normal ingest path
(redaction, pricing, store, analytics, budget settling, span export), so an agent instrumented
with OpenLLMetry, OpenLIT, OpenInference or the OpenTelemetry GenAI instrumentations gets the
sidecar by pointing its OTLP exporter here. The body goes through the same prelude as
``/v1/events`` (types, gzip/deflate, limits, 4xx logging, counting).

Answers follow OTLP/HTTP: an ``Export*ServiceResponse`` in the request's encoding, with
``partial_success`` counting what was not taken. Metrics and log records are not ingested (the
sidecar derives its metrics from the spans): they are answered 200 with every item counted as
rejected and a message saying so, so a client pointed at the base
``OTEL_EXPORTER_OTLP_ENDPOINT`` keeps working and is told, once per export, where they went.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from sidecar.api.errors import ApiError
from sidecar.api.ingest_prelude import Body, IngestPrelude
from sidecar.api.principals import principal
from sidecar.api.tenancy import confine_events
from sidecar.events.otlp import (
    OTLP_TYPES,
    MappedSpans,
    RecentCalls,
    Signal,
    count_otlp_items,
    decode_otlp_traces,
)
from sidecar.events.otlp_wire import PROTOBUF_TYPES, TooManySpans
from sidecar.ingest import Ingest
from sidecar.telemetry.prometheus import PrometheusMetrics

PROTOBUF = "application/x-protobuf"
_HINT = "application/x-protobuf, application/protobuf or application/json"
NOT_INGESTED = (
    "agent-sidecar ingests traces only; send {signal} to your OpenTelemetry Collector "
    "(OTEL_EXPORTER_OTLP_{upper}_ENDPOINT)"
)


def routes(
    ingest: Ingest,
    metrics: PrometheusMetrics,
    max_body_bytes: int,
    recent: RecentCalls | None = None,
) -> list[web.RouteDef]:
    """The OTLP/HTTP routes; ``recent`` drops twins of LLM calls across export requests."""
    calls = recent if recent is not None else RecentCalls()
    traces = IngestPrelude("/v1/traces", metrics, max_body_bytes)

    def decode(data: bytes, media_type: str) -> MappedSpans:
        return decode_otlp_traces(data, media_type, calls)

    async def post_traces(request: web.Request) -> web.Response:
        body = await traces.read(request, OTLP_TYPES, _HINT)
        try:
            result = await traces.decode(body, decode)
        except TooManySpans as exc:
            raise traces.refuse(request, ApiError(413, "too_many_spans", str(exc))) from None
        except ValueError as exc:
            raise traces.refuse(request, ApiError(400, "malformed_otlp", str(exc))) from None
        metrics.otlp_spans("ignored", result.ignored_spans)
        metrics.otlp_spans("merged", result.merged_spans)
        if result.rejected_spans:
            metrics.otlp_spans("rejected", result.rejected_spans)
            metrics.events_rejected("invalid_span", result.rejected_spans)
        if result.events:
            confine_events(principal(request), result.events)
            await traces.ingest(request, ingest, result.events, body)
            metrics.otlp_spans("mapped", len(result.events))
        response = ExportTraceServiceResponse()
        if result.rejected_spans:
            response.partial_success.rejected_spans = result.rejected_spans
            response.partial_success.error_message = result.error_message or ""
        return _answer(response, body)

    def discard(signal: Signal, reply: Callable[[int, str], Message]) -> web.RouteDef:
        prelude = IngestPrelude(f"/v1/{signal}", metrics, max_body_bytes)

        def count(data: bytes, media_type: str) -> int:
            return count_otlp_items(data, media_type, signal)

        async def post(request: web.Request) -> web.Response:
            body = await prelude.read(request, OTLP_TYPES, _HINT)
            try:
                items = await prelude.decode(body, count)
            except ValueError as exc:
                raise prelude.refuse(request, ApiError(400, "malformed_otlp", str(exc))) from None
            metrics.otlp_discarded(signal, items)
            message = NOT_INGESTED.format(signal=signal, upper=signal.upper()) if items else ""
            return _answer(reply(items, message), body)

        return web.post(f"/v1/{signal}", post)

    def metrics_reply(items: int, message: str) -> Message:
        answer = ExportMetricsServiceResponse()
        if items:
            answer.partial_success.rejected_data_points = items
            answer.partial_success.error_message = message
        return answer

    def logs_reply(items: int, message: str) -> Message:
        answer = ExportLogsServiceResponse()
        if items:
            answer.partial_success.rejected_log_records = items
            answer.partial_success.error_message = message
        return answer

    return [
        web.post("/v1/traces", post_traces),
        discard("metrics", metrics_reply),
        discard("logs", logs_reply),
    ]


def _answer(message: Message, body: Body) -> web.Response:
    """The response in the request's encoding (protobuf or OTLP JSON)."""
    if body.media_type in PROTOBUF_TYPES:
        return web.Response(body=message.SerializeToString(), content_type=PROTOBUF)
    return web.Response(
        body=msgspec.json.encode(MessageToDict(message)), content_type="application/json"
    )
