"""Decoding request bodies into events: one object, a JSON array, or NDJSON.

A batch is all-or-nothing: the first bad event rejects the whole body with an error that names
the JSON path of the field (and, for NDJSON, the 1-based line). Decoding is type-directed
(msgspec), so hostile shapes such as 100k-deep nesting fail at the first
unexpected token instead of being built in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Union

import msgspec

from sidecar.events.checked import checked, control_field, may_hold_control
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
_PUBLIC_BY_TAG: dict[Any, type[Event]] = {
    c.__struct_config__.tag: c for c in (LlmCall, ToolCall, Run)
}
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


# The fast path decodes the public types, which forbid unknown fields; only a body that fails
# is decoded again with the lenient twins, whose events are then converted to the public types
# (so ``type(event) is LlmCall`` holds everywhere downstream).
@dataclass(frozen=True)
class _Decoders:
    """The decoders of one set of event types: strict (unknown fields refused) and lenient."""

    strict: msgspec.json.Decoder[Any]
    strict_one: msgspec.json.Decoder[Any]
    strict_list: msgspec.json.Decoder[Any]
    lenient: msgspec.json.Decoder[Any]
    lenient_one: msgspec.json.Decoder[Any]

    @classmethod
    def of(cls, strict: Any, lenient: Any) -> _Decoders:
        return cls(
            msgspec.json.Decoder(list[strict] | strict),
            msgspec.json.Decoder(strict),
            msgspec.json.Decoder(list[strict]),
            msgspec.json.Decoder(list[lenient] | lenient),
            msgspec.json.Decoder(lenient),
        )


def _union(types: tuple[type, ...]) -> Any:
    return Union[types]  # noqa: UP007 - built from a tuple


# The types every event is decoded with.
_FAST = _Decoders.of(Event, _LenientEvent)


@cache
def _checked() -> _Decoders:
    """The decoders of the pattern-checked twins, which decode a body again only to word the
    error of one that failed (sidecar.events.checked); built on the first such body (10 ms)."""
    return _Decoders.of(
        _union(tuple(checked(c) for c in (LlmCall, ToolCall, Run))),
        _union(tuple(checked(c) for c in (_LenientLlmCall, _LenientToolCall, _LenientRun))),
    )


def _public(event: EventBase) -> Event:
    cls = _PUBLIC_BY_TAG[event.__struct_config__.tag]
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
    try:
        batch = _decode(body, content_type, _FAST)
    except DecodeError as error:
        if error.status == 422:  # the checked types name the first error in the body
            _decode(body, content_type, _checked())
        raise
    if may_hold_control(body):
        found = control_field(batch.events)
        if found is not None:
            _decode(body, content_type, _checked())
            raise _control_error(*found)  # pragma: no cover - the twins refuse it first
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


def _decode(body: bytes, content_type: str, decoders: _Decoders) -> DecodedBatch:
    if content_type in NDJSON_TYPES:
        return _decode_ndjson(body, decoders)
    return _decode_json(body, decoders)


def _control_error(index: int, field: str) -> DecodeError:
    message = f"{field} holds a control character (event {index}, field `{field}`)"
    return DecodeError(422, "invalid_event", message, field=field, index=index)


def _only_ascii_strings(body: bytes) -> bool:
    """True when every string decoded from ``body`` is ASCII: no byte above 0x7F and no
    ``\\u`` escape. Then no id or name is longer in UTF-8 than its cap, as the schema bounds
    its characters by that cap (a test checks) and an ASCII character is one byte: the check
    of each event (:func:`~sidecar.validation.long_text_field`) can only pass."""
    return body.isascii() and b"\\u" not in body


def _decode_json(body: bytes, d: _Decoders) -> DecodedBatch:
    unknown = 0
    try:
        decoded = d.strict.decode(body)
    except msgspec.ValidationError:
        decoded, unknown = _decode_json_lenient(body, d)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None
    events = decoded if isinstance(decoded, list) else [decoded]
    if not events:
        raise DecodeError(422, "empty_batch", "the batch holds no events")
    return DecodedBatch(events, unknown)


def _decode_json_lenient(body: bytes, d: _Decoders) -> tuple[list[Event] | Event, int]:
    """Slow path: unknown fields (ignored, counted) or a schema error (located precisely)."""
    is_list = body.lstrip()[:1] == b"["
    try:
        decoded = d.lenient.decode(body)
    except msgspec.ValidationError as exc:
        if is_list:
            _locate_error(body, d)
        raise _schema(exc) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None
    items = _RAW_LIST.decode(body) if is_list else [body]
    unknown = sum(_has_unknown_fields(item, d) for item in items)
    if isinstance(decoded, list):
        return [_public(e) for e in decoded], unknown
    return _public(decoded), unknown


def _locate_error(body: bytes, d: _Decoders) -> None:
    """Raise the schema error of the first bad item of a JSON array, with its index."""
    try:
        items = _RAW_LIST.decode(body)
    except msgspec.ValidationError:
        return
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None
    for index, item in enumerate(items):
        try:
            d.lenient_one.decode(item)
        except msgspec.ValidationError as exc:
            raise _schema(exc, index=index) from None


def _decode_ndjson(body: bytes, d: _Decoders) -> DecodedBatch:
    lines = [line for line in body.split(b"\n") if line.strip()]
    if not lines:
        raise DecodeError(422, "empty_batch", "the batch holds no events")
    # Fast path: the lines as one JSON array (one decoder call instead of one per line).
    # Any doubt (an error, or a line holding more than one value) takes the exact path below.
    try:
        events = d.strict_list.decode(b"[" + b",".join(lines) + b"]")
        if len(events) == len(lines):
            return DecodedBatch(events, 0)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    return _decode_ndjson_lines(body, d)


def _decode_ndjson_lines(body: bytes, d: _Decoders) -> DecodedBatch:
    events = []
    unknown = 0
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            events.append(d.strict_one.decode(line))
            continue
        except msgspec.ValidationError:
            pass
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise _malformed(exc, line=number) from None
        try:
            events.append(_public(d.lenient_one.decode(line)))
        except msgspec.ValidationError as exc:
            raise _schema(exc, line=number) from None
        unknown += 1
    return DecodedBatch(events, unknown)


def _has_unknown_fields(item: bytes | msgspec.Raw, d: _Decoders) -> int:
    try:
        d.strict_one.decode(item)
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
