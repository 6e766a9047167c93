"""Event → row: the indexed columns plus the whole event as JSON, as a tuple in
:data:`~sidecar.store.columns.EVENT_COLUMNS` order (``id`` first)."""

from __future__ import annotations

from typing import Any

import msgspec

from sidecar.events.schema import EventBase

_encode = msgspec.json.Encoder().encode

Row = tuple[Any, ...]


def event_row(event: EventBase) -> Row:
    """One ``events`` row. ``body`` is exactly what ``GET /v1/events`` returns."""
    get = getattr
    return (
        event.id,
        get(event, "__struct_config__").tag,
        event.ts,
        event.request_id,
        event.session_id,
        event.user_id,
        event.tenant,
        event.agent,
        get(event, "model", None),
        get(event, "provider", None),
        get(event, "tool", None),
        get(event, "status", None),
        get(event, "error_type", None),
        get(event, "input_tokens", None),
        get(event, "output_tokens", None),
        get(event, "cached_input_tokens", None),
        get(event, "cost_usd", None),
        get(event, "duration_ms", None),
        get(event, "ttft_ms", None),
        event.trace_id,
        event.span_id,
        _encode(event).decode(),
    )
