"""The values the ledgers take and return: admit requests, charges, decisions, usage, errors.

Money inside the ledgers is integer nano-USD (1e-9 USD): sums and comparisons against a cap are
exact (no float drift across thousands of settles).

Bounds (what makes "no overflow, ever" hold): one call carries at most ``MAX_TOKENS`` (10^9)
input and 10^9 output tokens and at most ``MAX_COST_USD`` ($10^9, 10^18 nano-USD); every counter
the ledgers keep saturates at ``COUNTER_MAX`` (2^61) instead of wrapping, so even
``used + reserved + estimate`` of full counters (at most 2^62 + 10^18 < 2^63) never overflows a
signed 64-bit integer.
Every cap is below the ceiling (``max_tokens`` <= 10^15, ``max_cost_usd`` <= $10^9), so a
saturated counter is over every cap and saturation never changes a decision.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Literal

import msgspec

from sidecar.errors import StoreUnavailable as _StoreDown

NANO_PER_USD = 1_000_000_000
MAX_TOKENS = 1_000_000_000
MAX_COST_USD = 1_000_000_000.0
COUNTER_MAX = 2**61

BudgetReason = Literal["token_budget_exceeded", "cost_budget_exceeded"]
LadderStepName = Literal["warn", "suggest", "restrict"]
Reason = Literal[
    "token_budget_exceeded",
    "cost_budget_exceeded",
    "step_limit_exceeded",
    "tool_call_limit_exceeded",
    "time_limit_exceeded",
    "loop_detected",
    "prompt_injection_detected",
    "tool_denied",
    "tool_args_invalid",
    "path_denied",
    "command_denied",
    "approval_required",
    "tool_rate_limited",
    "expensive_tool_refused",
]
# Refusals by tool policy (403): the call is not allowed as asked, waiting will not help.
FORBIDDEN_REASONS = frozenset({
    "tool_denied", "tool_args_invalid", "path_denied", "command_denied", "approval_required",
})  # fmt: skip


def to_nano(usd: float) -> int:
    """USD → integer nano-USD, rounded to nearest, clamped to [0, MAX_COST_USD]."""
    if not usd > 0:  # also NaN
        return 0
    return round(min(usd, MAX_COST_USD) * NANO_PER_USD)


def to_usd(nano: int) -> float:
    """Integer nano-USD → USD."""
    return nano / NANO_PER_USD


def add(total: int, amount: int) -> int:
    """``total + amount``, saturating at :data:`COUNTER_MAX`."""
    s = total + amount
    return s if s < COUNTER_MAX else COUNTER_MAX


class StoreUnavailable(_StoreDown):
    """The budget store cannot be reached (or cannot persist) and the answer depends on it:
    an admit under ``fail_closed``, a settle or a charge (HTTP 503). A subclass of the event
    store's error, so every route that answers 503 for one answers it for the other."""


class CapacityExceeded(StoreUnavailable):
    """The ledger holds as much per-scope or per-request state as it may
    (``budgets.max_counters``, ``budgets.max_reservations``): a new budget scope or
    reservation is refused (HTTP 503 with Retry-After) rather than granted unaccounted or
    paid for by forgetting usage. ``part`` names the bound."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part


class UnknownBudget(KeyError):
    """No policy exists for the scope and id asked about (HTTP 404)."""


class InvalidBudgetInput(ValueError):
    """A value the ledger cannot store (U+0000, too long, out of range): HTTP 422 naming
    ``field``. Raised for that one request only, never for the others decided with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AnyTenant:
    """The settle of a tenantless (admin) caller: any owner matches."""

    def __repr__(self) -> str:
        return "ANY_TENANT"


ANY_TENANT = AnyTenant()


class AdmitRequest(msgspec.Struct, kw_only=True, frozen=True):
    """What the ledger needs from ``POST /v1/admit``: who, which model, and the estimate.

    ``cost_usd`` is the estimated cost of ``input_tokens + max_output_tokens`` (the caller
    prices it); ``model`` is the price-table name so per-model budgets match every alias.
    ``owner_tenant`` is the tenant the reservation belongs to (default: ``tenant``).
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


class Charge(msgspec.Struct, kw_only=True):
    """Actual usage to charge once, identified by ``charge_id`` (idempotent).

    With ``reservation_id`` it settles that reservation when the reservation is open (or
    expired within ``late_settle_s``) and owned by ``tenant``. Without one, or when the
    reservation is unknown to the ledger (never made, foreign, or long gone) and ``direct`` is
    true, it is charged to every budget applying to (``user_id``, ``tenant``, ``model``) now.
    ``cost_usd`` None means: priced with the price table from the tokens and the model (the
    reservation's model for a settle). ``usage_unknown`` (nobody reported the token counts)
    settles a reservation at its estimate, never at zero. ``seen_before`` tells the ledger the
    charge may have been applied before (a resent event), so it must look its id up in its
    durable record.
    """

    charge_id: str
    reservation_id: str | None = None
    tenant: str | AnyTenant | None = None
    user_id: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int | None = None
    cost_usd: float | None = None
    direct: bool = True
    seen_before: bool = False
    usage_unknown: bool = False

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Outcome(IntEnum):
    """What a charge did."""

    SETTLED = 1  # settled its reservation
    CHARGED = 2  # charged directly to the budgets that apply
    DUPLICATE = 3  # this charge id (or this reservation) was charged before: nothing done
    UNKNOWN = 4  # the reservation is unknown or not the tenant's, and direct is false
    NOTHING = 5  # no reservation and no budget applies: nothing to charge


class Usage(msgspec.Struct, kw_only=True):
    """``GET /v1/usage/{scope}/{id}``; window bounds in ISO 8601."""

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
    ``usage`` is that budget's usage; ``retry_after_s`` the earliest time the same request
    could fit (when holds block: until enough of them expire; when used tokens or cost block:
    the window reset, or for a rolling window until enough charges age out; absent when it
    never fits). ``degraded`` marks an answer given while the store is unreachable or cannot
    persist (``fail_open``)."""

    allowed: bool
    reason: Reason | None = None
    reservation_id: str | None = None
    limit: dict[str, Any] | None = None
    usage: Usage | None = None
    retry_after_s: float | None = None
    warnings: list[BudgetWarning] = msgspec.field(default_factory=list)
    degraded: bool = False
    injection: dict[str, Any] | None = None
    # Tool policy: the argument that failed (``args.path``), the approval to wait for.
    field: str | None = None
    approval_id: str | None = None
    message: str | None = None
    # Degradation ladder: ``warn``, ``suggest``, ``restrict`` (expensive tools refused); with
    # ``suggest`` and ``restrict`` a cheaper model and its price per million tokens.
    step: LadderStepName | None = None
    suggested_model: str | None = None
    suggested_price: dict[str, float] | None = None

    @property
    def http_status(self) -> int:
        if self.allowed:
            return 200
        return 403 if self.reason in FORBIDDEN_REASONS else 429

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the HTTP answer."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


class LedgerStats(msgspec.Struct, kw_only=True, frozen=True):
    """What ``/metrics`` reads of a ledger. ``open_reservations``: this sidecar's on the
    in-process ledger; every sidecar's on PostgreSQL (counted each housekeeping round)."""

    open_reservations: int = 0
    expired: int = 0
    settles: int = 0
    store_errors: int = 0

    @classmethod
    def of(cls, counters: dict[str, int]) -> LedgerStats:
        """From a ledger's ``stats()`` counters."""
        return cls(
            open_reservations=counters.get("open_reservations", 0),
            expired=counters.get("expired", 0),
            settles=counters.get("settles", 0),
            store_errors=counters.get("store_errors", 0),
        )
