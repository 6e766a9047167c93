"""Decoding request bodies into events: one object, a JSON array, or NDJSON.

A batch is all-or-nothing: the first bad event rejects the whole body with an error that names
the JSON path of the field (and, for NDJSON, the 1-based line). Decoding is type-directed
(msgspec), so hostile shapes such as 100k-deep nesting fail at the first
unexpected token instead of being built in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from sidecar.events.field_errors import field_names, locate
from sidecar.events.schema import Event, EventBase, LlmCall, Run, ToolCall
from sidecar.validation import TOO_LONG, long_text_field


class _LenientLlmCall(LlmCall, kw_only=True, tag="llm_call", forbid_unknown_fields=False):
    pass


class _LenientToolCall(ToolCall, kw_only=True, tag="tool_call", forbid_unknown_fields=False):
    pass


class _LenientRun(Run, kw_only=True, tag="run", forbid_unknown_fields=False):
    pass


_LenientEvent = _LenientLlmCall | _LenientToolCall | _LenientRun
_PUBLIC_TYPE = {_LenientLlmCall: LlmCall, _LenientToolCall: ToolCall, _LenientRun: Run}
# The fast path decodes the public types, which forbid unknown fields; only a body that fails
# is decoded again with the lenient twins, whose events are then converted to the public types
# (so ``type(event) is LlmCall`` holds everywhere downstream).
_STRICT = msgspec.json.Decoder(list[Event] | Event)
_STRICT_ONE = msgspec.json.Decoder(Event)
_STRICT_LIST = msgspec.json.Decoder(list[Event])
_LENIENT = msgspec.json.Decoder(list[_LenientEvent] | _LenientEvent)
_LENIENT_ONE = msgspec.json.Decoder(_LenientEvent)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


def _public(event: EventBase) -> Event:
    cls = _PUBLIC_TYPE[type(event)]
    public: Event = cls(**{name: getattr(event, name) for name in event.__struct_fields__})
    return public


JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
    }
)
_EVENT_FIELDS = field_names(Event)


@dataclass(frozen=True)
class DecodeError(Exception):
    """A body that is not a valid batch. ``status`` is 400 (malformed) or 422 (schema)."""

    status: int
    code: str
    message: str
    field: str | None = None
    line: int | None = None
    index: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class DecodedBatch:
    events: list[Event]
    unknown_field_events: int


def decode_events(body: bytes, content_type: str) -> DecodedBatch:
    """Decode a request body of ``content_type`` into events, or raise :class:`DecodeError`."""
    if not body.strip():
        raise DecodeError(400, "empty_body", "request body is empty")
    batch = _decode_ndjson(body) if content_type in NDJSON_TYPES else _decode_json(body)
    if _only_ascii_strings(body):
        return batch
    for index, event in enumerate(batch.events):
        field = long_text_field(event)
        if field is not None:
            raise DecodeError(
                422, "invalid_event",
                f"{field} {TOO_LONG} (event {index}, field `{field}`)",
                field=field, index=index,
            )  # fmt: skip
    return batch


def _only_ascii_strings(body: bytes) -> bool:
    """True when every string decoded from ``body`` is ASCII: no byte above 0x7F and no
    ``\\u`` escape. Then no id or name is longer in UTF-8 than its cap, as the schema bounds
    its characters by that cap (a test checks) and an ASCII character is one byte: the check
    of each event (:func:`~sidecar.validation.long_text_field`) can only pass."""
    return body.isascii() and b"\\u" not in body


def _decode_json(body: bytes) -> DecodedBatch:
    unknown = 0
    try:
        decoded = _STRICT.decode(body)
    except msgspec.ValidationError:
        decoded, unknown = _decode_json_lenient(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None
    events = decoded if isinstance(decoded, list) else [decoded]
    if not events:
        raise DecodeError(422, "empty_batch", "the batch holds no events")
    return DecodedBatch(events, unknown)


def _decode_json_lenient(body: bytes) -> tuple[list[Event] | Event, int]:
    """Slow path: unknown fields (ignored, counted) or a schema error (located precisely)."""
    is_list = body.lstrip()[:1] == b"["
    try:
        decoded = _LENIENT.decode(body)
    except msgspec.ValidationError as exc:
        if is_list:
            _locate_error(body)
        raise _schema(exc) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None
    items = _RAW_LIST.decode(body) if is_list else [body]
    unknown = sum(_has_unknown_fields(item) for item in items)
    if isinstance(decoded, list):
        return [_public(e) for e in decoded], unknown
    return _public(decoded), unknown


def _locate_error(body: bytes) -> None:
    """Raise the schema error of the first bad item of a JSON array, with its index."""
    try:
        items = _RAW_LIST.decode(body)
    except msgspec.ValidationError:
        return
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None
    for index, item in enumerate(items):
        try:
            _LENIENT_ONE.decode(item)
        except msgspec.ValidationError as exc:
            raise _schema(exc, index=index) from None


def _decode_ndjson(body: bytes) -> DecodedBatch:
    lines = [line for line in body.split(b"\n") if line.strip()]
    if not lines:
        raise DecodeError(422, "empty_batch", "the batch holds no events")
    # Fast path: the lines as one JSON array (one decoder call instead of one per line).
    # Any doubt (an error, or a line holding more than one value) takes the exact path below.
    try:
        events = _STRICT_LIST.decode(b"[" + b",".join(lines) + b"]")
        if len(events) == len(lines):
            return DecodedBatch(events, 0)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    return _decode_ndjson_lines(body)


def _decode_ndjson_lines(body: bytes) -> DecodedBatch:
    events = []
    unknown = 0
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            events.append(_STRICT_ONE.decode(line))
            continue
        except msgspec.ValidationError:
            pass
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise _malformed(exc, line=number) from None
        try:
            events.append(_public(_LENIENT_ONE.decode(line)))
        except msgspec.ValidationError as exc:
            raise _schema(exc, line=number) from None
        unknown += 1
    return DecodedBatch(events, unknown)


def _has_unknown_fields(item: bytes | msgspec.Raw) -> int:
    try:
        _STRICT_ONE.decode(item)
    except msgspec.ValidationError:
        return 1
    return 0


def _malformed(exc: BaseException, line: int | None = None) -> DecodeError:
    if isinstance(exc, UnicodeDecodeError):
        message = "body is not valid UTF-8"
    elif isinstance(exc, RecursionError):
        message = "JSON nesting is too deep"
    else:
        message = str(exc)
    where = f" (line {line})" if line is not None else ""
    return DecodeError(400, "malformed_json", message + where, line=line)


def _schema(
    exc: msgspec.ValidationError, *, line: int | None = None, index: int | None = None
) -> DecodeError:
    located = locate(exc, _EVENT_FIELDS)
    text, field = located.message, located.field
    if index is None:
        index = located.index
    where = []
    if line is not None:
        where.append(f"line {line}")
    if index is not None:
        where.append(f"event {index}")
    if field:
        where.append(f"field `{field}`")
    message = text + (" (" + ", ".join(where) + ")" if where else "")
    return DecodeError(422, "invalid_event", message, field=field, line=line, index=index)


__all__ = ["JSON_TYPES", "NDJSON_TYPES", "DecodeError", "DecodedBatch", "decode_events"]
