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


class StatsAnswer(msgspec.Struct, kw_only=True):
    window: str
    group_by: list[str]
    until: float
    relative_accuracy: float
    series: list[dict[str, Any]]


class AdmitAnswer(msgspec.Struct, kw_only=True):
    """200 when allowed, 429 with ``reason`` (and ``Retry-After``) when not."""

    allowed: bool
    reason: str | None = None
    reservation_id: str | None = None
    limit: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    retry_after_s: float | None = None
    warnings: list[dict[str, Any]] | None = None
    degraded: bool | None = None


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


class Finding(msgspec.Struct, kw_only=True):
    type: str
    start: int
    end: int


class RedactAnswer(msgspec.Struct, kw_only=True):
    text: str
    findings: list[Finding]


class HealthAnswer(msgspec.Struct, kw_only=True):
    healthy: bool
    version: str
    uptime_s: float
    checked_at: float


class ReadyAnswer(msgspec.Struct, kw_only=True):
    ready: bool


class Policies(msgspec.Struct, kw_only=True):
    policies: list[BudgetPolicyEntry]
