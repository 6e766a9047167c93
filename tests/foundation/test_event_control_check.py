"""Events' ids and names are checked for control characters once per batch, with the errors a
per-string check gives.

Paths: :func:`sidecar.events.decode.decode_events` for a JSON object, a JSON array and NDJSON,
against the same decode with the pattern-checked twins of the event types (the per-string
regex every id and name had), on generated batches: control characters as JSON escapes
(``\\n``, ``\\t``, ``\\u0000``, ``\\u001F``, ``\\u007f``) and as a raw DEL byte in every id and
name field, next to content that legitimately holds newlines, unknown fields, values of the
wrong type, Chinese text, and escaped backslashes that look like escapes; the OTLP mapping
(:func:`sidecar.events.otlp_map._converted`); and the OpenAPI document, which still states the
pattern.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.events import decode
from sidecar.events.checked import checked, control_field, may_hold_control
from sidecar.events.otlp_map import _converted
from sidecar.events.schema import LlmCall, Run, ToolCall
from sidecar.validation import CONTROL_FREE, Id

_TEXT_FIELDS = {
    "llm_call": ["id", "request_id", "session_id", "user_id", "tenant", "agent", "model",
                 "provider", "error_type", "finish_reason", "response_id", "operation"],
    "tool_call": ["id", "request_id", "user_id", "agent", "tool", "call_id", "error_type"],
    "run": ["id", "request_id", "session_id", "agent", "error_type"],
}  # fmt: skip
_HOSTILE = st.sampled_from(
    ["a\nb", "tab\t", "\x00", "\x1f", "del\x7f", "\r", "\x08", "ok", "用户-7", "back\\nslash",
     "trailing\n"]
)  # fmt: skip


def _event(kind: str, index: int) -> dict[str, Any]:
    base: dict[str, Any] = {"type": kind, "id": f"e{index}", "ts": 1.0, "request_id": "r"}
    if kind == "llm_call":
        base.update(model="m", provider="p", input_tokens=1, output_tokens=1, start_ts=1.0,
                    duration_ms=1.0, input="line one\nline two")  # fmt: skip
    elif kind == "tool_call":
        base.update(tool="t", start_ts=1.0, duration_ms=1.0, args={"q": "a\tb"})
    else:
        base.update(start_ts=1.0)
    return base


@st.composite
def _bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kinds = draw(st.lists(st.sampled_from(sorted(_TEXT_FIELDS)), min_size=1, max_size=6))
    events = [_event(kind, i) for i, kind in enumerate(kinds)]
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(events) - 1))
        event = events[index]
        change = draw(st.sampled_from(["text", "text", "unknown", "type"]))
        if change == "text":
            event[draw(st.sampled_from(_TEXT_FIELDS[event["type"]]))] = draw(_HOSTILE)
        elif change == "unknown":
            event["extra_field"] = "x"
        else:
            event["ts"] = "not a number"
    shape = draw(st.sampled_from(["ndjson", "array", "object"]))
    ascii_only = draw(st.booleans())
    encoded = [json.dumps(e, ensure_ascii=ascii_only).encode() for e in events]
    if shape == "ndjson":
        return b"\n".join(encoded), "application/x-ndjson"
    if shape == "object":
        return encoded[0], "application/json"
    return b"[" + b",".join(encoded) + b"]", "application/json"


def _outcome(decoder: Any, body: bytes, content_type: str) -> Any:
    try:
        batch = decoder(body, content_type)
    except decode.DecodeError as error:
        return ("error", error.status, error.code, error.message, error.field, error.line,
                error.index)  # fmt: skip
    return ("ok", msgspec.to_builtins(batch.events), batch.unknown_field_events)


def _per_string(body: bytes, content_type: str) -> decode.DecodedBatch:
    """The decode as it was: every id and name checked by the decoder's pattern."""
    return decode._decode(body, content_type, decode._checked())


@settings(max_examples=400, deadline=None)
@given(case=_bodies())
def test_the_batch_check_answers_as_the_per_string_check(case: tuple[bytes, str]) -> None:
    body, content_type = case
    assert _outcome(decode.decode_events, body, content_type) == _outcome(
        _per_string, body, content_type
    )


def test_a_control_character_is_a_422_naming_the_field_and_event() -> None:
    events = [_event("llm_call", 0), {**_event("run", 1), "agent": "bad\u0001agent"}]
    body = b"\n".join(json.dumps(e).encode() for e in events)
    with pytest.raises(decode.DecodeError) as refused:
        decode.decode_events(body, "application/x-ndjson")
    assert (refused.value.status, refused.value.field, refused.value.line) == (422, "agent", 2)
    assert "regex" in refused.value.message


@pytest.mark.parametrize(
    ("body", "may"),
    [(b'{"a": "plain"}', False), (b'{"a": "x\\ny"}', True), (b'{"a": "\\u001F"}', True),
     (b'{"a": "\\u007f"}', True), (b'{"a": "del\x7f"}', True), (b'{"a": "\\u0041"}', False),
     (b'{"a": "\\"quoted\\""}', False), (b'{"a": "\\\\"}', False)],
)  # fmt: skip
def test_the_body_scan_sees_every_escape_of_a_control_character(body: bytes, may: bool) -> None:
    assert may_hold_control(body) is may
    decoded = msgspec.json.decode(body)
    if not may:
        assert not any(c < " " or c == "\x7f" for c in decoded["a"])


def test_control_field_names_the_first_event_and_field() -> None:
    events = [LlmCall(ts=1.0, request_id="r", model="m", provider="p", input_tokens=1,
                      output_tokens=1, start_ts=1.0, duration_ms=1.0, input="free\ntext"),
              Run(ts=1.0, request_id="r", start_ts=1.0, session_id="s\x7f")]  # fmt: skip
    assert control_field(events) == (1, "session_id")
    assert control_field(events[:1]) is None


def test_a_final_newline_is_refused_naming_the_field() -> None:
    """Python's ``$`` matches before a final newline: the pattern's lookahead refuses it."""
    body = json.dumps({**_event("run", 0), "error_type": "Timeout\n"}).encode()
    with pytest.raises(decode.DecodeError) as refused:
        decode.decode_events(body, "application/json")
    assert (refused.value.status, refused.value.field) == (422, "error_type")
    assert "regex" in refused.value.message
    fields = {"ts": 1.0, "request_id": "r", "start_ts": 1.0, "tool": "search\n", "duration_ms": 1}
    with pytest.raises(msgspec.ValidationError, match="tool"):
        _converted(fields, ToolCall)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert("alice\n", Id)


def test_the_otlp_mapping_refuses_a_control_character_in_the_checked_types_words() -> None:
    fields = {"ts": 1.0, "request_id": "r", "start_ts": 1.0, "tool": "sea\nrch", "duration_ms": 1}
    with pytest.raises(msgspec.ValidationError) as refused:
        _converted(fields, ToolCall)
    with pytest.raises(msgspec.ValidationError) as per_string:
        msgspec.convert(fields, checked(ToolCall))
    assert str(refused.value) == str(per_string.value) and "`$.tool`" in str(refused.value)
    assert _converted({**fields, "tool": "search"}, ToolCall).tool == "search"


def test_the_openapi_document_still_states_the_pattern() -> None:
    from sidecar.api.openapi import build_document

    document = build_document()
    llm = document["components"]["schemas"]["LlmCall"]["properties"]
    assert llm["request_id"]["pattern"] == CONTROL_FREE
