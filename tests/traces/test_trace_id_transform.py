"""The ingest transform writes exactly the ids the span builder derives, as W3C text."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.events.schema import Event, Run
from sidecar.telemetry import span_ids
from sidecar.telemetry.span_ids import (
    TraceIdTransform,
    child_span_id_for,
    hex_span_id,
    hex_trace_id,
    root_span_id_for,
    span_key,
    trace_id_for,
)
from tests.analytics.events import llm, run, tool

IDS = st.text(min_size=1, max_size=40)


@given(text=st.text(max_size=60), size=st.sampled_from([8, 16]))
def test_hex_digest_is_the_digest_in_hex(text: str, size: int) -> None:
    assert span_ids._hex_digest(text, size) == f"{span_ids._digest(text, size):0{2 * size}x}"


class _ZeroHash:
    def digest(self) -> bytes:
        return bytes(32)


def test_an_all_zero_digest_becomes_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashlib, "sha256", lambda data: _ZeroHash())
    assert span_ids._digest("x", 8) == 1
    assert span_ids._hex_digest("x", 8) == "0000000000000001"
    assert span_ids._hex_digest("x", 16) == "0" * 31 + "1"


def _events(
    request: str, event_id: str | None, span: str | None, parent: str | None
) -> list[Event]:
    common: dict[str, Any] = {
        "request_id": request, "id": event_id, "span_id": span, "parent_span_id": parent,
    }  # fmt: skip
    return [llm(**common), tool(**common), run(**common, status="ok")]


@given(
    request=IDS,
    event_id=st.none() | IDS,
    span=st.none() | st.just("00f067aa0ba902b7"),
    parent=st.none() | st.just("53995c3f42cd8ad8"),
)
def test_filled_ids_are_the_span_builders(
    request: str, event_id: str | None, span: str | None, parent: str | None
) -> None:
    events = _events(request, event_id, span, parent)
    TraceIdTransform().process(events)
    for event in events:
        assert event.trace_id == hex_trace_id(trace_id_for(request))
        if span is not None:
            assert (event.span_id, event.parent_span_id) == (span, parent)
        elif isinstance(event, Run):
            assert event.span_id == hex_span_id(root_span_id_for(request))
            assert event.parent_span_id == parent
        else:
            assert event.span_id == hex_span_id(child_span_id_for(span_key(event)))
            assert event.parent_span_id == (parent or hex_span_id(root_span_id_for(request)))
