"""Deterministic W3C trace and span ids for events that carry none.

Each event is exported on its own, as it arrives, yet all events of one run must land in one
trace under one root. So the ids are pure functions of what every event of the run already has:

- trace id = ``sha256("trace:" + request_id)[:16 bytes]``,
- the run's (root) span id = ``sha256("root:" + request_id)[:8 bytes]``,
- any other event's span id = ``sha256("span:" + event id)[:8 bytes]`` (or of a fingerprint of
  its fields when it has no id), so a resent event keeps its span id; its parent is the run's
  span. An event that brings its own span id keeps its parentage as sent: no parent means a
  root, never an invented parent.

Example: ``trace_id_for("req-1")`` is always the same 32 hex digits; an ``llm_call`` of
``req-1`` without a span id gets ``parent = root_span_id_for("req-1")``, which is exactly the span
id the ``run`` event of ``req-1`` gets when it arrives last. An all-zero id (invalid in W3C) would
need a 2^-64 hash collision with zero; it is mapped to 1 all the same. The per-request ids
are cached (4,096 recent requests, about 1 MB), as all events of a run
share them; the ingest transform caches their W3C text forms too and writes the child span
ids' hex straight from the digest (about 1 µs per event in all).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sidecar.events.schema import Event, LlmCall, Run, ToolCall


def _digest(text: str, size: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:size], "big")
    return value or 1


@lru_cache(maxsize=4096)
def trace_id_for(request_id: str) -> int:
    """The 128-bit trace id of a request that came without a W3C trace id."""
    return _digest("trace:" + request_id, 16)


@lru_cache(maxsize=4096)
def root_span_id_for(request_id: str) -> int:
    """The 64-bit span id of the request's ``run`` span (the root of its trace)."""
    return _digest("root:" + request_id, 8)


def child_span_id_for(key: str) -> int:
    """The 64-bit span id of a non-root event, keyed by its event id or fingerprint."""
    return _digest("span:" + key, 8)


def hex_trace_id(value: int) -> str:
    """W3C text form of a trace id (32 lowercase hex digits)."""
    return f"{value:032x}"


def hex_span_id(value: int) -> str:
    """W3C text form of a span id (16 lowercase hex digits)."""
    return f"{value:016x}"


def _hex_digest(text: str, size: int) -> str:
    """``f"{_digest(text, size):0{2 * size}x}"``, without the integer in between."""
    value = hashlib.sha256(text.encode("utf-8")).digest()[:size].hex()
    return value if value.strip("0") else value[:-1] + "1"


@lru_cache(maxsize=4096)
def _request_hex(request_id: str) -> tuple[str, str]:
    """The W3C text forms of a request's trace id and root span id."""
    return _hex_digest("trace:" + request_id, 16), _hex_digest("root:" + request_id, 8)


class TraceIdTransform:
    """Ingest transform: give every event the W3C ids its span will carry, before it is stored.

    So ``/v1/events`` results link to the exported trace. Ids the agent sent are kept; missing
    ones are filled with exactly what :class:`~sidecar.telemetry.spans.SpanBuilder` derives
    (same functions), so stored events and exported spans always agree.
    """

    def process(self, events: list[Event]) -> None:
        """Fill ``trace_id``, ``span_id`` and ``parent_span_id`` in place where absent.

        A parent is derived only for an event whose span id is derived too: an event that
        brings its own span id and no parent is a root (as an OTLP root span is), and stays one.
        """
        for event in events:
            if event.trace_id is not None and event.span_id is not None:
                continue
            trace, root = _request_hex(event.request_id)
            if event.trace_id is None:
                event.trace_id = trace
            if event.span_id is not None:
                continue
            if isinstance(event, Run):
                event.span_id = root
                continue
            event.span_id = _hex_digest("span:" + span_key(event), 8)
            if event.parent_span_id is None:
                event.parent_span_id = root


def span_key(event: Event) -> str:
    """What a non-root span id is derived from: the event id, else a stable fingerprint."""
    if event.id:
        return event.id
    name = event.model if isinstance(event, LlmCall) else getattr(event, "tool", "")
    call_id = event.call_id if isinstance(event, ToolCall) else None
    return f"{type(event).__name__}|{event.request_id}|{event.start_ts!r}|{name}|{call_id}"
