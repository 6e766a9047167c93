"""Ids and names over their cap in UTF-8 are refused, however the body spells them; a body of
ASCII strings skips the per-event check, which the schema makes redundant there."""

from __future__ import annotations

import msgspec
import pytest

from sidecar.events.decode import DecodeError, decode_events
from sidecar.events.schema import LlmCall, Run, ToolCall
from sidecar.validation import _capped_fields

NDJSON = "application/x-ndjson"


def _body(user_id: str, *, escaped: bool) -> bytes:
    event = {"type": "tool_call", "ts": 1.0, "request_id": "r1", "tool": "t", "start_ts": 1.0,
             "duration_ms": 1.0, "user_id": user_id}  # fmt: skip
    text = msgspec.json.encode(event).decode()
    if escaped:  # the same string, every non-ASCII character as a \\u escape
        text = "".join(c if c.isascii() else f"\\u{ord(c):04x}" for c in text)
    return b'{"type":"run","ts":1.0,"request_id":"r0","start_ts":1.0}\n' + text.encode()


@pytest.mark.parametrize("escaped", [False, True])
def test_a_long_multibyte_id_is_refused(escaped: bool) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_events(_body("é" * 200, escaped=escaped), NDJSON)  # 200 characters, 400 bytes
    assert (caught.value.status, caught.value.field, caught.value.index) == (422, "user_id", 1)


@pytest.mark.parametrize("escaped", [False, True])
def test_a_multibyte_id_within_its_cap_passes(escaped: bool) -> None:
    events = decode_events(_body("é" * 128, escaped=escaped), NDJSON).events
    assert events[1].user_id == "é" * 128


def test_an_ascii_id_at_its_cap_passes() -> None:
    assert decode_events(_body("u" * 256, escaped=False), NDJSON).events[1].user_id == "u" * 256


@pytest.mark.parametrize("event_type", [LlmCall, ToolCall, Run])
def test_the_schema_bounds_each_capped_field_by_its_cap(event_type: type) -> None:
    """What makes the ASCII shortcut sound: at most ``cap`` characters, so ``cap`` bytes."""
    info = msgspec.inspect.type_info(event_type)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = {f.name: f.type for f in info.fields}
    for name, cap in _capped_fields(event_type):
        kind = fields[name]
        strings = [
            t for t in getattr(kind, "types", (kind,)) if isinstance(t, msgspec.inspect.StrType)
        ]
        assert strings and all(t.max_length is not None and t.max_length <= cap for t in strings), (
            name
        )
