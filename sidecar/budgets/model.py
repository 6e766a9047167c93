"""The values the ledgers take and return: admit requests, decisions, usage, typed errors.

Money inside the ledgers is integer nano-USD (1e-9 USD): sums and comparisons against a cap are
exact (no float drift across thousands of settles), and a 64-bit counter holds $9.2 billion.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

NANO_PER_USD = 1_000_000_000

BudgetReason = Literal["token_budget_exceeded", "cost_budget_exceeded"]
Reason = Literal[
    "token_budget_exceeded",
    "cost_budget_exceeded",
    "step_limit_exceeded",
    "tool_call_limit_exceeded",
    "time_limit_exceeded",
    "loop_detected",
]


def to_nano(usd: float) -> int:
    """USD → integer nano-USD, rounded to nearest."""
    return round(usd * NANO_PER_USD)


def to_usd(nano: int) -> float:
    """Integer nano-USD → USD."""
    return nano / NANO_PER_USD


class StoreUnavailable(RuntimeError):
    """The budget store cannot be reached and the fail policy is ``fail_closed`` (HTTP 503)."""


class UnknownBudget(KeyError):
    """No policy exists for the scope and id asked about (HTTP 404)."""


class AdmitRequest(msgspec.Struct, kw_only=True, frozen=True):
    """What the ledger needs from ``POST /v1/admit``: who, which model, and the estimate.

    ``cost_usd`` is the estimated cost of ``input_tokens + max_output_tokens`` (the caller
    prices it); ``model`` is the price-table name so per-model budgets match every alias.
    """

    request_id: str
    user_id: str | None = None
    tenant: str | None = None
    model: str | None = None
    input_tokens: int = 0
    max_output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.max_output_tokens


class Usage(msgspec.Struct, kw_only=True):
    """``GET /v1/usage/{scope}/{id}`` (DESIGN.md section 3); window bounds in ISO 8601."""

    tokens_used: int
    cost_usd: float
    tokens_reserved: int
    remaining_tokens: int | None
    remaining_cost_usd: float | None
    window_start: str
    window_end: str


class BudgetWarning(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A ``warn_at`` crossing caused by this admit (reported once, by the crossing admit)."""

    scope: str
    id: str
    model: str | None = None
    window: str
    dimension: Literal["tokens", "cost"]
    warn_at: float
    ratio: float


class Decision(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The answer to an admit. ``limit`` names the cap that denied (or the step limit);
    ``usage`` is that budget's usage; ``retry_after_s`` the time until it can fit (the window
    reset, or for a rolling window the oldest hold's ageing out; absent when it never fits).
    ``degraded`` marks an allow under ``fail_open`` while the store is unreachable."""

    allowed: bool
    reason: Reason | None = None
    reservation_id: str | None = None
    limit: dict[str, Any] | None = None
    usage: Usage | None = None
    retry_after_s: float | None = None
    warnings: list[BudgetWarning] = msgspec.field(default_factory=list)
    degraded: bool = False

    @property
    def http_status(self) -> int:
        return 200 if self.allowed else 429

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the HTTP answer."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out
