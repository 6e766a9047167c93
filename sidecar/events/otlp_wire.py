"""OTLP/HTTP trace bodies to flat :class:`WireSpan` records: the wire half of OTLP in.

Both encodings of ``ExportTraceServiceRequest`` are read: protobuf (``application/x-protobuf``
or ``application/protobuf``) with the generated upb parser, and OTLP's JSON mapping
(``application/json``: hex ids, lowerCamelCase, 64-bit integers as numbers or strings, enums as
integers or names) with a type-directed msgspec decoder (several times faster than protobuf's
own JSON parser, which needs a generic parse first). Bodies arrive already inflated (the HTTP
layer inflates gzip and deflate once).

Bounds, so a hostile body costs at most its size: at most :data:`MAX_SPANS` spans per request
(more is :class:`TooManySpans`, a 413), attribute values nested at most
:data:`MAX_VALUE_DEPTH` deep and at most :data:`MAX_ATTRIBUTES` attributes per span (beyond
either, that span is marked ``problem`` and rejected alone). A JSON body nested deeper than the
decoder's recursion limit (100k levels, say) is a :class:`ValueError`, never a RecursionError;
protobuf's parser refuses nesting past 100 levels itself. Numbers are taken as sent, NaN and
infinities included: the mapping rejects a span whose token count is not finite.

Cost: one dict per span's attributes; throughput against the parse-only floor is in
docs/benchmarks.md (``python -m bench traces``).

Long module: both wire encodings (protobuf and OTLP JSON) decode into the same records with the
same bounds, so they are kept side by side.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
JSON_TYPES = frozenset({"application/json"})
MAX_SPANS = 65_536
MAX_ATTRIBUTES = 1024
MAX_VALUE_DEPTH = 16
STATUS_ERROR = 2
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}


class TooManySpans(ValueError):
    """A request holding more than :data:`MAX_SPANS` spans."""


class SpanEvent(msgspec.Struct, frozen=True, gc=False):
    """A span event: its name, time and (for ``exception`` events) the exception type."""

    name: str
    time_ns: int
    exception_type: str | None = None


class WireSpan(msgspec.Struct, kw_only=True, gc=False):
    """One span as sent, ids as raw bytes; ``resource`` is shared by the spans of a resource.

    ``problem`` names why the span cannot be used (too many attributes, values nested too deep).
    """

    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    events: list[SpanEvent]
    resource: dict[str, Any]
    scope: str
    problem: str | None = None


def decode_trace_request(body: bytes, media_type: str) -> list[WireSpan]:
    """The spans of an ExportTraceServiceRequest body; ValueError names what is wrong."""
    if media_type in PROTOBUF_TYPES:
        return _from_protobuf(body)
    if media_type in JSON_TYPES:
        return _from_json(body)
    raise ValueError(
        f"unsupported content type {media_type!r}: use application/x-protobuf or application/json"
    )


# -- protobuf ---------------------------------------------------------------------------------


def _from_protobuf(body: bytes) -> list[WireSpan]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as error:
        raise ValueError(f"body is not a protobuf ExportTraceServiceRequest: {error}") from None
    total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if total > MAX_SPANS:
        raise TooManySpans(f"request holds {total} spans, more than {MAX_SPANS}")
    spans: list[WireSpan] = []
    for resource_spans in request.resource_spans:
        resource, _ = _pb_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                attributes, problem = _pb_attributes(span.attributes)
                status = span.status
                spans.append(
                    WireSpan(
                        trace_id=span.trace_id,
                        span_id=span.span_id,
                        parent_span_id=span.parent_span_id,
                        name=span.name,
                        kind=span.kind,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status_code=status.code,
                        status_message=status.message,
                        attributes=attributes,
                        events=[_pb_event(event) for event in span.events] if span.events else [],
                        resource=resource,
                        scope=scope,
                        problem=problem,
                    )
                )
    return spans


def _pb_event(event: Any) -> SpanEvent:
    exception_type = None
    if event.name == "exception":
        for pair in event.attributes:
            if pair.key == "exception.type":
                exception_type = pair.value.string_value or None
    return SpanEvent(event.name, event.time_unix_nano, exception_type)


def _pb_attributes(pairs: Iterable[KeyValue]) -> tuple[dict[str, Any], str | None]:
    result: dict[str, Any] = {}
    problem = None
    for count, pair in enumerate(pairs):
        if count >= MAX_ATTRIBUTES:
            return result, f"more than {MAX_ATTRIBUTES} attributes"
        value = pair.value
        which = value.WhichOneof("value")
        if which == "string_value":
            result[pair.key] = value.string_value
        elif which in ("int_value", "double_value", "bool_value"):
            result[pair.key] = getattr(value, which)
        else:
            try:
                result[pair.key] = _pb_value(value, 1)
            except _TooDeep:
                problem = f"attribute values nested deeper than {MAX_VALUE_DEPTH}"
    return result, problem


class _TooDeep(Exception):
    pass


def _pb_value(value: AnyValue, depth: int) -> Any:
    if depth > MAX_VALUE_DEPTH:
        raise _TooDeep
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_pb_value(item, depth + 1) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode("ascii")
    return getattr(value, which)


# -- JSON -------------------------------------------------------------------------------------


class _JValue(msgspec.Struct, omit_defaults=True, gc=False):
    stringValue: str | None = None
    boolValue: bool | None = None
    intValue: int | str | None = None
    doubleValue: float | str | None = None
    bytesValue: str | None = None
    arrayValue: _JArray | None = None
    kvlistValue: _JKvList | None = None


class _JArray(msgspec.Struct, gc=False):
    values: list[_JValue] = []


class _JKeyValue(msgspec.Struct, gc=False):
    key: str = ""
    value: _JValue | None = None


class _JKvList(msgspec.Struct, gc=False):
    values: list[_JKeyValue] = []


class _JEvent(msgspec.Struct, gc=False):
    name: str = ""
    timeUnixNano: int | str = 0
    attributes: list[_JKeyValue] = []


class _JStatus(msgspec.Struct, gc=False):
    code: int | str = 0
    message: str = ""


class _JSpan(msgspec.Struct, gc=False):
    traceId: str = ""
    spanId: str = ""
    parentSpanId: str = ""
    name: str = ""
    kind: int | str = 0
    startTimeUnixNano: int | str = 0
    endTimeUnixNano: int | str = 0
    attributes: list[_JKeyValue] = []
    events: list[_JEvent] = []
    status: _JStatus | None = None


class _JScope(msgspec.Struct, gc=False):
    name: str = ""


class _JScopeSpans(msgspec.Struct, gc=False):
    scope: _JScope | None = None
    spans: list[_JSpan] = []


class _JResource(msgspec.Struct, gc=False):
    attributes: list[_JKeyValue] = []


class _JResourceSpans(msgspec.Struct, gc=False):
    resource: _JResource | None = None
    scopeSpans: list[_JScopeSpans] = []


class _JRequest(msgspec.Struct, gc=False):
    resourceSpans: list[_JResourceSpans] = []


_JSON_REQUEST = msgspec.json.Decoder(_JRequest)


def _from_json(body: bytes) -> list[WireSpan]:
    try:
        request = _JSON_REQUEST.decode(body)
    except RecursionError:
        raise ValueError("OTLP JSON body is nested too deeply") from None
    except msgspec.ValidationError as error:
        raise ValueError(f"body is not an OTLP JSON trace request: {error}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"body is not valid JSON: {error}") from None
    total = sum(len(ss.spans) for rs in request.resourceSpans for ss in rs.scopeSpans)
    if total > MAX_SPANS:
        raise TooManySpans(f"request holds {total} spans, more than {MAX_SPANS}")
    return list(_json_spans(request))


def _json_spans(request: _JRequest) -> Iterator[WireSpan]:
    for resource_spans in request.resourceSpans:
        resource_pairs = resource_spans.resource.attributes if resource_spans.resource else []
        resource, _ = _json_attributes(resource_pairs)
        for scope_spans in resource_spans.scopeSpans:
            scope = scope_spans.scope.name if scope_spans.scope else ""
            for span in scope_spans.spans:
                try:
                    yield _json_span(span, resource, scope)
                except ValueError as error:  # this span alone is unusable
                    yield WireSpan(
                        trace_id=b"",
                        span_id=b"",
                        parent_span_id=b"",
                        name=span.name,
                        kind=0,
                        start_ns=0,
                        end_ns=0,
                        status_code=0,
                        status_message="",
                        attributes={},
                        events=[],
                        resource=resource,
                        scope=scope,
                        problem=str(error),
                    )


def _json_span(span: _JSpan, resource: dict[str, Any], scope: str) -> WireSpan:
    attributes, problem = _json_attributes(span.attributes)
    status = span.status or _JStatus()
    return WireSpan(
        trace_id=_id(span.traceId, 16, "traceId"),
        span_id=_id(span.spanId, 8, "spanId"),
        parent_span_id=_id(span.parentSpanId, 8, "parentSpanId"),
        name=span.name,
        kind=_enum(span.kind, _KIND_NAMES, "kind"),
        start_ns=_nanos(span.startTimeUnixNano, "startTimeUnixNano"),
        end_ns=_nanos(span.endTimeUnixNano, "endTimeUnixNano"),
        status_code=_enum(status.code, _STATUS_NAMES, "status.code"),
        status_message=status.message,
        attributes=attributes,
        events=[_json_event(event) for event in span.events],
        resource=resource,
        scope=scope,
        problem=problem,
    )


def _json_event(event: _JEvent) -> SpanEvent:
    exception_type = None
    if event.name == "exception":
        for pair in event.attributes:
            if pair.key == "exception.type" and pair.value is not None:
                exception_type = pair.value.stringValue or None
    return SpanEvent(event.name, _nanos(event.timeUnixNano, "timeUnixNano"), exception_type)


def _json_attributes(pairs: list[_JKeyValue]) -> tuple[dict[str, Any], str | None]:
    result: dict[str, Any] = {}
    problem = None
    for count, pair in enumerate(pairs):
        if count >= MAX_ATTRIBUTES:
            return result, f"more than {MAX_ATTRIBUTES} attributes"
        try:
            result[pair.key] = _json_value(pair.value, 1)
        except _TooDeep:
            problem = f"attribute values nested deeper than {MAX_VALUE_DEPTH}"
    return result, problem


def _json_value(value: _JValue | None, depth: int) -> Any:
    if value is None:
        return None
    if value.stringValue is not None:
        return value.stringValue
    if value.boolValue is not None:
        return value.boolValue
    if value.intValue is not None:
        return _json_int(value.intValue)
    if value.doubleValue is not None:
        return _json_double(value.doubleValue)
    if depth > MAX_VALUE_DEPTH and (value.arrayValue or value.kvlistValue):
        raise _TooDeep
    if value.arrayValue is not None:
        return [_json_value(item, depth + 1) for item in value.arrayValue.values]
    if value.kvlistValue is not None:
        return {kv.key: _json_value(kv.value, depth + 1) for kv in value.kvlistValue.values}
    if value.bytesValue is not None:
        try:
            return base64.b64decode(value.bytesValue, validate=True).hex()
        except (binascii.Error, ValueError):
            return None
    return None


def _json_int(raw: int | str) -> int | str:
    """An int64 attribute (JSON number or decimal string); a bad string stays a string."""
    if isinstance(raw, int):
        return raw
    try:
        return int(raw)
    except ValueError:
        return raw


def _json_double(raw: float | str) -> float | str:
    """A double attribute; ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` as protobuf JSON writes
    them (the mapping rejects a span whose token count is one of those)."""
    if isinstance(raw, float):
        return raw
    try:
        return float(raw)
    except ValueError:
        return raw


def _nanos(raw: int | str, field: str) -> int:
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = int(raw) if raw else 0
        except ValueError:
            raise ValueError(f"{field} must be an integer") from None
    if not 0 <= value < 2**64:
        raise ValueError(f"{field} must be a 64-bit unsigned integer")
    return value


def _enum(raw: int | str, names: dict[str, int], field: str) -> int:
    if isinstance(raw, int):
        return raw
    if raw in names:
        return names[raw]
    raise ValueError(f"{field} {raw!r} is not a known value")


def _id(raw: str, size: int, field: str) -> bytes:
    """A hex id as OTLP JSON writes it (base64, as protobuf's JSON mapping would, is accepted)."""
    if not raw:
        return b""
    if len(raw) == 2 * size:
        try:
            return bytes.fromhex(raw)
        except ValueError:
            pass
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == size:
        return decoded
    raise ValueError(f"{field} must be {2 * size} hex digits")


__all__ = [
    "JSON_TYPES",
    "MAX_ATTRIBUTES",
    "MAX_SPANS",
    "MAX_VALUE_DEPTH",
    "PROTOBUF_TYPES",
    "STATUS_ERROR",
    "SpanEvent",
    "TooManySpans",
    "WireSpan",
    "decode_trace_request",
]
