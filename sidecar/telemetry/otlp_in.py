"""OTLP/HTTP GenAI spans in, sidecar events out: budgets and analytics for instrumented agents.

An agent already instrumented with OpenTelemetry (the OTel GenAI instrumentations, OpenLIT,
OpenLLMetry) points its OTLP/HTTP exporter at the sidecar; :func:`decode_otlp_traces` turns the
``ExportTraceServiceRequest`` body (``application/x-protobuf``, or ``application/json`` in
OTLP's JSON mapping: hex ids, lowerCamelCase, 64-bit integers as strings; gzip or deflate
``Content-Encoding``) into events that then go through the normal ingest path (redaction,
pricing, store, sinks):

- ``chat`` / ``text_completion`` / ``generate_content`` / ``embeddings`` spans (by
  ``gen_ai.operation.name``, the span name, or OpenLLMetry's ``llm.request.type``) become
  ``llm_call`` events: tokens from ``gen_ai.usage.input_tokens``/``output_tokens`` or the older
  ``gen_ai.usage.prompt_tokens``/``completion_tokens`` and ``llm.usage.*`` spellings, provider
  from ``gen_ai.provider.name`` or the older ``gen_ai.system``;
- ``execute_tool`` spans become ``tool_call`` events, ``invoke_agent`` spans ``run`` events;
- every other span is ignored and counted (``ignored_spans``).

Each event keeps the span's W3C ids and times (``start_ts``, ``duration_ms`` from the span's
nanosecond timestamps), takes ``request_id`` = the trace id in hex (all spans of one trace are
one request) and ``id`` = ``otlp-{trace_id}-{span_id}``, so an exporter's retry of the same
batch is deduplicated by the store. A span whose values break the event schema (say 2·10^9
tokens) is rejected and counted, and its first error reported (``rejected_spans``,
``error_message``: OTLP's partial-success fields), without failing the rest of the batch.
A body that is not an OTLP trace request raises :class:`ValueError` naming the problem.

Forwarding: incoming spans are not forwarded verbatim. The events they become are exported
again by :class:`~sidecar.telemetry.otlp_export.SpanExporterSink` after ingest redaction, with
the same trace and span ids, so the collector sees the agent's trace, redacted, in the GenAI
conventions. About 35 µs per span (28,000 spans/s on one core: protobuf decode, mapping,
schema validation), so a 500-span request costs about 18 ms.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.telemetry import genai_names as gn

MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_TYPES = frozenset({"application/json"})
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_KEPT_ATTRIBUTES = frozenset(
    {gn.RESPONSE_ID, gn.RESPONSE_MODEL, gn.TOOL_TYPE, gn.AGENT_ID, gn.SERVER_ADDRESS}
)
_TOOL_OPERATION_ALIASES = frozenset({gn.OP_EXECUTE_TOOL, "tool"})
_AGENT_OPERATION_ALIASES = frozenset({gn.OP_INVOKE_AGENT, "agent", "workflow"})


class OtlpTracesResult(msgspec.Struct, kw_only=True):
    """What one OTLP request gave: events, and the spans that did not become one."""

    events: list[Event]
    ignored_spans: int = 0
    rejected_spans: int = 0
    error_message: str | None = None


def otlp_to_events(
    body: bytes, content_type: str, content_encoding: str | None = None
) -> list[Event]:
    """The events of an OTLP/HTTP traces body; raises ValueError for a malformed body."""
    return decode_otlp_traces(body, content_type, content_encoding).events


def decode_otlp_traces(
    body: bytes, content_type: str, content_encoding: str | None = None
) -> OtlpTracesResult:
    """Decode an ExportTraceServiceRequest and map its GenAI spans to events (with counts)."""
    request = parse_export_request(_decompress(body, content_encoding), content_type)
    result = OtlpTracesResult(events=[])
    for span, resource_attributes in _spans(request):
        attributes = _attributes(span.attributes)
        kind = _classify(span.name, attributes)
        if kind is None:
            result.ignored_spans += 1
            continue
        try:
            result.events.append(_to_event(kind, span, attributes, resource_attributes))
        except (msgspec.ValidationError, ValueError) as error:
            result.rejected_spans += 1
            if result.error_message is None:
                # The span id only: the name and values may hold PII the answer must not echo.
                result.error_message = f"span {span.span_id.hex() or '?'}: {error}"
    return result


def parse_export_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """The protobuf request of a body in either OTLP/HTTP encoding."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    request = ExportTraceServiceRequest()
    if media_type in _PROTOBUF_TYPES:
        try:
            request.ParseFromString(body)
        except DecodeError as error:
            raise ValueError(f"body is not a protobuf ExportTraceServiceRequest: {error}") from None
        return request
    if media_type in _JSON_TYPES:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"body is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise ValueError("OTLP JSON body must be an object with 'resourceSpans'")
        _hex_ids_to_base64(document)
        try:
            json_format.ParseDict(document, request, ignore_unknown_fields=True)
        except json_format.ParseError as error:
            raise ValueError(f"body is not an OTLP JSON trace request: {error}") from None
        return request
    raise ValueError(
        f"unsupported content type {content_type!r}: use application/x-protobuf or application/json"
    )


