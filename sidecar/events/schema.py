"""The event schema of contract v1 (docs/api.md), as msgspec structs.

Three event types share the common fields of :class:`EventBase`: ``llm_call``, ``tool_call`` and
``run``. Types are checked by the decoder itself (msgspec), so a malformed field is rejected
with its JSON path in one pass. Numbers are bounded: token
counts are integers in [0, 10^9], ``cost_usd`` in [0, 10^9], durations and timestamps finite and
non-negative, so NaN, infinities and absurd values never reach the store, the analytics or a
budget counter (a 422 names the field). Ids and names hold no control character: checked once
per batch after decoding (:mod:`sidecar.events.checked`, whose pattern-checked twins of these
types state it in the OpenAPI document and word the 422).

Content fields (``input``, ``output``, ``args``, ``result``, ``error_message`` and string
attributes) are redacted at ingest before anything else sees them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

import msgspec

from sidecar.validation import BoundedId

# Ids and names are bounded by length here; their control characters are checked once per
# batch (sidecar.events.checked), 6.6 of the 8.6 µs a per-string regex made an event cost.
Id = BoundedId
Name = BoundedId

MAX_TOKENS = 1_000_000_000
# At most $10^9 a call: with 10^9 tokens per count, no budget sum can overflow (budgets/model.py)
MAX_COST_USD = 1_000_000_000.0
MAX_SECONDS = 4_102_444_800.0  # 2100-01-01: a timestamp past this is a unit mistake
MAX_DURATION_MS = 7 * 24 * 3600 * 1000.0  # one week

HexTraceId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
HexSpanId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{16}$")]
Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
Timestamp = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]
DurationMs = Annotated[float, msgspec.Meta(ge=0, le=MAX_DURATION_MS)]
Status = Literal["ok", "error"]
Scalar: TypeAlias = str | int | float | bool | None
Attributes = Annotated[dict[str, Scalar], msgspec.Meta(max_length=128)]

EVENT_TYPES = ("llm_call", "tool_call", "run")


class EventBase(
    msgspec.Struct, kw_only=True, tag_field="type", omit_defaults=True, forbid_unknown_fields=True
):
    """Fields every event carries. ``id`` makes a resent event idempotent.

    Unknown fields are rejected by these types; the decoder retries a body that has some with
    lenient twins and counts them (forward compatibility without silent surprises).
    """

    id: Id | None = None
    ts: Timestamp
    request_id: Id
    session_id: Id | None = None
    user_id: Id | None = None
    tenant: Id | None = None
    agent: Name | None = None
    trace_id: HexTraceId | None = None
    span_id: HexSpanId | None = None
    parent_span_id: HexSpanId | None = None
    attributes: Attributes | None = None


class LlmCall(EventBase, kw_only=True, tag="llm_call"):
    """One model call. ``ttft_ms`` is measured at the first content token of a stream.

    ``model`` is the model asked for, ``response_model`` the one that answered
    (``gpt-4o-2024-08-06``). ``usage_unknown`` marks a call whose token counts nobody reported
    (a stream without usage): its tokens are 0 and stay out of the token histograms.
    """

    model: Name
    provider: Name
    input_tokens: Tokens
    output_tokens: Tokens
    cached_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    usage_unknown: bool | None = None
    start_ts: Timestamp
    stream: bool | None = None
    ttft_ms: DurationMs | None = None
    duration_ms: DurationMs
    status: Status = "ok"
    error_type: Name | None = None
    error_message: str | None = None
    finish_reason: Name | None = None
    reservation_id: Id | None = None
    operation: Name | None = None
    response_model: Name | None = None
    response_id: Id | None = None
    input: Any = None
    output: Any = None
    cost_usd: Annotated[float, msgspec.Meta(ge=0, le=MAX_COST_USD)] | None = None


class ToolCall(EventBase, kw_only=True, tag="tool_call"):
    """One tool execution; ``args`` and ``result`` are content and are redacted."""

    tool: Name
    start_ts: Timestamp
    duration_ms: DurationMs
    status: Status = "ok"
    error_type: Name | None = None
    error_message: str | None = None
    call_id: Id | None = None
    args: Any = None
    result: Any = None


class Run(EventBase, kw_only=True, tag="run"):
    """An agent request: emitted at its end (``duration_ms``, ``status``, ``steps`` set)."""

    start_ts: Timestamp
    duration_ms: DurationMs | None = None
    status: Status | None = None
    error_type: Name | None = None
    error_message: str | None = None
    steps: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None


Event: TypeAlias = LlmCall | ToolCall | Run
EVENT_CLASSES: tuple[type[EventBase], ...] = (LlmCall, ToolCall, Run)
