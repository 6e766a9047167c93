"""Event → row: the indexed columns plus the whole event as JSON."""

from __future__ import annotations

from typing import Any

import msgspec

from sidecar.events.schema import EventBase

_encode = msgspec.json.Encoder().encode


def event_row(event: EventBase) -> dict[str, Any]:
    """One ``events`` row. ``body`` is exactly what ``GET /v1/events`` returns."""
    get = getattr
    return {
        "id": event.id,
        "type": get(event, "__struct_config__").tag,
        "ts": event.ts,
        "request_id": event.request_id,
        "session_id": event.session_id,
        "user_id": event.user_id,
        "tenant": event.tenant,
        "agent": event.agent,
        "model": get(event, "model", None),
        "provider": get(event, "provider", None),
        "tool": get(event, "tool", None),
        "status": get(event, "status", None),
        "error_type": get(event, "error_type", None),
        "input_tokens": get(event, "input_tokens", None),
        "output_tokens": get(event, "output_tokens", None),
        "cached_input_tokens": get(event, "cached_input_tokens", None),
        "cost_usd": get(event, "cost_usd", None),
        "duration_ms": get(event, "duration_ms", None),
        "ttft_ms": get(event, "ttft_ms", None),
        "trace_id": event.trace_id,
        "span_id": event.span_id,
        "body": _encode(event).decode(),
    }
