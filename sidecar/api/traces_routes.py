"""``POST /v1/traces``: OTLP/HTTP GenAI spans from already-instrumented agents, as events.

The spans' events go through the normal ingest path (redaction, pricing, store, analytics,
budget settling, span export), so an agent instrumented with OpenLLMetry, OpenLIT or the
OpenTelemetry GenAI instrumentations gets the sidecar by pointing its OTLP exporter here.
Answers follow OTLP/HTTP: an ``ExportTraceServiceResponse`` in the request's encoding, with
``partial_success`` naming spans that could not be turned into events.
"""

from __future__ import annotations

import msgspec
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from sidecar.api.errors import ApiError
from sidecar.api.principals import principal
from sidecar.api.tenancy import confine_events
from sidecar.ingest import Ingest
from sidecar.store import StoreOverloaded, StoreUnavailable
from sidecar.telemetry.otlp_in import decode_otlp_traces

PROTOBUF = "application/x-protobuf"


def routes(ingest: Ingest, max_body_bytes: int) -> list[web.RouteDef]:
    async def post_traces(request: web.Request) -> web.Response:
        content_type = request.content_type
        if content_type not in (PROTOBUF, "application/json"):
            raise ApiError(415, "unsupported_media_type",
                           "send application/x-protobuf or application/json", "Content-Type")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "body_too_large", f"body exceeds {max_body_bytes} bytes") from None
        try:
            result = decode_otlp_traces(
                body, content_type, request.headers.get("Content-Encoding")
            )
        except ValueError as exc:
            raise ApiError(400, "malformed_otlp", str(exc)) from None
        if result.events:
            confine_events(principal(request), result.events)
            try:
                await ingest.ingest(result.events)
            except (StoreOverloaded, StoreUnavailable) as exc:
                raise ApiError(503, "store_unavailable", str(exc),
                               headers={"Retry-After": "1"}) from None
        response = ExportTraceServiceResponse()
        if result.rejected_spans:
            response.partial_success.rejected_spans = result.rejected_spans
            response.partial_success.error_message = result.error_message or ""
        if content_type == PROTOBUF:
            return web.Response(body=response.SerializeToString(), content_type=PROTOBUF)
        return web.Response(body=msgspec.json.encode(MessageToDict(response)),
                            content_type="application/json")

    return [web.post("/v1/traces", post_traces)]
