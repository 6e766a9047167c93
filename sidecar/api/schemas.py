"""Answer bodies of contract v1 as msgspec structs, for the OpenAPI document.

Request bodies are the structs the routes decode with (``AdmitBody``, ``SettleBody``,
``BudgetPolicy``, the cache and redact bodies, the event types), so the document cannot drift
from what is enforced. These answer structs are the shapes the routes build; the schemathesis
run checks every answer against them.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from sidecar.budgets.config import BudgetPolicyEntry
from sidecar.redact.engine import RedactionResult


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: str
    message: str
    field: str | None = None
    index: int | None = None
    line: int | None = None


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every 4xx / 5xx: ``{"error": {"code", "message", "field"?}}``."""

    error: ErrorDetail


class Accepted(msgspec.Struct, kw_only=True):
    accepted: int
    duplicates: int


class EventsPage(msgspec.Struct, kw_only=True):
    events: list[dict[str, Any]]
    next_cursor: str | None


class Totals(msgspec.Struct, kw_only=True):
    count: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class AggregateAnswer(msgspec.Struct, kw_only=True):
    total: Totals
    groups: list[dict[str, Any]]


class FleetReplica(msgspec.Struct, kw_only=True):
    """One replica of a ``scope=fleet`` answer: its age by the database's clock and state."""

    id: str
    self: bool
    age_s: float
    state: Literal["fresh", "stale", "incompatible"]
    contributing: bool
    count: int
    reason: str | None = None


class StatsAnswer(msgspec.Struct, kw_only=True):
    window: str
    group_by: list[str]
    until: float
    relative_accuracy: float
    scope: Literal["local", "fleet"] = "local"
    series: list[dict[str, Any]]
    # scope=fleet only
    shared_store: bool | None = None
    replicas: list[FleetReplica] | None = None
    replicas_contributing: int | None = None
    replicas_expired: int | None = None
    stale_after_s: float | None = None
    note: str | None = None


class ToolPolicyAnswer(msgspec.Struct, kw_only=True):
    """A tool policy under its key (``*`` for any tenant or agent)."""

    tenant: str
    agent: str
    rules: list[dict[str, Any]]


class ToolPolicies(msgspec.Struct, kw_only=True):
    policies: list[ToolPolicyAnswer]


class ApprovalAnswer(msgspec.Struct, kw_only=True):
    """One approval; ``state`` is pending, approved, denied or expired."""

    id: str
    tool: str
    state: Literal["pending", "approved", "denied", "expired"]
    tenant: str | None = None
    agent: str | None = None
    user_id: str | None = None
    request_id: str | None = None
    args: Any = None
    args_digest: str | None = None
    created_at: float | None = None
    expires_at: float | None = None
    decided_at: float | None = None
    decided_by: str | None = None
    note: str | None = None
    used: bool | None = None


class Approvals(msgspec.Struct, kw_only=True):
    approvals: list[ApprovalAnswer]


class Settled(msgspec.Struct, kw_only=True):
    settled: bool


class Deleted(msgspec.Struct, kw_only=True):
    deleted: bool


class Stored(msgspec.Struct, kw_only=True):
    stored: bool


class StoredBatch(msgspec.Struct, kw_only=True):
    stored: int


class Removed(msgspec.Struct, kw_only=True):
    removed: int


class LookupAnswer(msgspec.Struct, kw_only=True):
    hit: bool
    result: str
    value: Any = None
    match: Literal["exact", "fuzzy", "semantic"] | None = None
    score: float | None = None
    saved_cost_usd: float | None = None
    saved_tokens: int | None = None
    guard: str | None = None


class RedactBatchAnswer(msgspec.Struct, kw_only=True):
    results: list[RedactionResult]  # one per text, in the order sent


class HealthAnswer(msgspec.Struct, kw_only=True):
    healthy: bool
    version: str
    uptime_s: float
    checked_at: float


class ReadyAnswer(msgspec.Struct, kw_only=True):
    ready: bool


class Policies(msgspec.Struct, kw_only=True):
    policies: list[BudgetPolicyEntry]


class RunSummary(msgspec.Struct, kw_only=True):
    """One run (the events of one request id): figures over all of its events."""

    request_id: str
    tenant: str | None
    agent: str | None
    user_id: str | None
    session_id: str | None
    started_at: float
    last_event_at: float
    duration_ms: float
    finished: bool
    status: Literal["ok", "error"] | None
    events: int
    llm_calls: int
    tool_calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class RunsPage(msgspec.Struct, kw_only=True):
    runs: list[RunSummary]
    next_cursor: str | None


class RunTimeline(msgspec.Struct, kw_only=True):
    """The run and its stored (redacted) events in start order; ``truncated`` past 2,000."""

    run: RunSummary
    events: list[dict[str, Any]]
    truncated: bool


class BucketFigures(msgspec.Struct, kw_only=True):
    count: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class GroupSeries(msgspec.Struct, kw_only=True):
    key: str | None
    points: list[BucketFigures]


class SeriesAnswer(msgspec.Struct, kw_only=True):
    """``buckets`` are the bucket start times; ``total`` and each group's ``points`` align."""

    since: float
    until: float
    bucket_s: int
    group_by: str | None
    buckets: list[float]
    total: list[BucketFigures]
    series: list[GroupSeries]


class QuantileCurve(msgspec.Struct, kw_only=True):
    key: dict[str, str | None]
    count: int
    values: list[float | None]


class DistributionAnswer(msgspec.Struct, kw_only=True):
    window: str
    metric: str
    group_by: list[str]
    relative_accuracy: float
    quantiles: list[float]
    series: list[QuantileCurve]


class Denial(msgspec.Struct, kw_only=True):
    ts: float
    reason: str | None
    retry_after_s: float | None
    limit: dict[str, Any] | None
    kind: str
    request_id: str
    user_id: str | None
    tenant: str | None
    model: str | None
    tool: str | None
    usage: dict[str, Any] | None


class Denials(msgspec.Struct, kw_only=True):
    denials: list[Denial]
    total: int | None


class SummaryAnswer(msgspec.Struct, kw_only=True):
    """This process's counters: cache, safety, ingest, analytics, exporter, budgets, config."""

    version: str
    generated_at: float
    cache: dict[str, Any]
    safety: dict[str, Any]
    ingest: dict[str, Any]
    analytics: dict[str, Any]
    exporter: dict[str, Any]
    budgets: dict[str, Any]
    config: dict[str, Any]