def _decompress(body: bytes, content_encoding: str | None) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise ValueError(f"unsupported content encoding {content_encoding!r}: use gzip or deflate")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        data = decompressor.decompress(body, MAX_DECOMPRESSED_BYTES)
    except zlib.error as error:
        raise ValueError(f"body is not valid {encoding} data: {error}") from None
    if decompressor.unconsumed_tail:
        raise ValueError(f"decompressed body exceeds {MAX_DECOMPRESSED_BYTES} bytes")
    return data


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP JSON writes ids in hex; protobuf's JSON parser wants base64 for bytes fields."""
    for resource_spans in _list(document.get("resourceSpans")):
        for scope_spans in _list(_dict(resource_spans).get("scopeSpans")):
            for span in _list(_dict(scope_spans).get("spans")):
                span = _dict(span)
                _convert_ids(span)
                for link in _list(span.get("links")):
                    _convert_ids(_dict(link))


def _convert_ids(obj: dict[str, Any]) -> None:
    for field in _ID_FIELDS:
        value = obj.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{field} must be a hex string, got {type(value).__name__}")
        try:
            obj[field] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        except ValueError:
            raise ValueError(f"{field} is not hex") from None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON array, got {type(value).__name__}")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _spans(request: ExportTraceServiceRequest) -> Iterator[tuple[Span, dict[str, Any]]]:
    for resource_spans in request.resource_spans:
        resource_attributes = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield span, resource_attributes


def _any_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode("ascii")
    return getattr(value, which)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs:
        result[pair.key] = _any_value(pair.value)
    return result


