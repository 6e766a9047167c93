"""Configuration of the ``budgets`` section and the budget policy type.

A policy caps what one scope may spend in one window::

    budgets:
      timezone: Asia/Shanghai          # calendar windows start at local midnight
      reservation_ttl_s: 300
      fail_policy: fail_closed
      policies:
        - {scope: user, id: "*", window: 1d, max_tokens: 100000, warn_at: 0.8}
        - {scope: tenant, id: acme, window: month, max_cost_usd: 500}
        - {scope: global, id: all, window: "rolling:1h", max_tokens: 5000000}
        - {scope: user, id: alice, model: gpt-4o, window: 1h, max_cost_usd: 2}
        - {scope: user, id: bob, window: 1d, max_cost_usd: 5, warn_at: 0.5, suggest_at: 0.7,
           restrict_at: 0.9}
      cheaper_models: {gpt-4o: gpt-4o-mini}

``id: "*"`` gives every user (or tenant) its own budget with that policy unless one is set for
it by name. ``global`` policies apply to every request. ``model`` restricts a policy to calls of
that model (its price-table name, e.g. ``gpt-4o`` for ``gpt-4o-2024-08-06``).

The degradation ladder of a policy with ``suggest_at`` or ``restrict_at``: at ``warn_at`` of a
cap an admit answers ``step: warn``; at ``suggest_at`` ``step: suggest`` with the cheaper model
of ``cheaper_models`` and its price; at ``restrict_at`` ``step: restrict`` and tools tagged
``expensive`` by their tool rule are refused; at the cap the admit is denied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Literal

import msgspec

from sidecar.budgets.windows import parse_window
from sidecar.validation import Id, Name

Scope = Literal["user", "tenant", "global"]
SCOPES: tuple[Scope, ...] = ("user", "tenant", "global")
FailPolicy = Literal["fail_open", "fail_closed"]
BudgetId = Id


class BudgetPolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A cap in one window: tokens, cost or both; ``warn_at`` is a fraction of each cap."""

    window: str = "1d"
    max_tokens: Annotated[int, msgspec.Meta(ge=0, le=10**15)] | None = None
    max_cost_usd: Annotated[float, msgspec.Meta(ge=0, le=10**9)] | None = None
    warn_at: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = 0.8
    model: Name | None = None
    # The degradation ladder (fractions of each cap, like warn_at): from suggest_at an admit
    # names a cheaper model (budgets.cheaper_models); from restrict_at tools tagged expensive
    # are refused; the cap itself still denies.
    suggest_at: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    restrict_at: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None

    def __post_init__(self) -> None:
        parse_window(self.window)
        if self.max_tokens is None and self.max_cost_usd is None:
            raise ValueError("a budget needs max_tokens, max_cost_usd or both")
        if self.suggest_at and self.restrict_at and self.restrict_at < self.suggest_at:
            raise ValueError("restrict_at must not be below suggest_at")

    @property
    def has_ladder(self) -> bool:
        return self.suggest_at is not None or self.restrict_at is not None


class BudgetPolicyEntry(BudgetPolicy, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A policy as written in the configuration file: the policy plus its scope and id."""

    scope: Scope
    id: BudgetId


def masked_policies(
    entries: Iterable[BudgetPolicyEntry], mask: Callable[[str | None], str | None]
) -> list[BudgetPolicyEntry]:
    """The policies with ids and models as stored: ``mask`` turns one holding PII into its
    pseudonym (the one its events and admits are keyed by); the ``"*"`` template stays."""
    out = []
    for e in entries:
        id_ = e.id if e.id == "*" else (mask(e.id) or e.id)
        model = mask(e.model) if e.model is not None else None
        out.append(msgspec.structs.replace(e, id=id_, model=model))
    return out


class BudgetsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``budgets.<key>``. The ledger follows the store: PostgreSQL URL → shared and exact
    across sidecars; SQLite → exact in this process, persisted to the same file."""

    enabled: bool = True
    timezone: str = "UTC"
    reservation_ttl_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 300.0
    # How long an expired reservation still accepts a late settle (its actual usage is charged).
    late_settle_s: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    fail_policy: FailPolicy = "fail_open"
    # Output tokens assumed when an admit names no max_output_tokens.
    default_max_output_tokens: Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)] = 4096
    policies: list[BudgetPolicyEntry] = msgspec.field(default_factory=list)
    # The degradation ladder's model map: model (price-table name) → the cheaper one to suggest.
    cheaper_models: dict[str, str] = msgspec.field(default_factory=dict)
    # In-process ledger: group-commit interval of the durable journal.
    flush_interval_s: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.05
    # Expiry sweep, policy refresh (PostgreSQL) and pruning period.
    housekeeping_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    # Counters of calendar windows ended longer ago than this are deleted.
    counter_retention_s: Annotated[float, msgspec.Meta(ge=0)] = 40 * 86_400.0
    # Charges are kept one by one this long (a resent event or settle within it counts once),
    # then folded into per-window totals. At least reservation_ttl_s + late_settle_s.
    charge_dedup_s: Annotated[float, msgspec.Meta(gt=0)] = 86_400.0
    # PostgreSQL ledger.
    pool_min_size: Annotated[int, msgspec.Meta(ge=0)] = 1
    pool_max_size: Annotated[int, msgspec.Meta(ge=1)] = 8
    connect_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    statement_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    retry_interval_s: Annotated[float, msgspec.Meta(ge=0)] = 0.5
    # Admit batches of one process in flight at once (each decides up to 64 admits).
    max_inflight_batches: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    # false: a commit returns before its WAL flush (PostgreSQL's own crash may lose the last
    # few hundred ms of reservations; a sidecar crash loses nothing). More hot-row admits/s.
    synchronous_commit: bool = False
    table_prefix: Annotated[str, msgspec.Meta(pattern="^[a-z_][a-z0-9_]{0,30}$")] = "budget_"
    # Bounds of the in-process ledger's memory (docs/reliability.md#bounded-state). Past
    # max_counters, counters holding nothing are evicted; if none is, an admit needing a new
    # one is answered 503. Reservations (open, or expired within late_settle_s) past
    # max_reservations: admits are answered 503. Runtime policies past max_policies: 422.
    max_counters: Annotated[int, msgspec.Meta(ge=1)] = 200_000
    max_reservations: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    max_policies: Annotated[int, msgspec.Meta(ge=1)] = 50_000

    def __post_init__(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {self.timezone!r}") from exc
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        if self.charge_dedup_s < self.reservation_ttl_s + self.late_settle_s:
            raise ValueError("charge_dedup_s must be at least reservation_ttl_s + late_settle_s")