def _first(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _classify(name: str, attributes: Mapping[str, Any]) -> str | None:
    """``llm_call``, ``tool_call``, ``run`` or None (not a GenAI span)."""
    operation = attributes.get(gn.OPERATION_NAME)
    if not isinstance(operation, str) or not operation:
        operation = name.split(" ", 1)[0]
    if operation in gn.LLM_OPERATIONS:
        return "llm_call"
    if operation == gn.OP_EXECUTE_TOOL:
        return "tool_call"
    if operation == gn.OP_INVOKE_AGENT:
        return "run"
    request_type = attributes.get(gn.OPENLLMETRY_REQUEST_TYPE)
    if request_type in ("chat", "completion", "embedding", "rerank"):
        return "llm_call"
    span_kind = attributes.get(gn.OPENLLMETRY_SPAN_KIND)
    if span_kind in _TOOL_OPERATION_ALIASES:
        return "tool_call"
    if span_kind in _AGENT_OPERATION_ALIASES:
        return "run"
    if _first(attributes, gn.IN_INPUT_TOKENS) is not None and _first(attributes, gn.IN_MODEL):
        return "llm_call"
    return None


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"token count of type {type(value).__name__} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError("token count is not an integer") from None


def _suffix(name: str, prefix: str) -> str | None:
    head, _, tail = name.partition(" ")
    if head != prefix:
        return None
    return tail.strip() or None


def _to_event(
    kind: str, span: Span, attributes: dict[str, Any], resource_attributes: dict[str, Any]
) -> Event:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise ValueError("trace id must be 16 non-zero bytes")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise ValueError("span id must be 8 non-zero bytes")
    trace_id = span.trace_id.hex()
    span_id = span.span_id.hex()
    start_s = span.start_time_unix_nano / 1e9
    end_ns = max(span.end_time_unix_nano, span.start_time_unix_nano)
    failed = span.status.code == Status.STATUS_CODE_ERROR
    common: dict[str, Any] = {
        "id": f"otlp-{trace_id}-{span_id}",
        "ts": end_ns / 1e9,
        "request_id": trace_id,
        "trace_id": trace_id,
        "span_id": span_id,
        "start_ts": start_s,
        "duration_ms": (end_ns - span.start_time_unix_nano) / 1e6,
        "status": "error" if failed else "ok",
    }
    if len(span.parent_span_id) == 8 and any(span.parent_span_id):
        common["parent_span_id"] = span.parent_span_id.hex()
    session_id = _first(attributes, gn.IN_CONVERSATION)
    if session_id is not None:
        common["session_id"] = str(session_id)
    user_id = _first(attributes, gn.IN_USER)
    if user_id is not None:
        common["user_id"] = str(user_id)
    agent = attributes.get(gn.AGENT_NAME) or resource_attributes.get("service.name")
    if agent:
        common["agent"] = str(agent)
    if failed:
        common["error_type"] = str(attributes.get(gn.ERROR_TYPE) or "_OTHER")
        if span.status.message:
            common["error_message"] = span.status.message
    kept = {k: v for k, v in attributes.items() if k in _KEPT_ATTRIBUTES and _scalar(v)}
    if kept:
        common["attributes"] = kept
    if kind == "llm_call":
        return msgspec.convert({**common, **_llm_fields(span, attributes)}, LlmCall)
    if kind == "tool_call":
        return msgspec.convert({**common, **_tool_fields(span, attributes)}, ToolCall)
    run_agent = _first(attributes, gn.IN_AGENT_NAME) or _suffix(span.name, gn.OP_INVOKE_AGENT)
    if run_agent:
        common["agent"] = str(run_agent)
    return msgspec.convert(common, Run)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _llm_fields(span: Span, attributes: Mapping[str, Any]) -> dict[str, Any]:
    operation = attributes.get(gn.OPERATION_NAME) or span.name.split(" ", 1)[0]
    if operation not in gn.LLM_OPERATIONS:
        operation = gn.OP_CHAT
    model = _first(attributes, gn.IN_MODEL) or _suffix(span.name, str(operation)) or "unknown"
    fields: dict[str, Any] = {
        "model": str(model),
        "provider": str(_first(attributes, gn.IN_PROVIDER) or "unknown"),
        "input_tokens": _int(_first(attributes, gn.IN_INPUT_TOKENS)) or 0,
        "output_tokens": _int(_first(attributes, gn.IN_OUTPUT_TOKENS)) or 0,
        "operation": str(operation),
    }
    cached = _int(_first(attributes, gn.IN_CACHED_INPUT_TOKENS))
    if cached is not None:
        fields["cached_input_tokens"] = cached
    stream = _first(attributes, gn.IN_STREAM)
    if isinstance(stream, bool):
        fields["stream"] = stream
    ttft_s = attributes.get(gn.LATEST_TIME_TO_FIRST_CHUNK)
    if isinstance(ttft_s, int | float) and not isinstance(ttft_s, bool):
        fields["ttft_ms"] = ttft_s * 1000.0
    reasons = _first(attributes, gn.IN_FINISH_REASONS)
    if isinstance(reasons, list) and reasons:
        reasons = reasons[0]
    if isinstance(reasons, str) and reasons:
        fields["finish_reason"] = reasons
    reservation = attributes.get(gn.SIDECAR_RESERVATION_ID)
    if isinstance(reservation, str) and reservation:
        fields["reservation_id"] = reservation
    content_in = _first(attributes, gn.IN_INPUT)
    if content_in is not None:
        fields["input"] = content_in
    content_out = _first(attributes, gn.IN_OUTPUT)
    if content_out is not None:
        fields["output"] = content_out
    return fields


def _tool_fields(span: Span, attributes: Mapping[str, Any]) -> dict[str, Any]:
    tool = _first(attributes, gn.IN_TOOL_NAME) or _suffix(span.name, gn.OP_EXECUTE_TOOL)
    fields: dict[str, Any] = {"tool": str(tool or span.name or "unknown")}
    call_id = attributes.get(gn.TOOL_CALL_ID)
    if call_id:
        fields["call_id"] = str(call_id)
    if attributes.get(gn.TOOL_CALL_ARGUMENTS) is not None:
        fields["args"] = attributes[gn.TOOL_CALL_ARGUMENTS]
    if attributes.get(gn.TOOL_CALL_RESULT) is not None:
        fields["result"] = attributes[gn.TOOL_CALL_RESULT]
    return fields


__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "OtlpTracesResult",
    "decode_otlp_traces",
    "otlp_to_events",
    "parse_export_request",
]
