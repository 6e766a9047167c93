"""The budget ledger protocol and the decision logic both ledgers share.

The protocol (reserve → settle → release) is what makes a budget hold:

- ``admit`` reserves the estimate (input tokens + max output tokens, and its cost) on every
  budget that applies, all or none, and only if ``used + reserved + estimate <= cap`` holds for
  each. Granted reservations therefore never exceed a cap, whatever the concurrency.
- ``settle(reservation_id, actual_tokens, actual_cost_usd)`` turns the hold into the actual
  usage (freeing the difference); a second settle of the same id returns False and counts
  nothing. Settling an expired reservation charges its actual usage (late events still count).
- A reservation not settled within ``reservation_ttl_s`` expires and its hold is released (a
  crashed agent does not lock a budget). A settle with 0 tokens releases a hold at once.

Example: a user with ``max_tokens: 100000`` per day and 300 concurrent admits of 1,000 tokens:
exactly 100 are granted; settling one at 400 tokens frees 600, so the next admit of 600 fits.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sidecar.budgets.config import BudgetPolicy, BudgetPolicyEntry, BudgetsConfig, Scope
from sidecar.budgets.model import (
    AdmitRequest,
    BudgetReason,
    BudgetWarning,
    Decision,
    UnknownBudget,
    Usage,
    to_nano,
    to_usd,
)
from sidecar.budgets.policies import Applied, BudgetRef, PolicySet, apply_policy
from sidecar.budgets.windows import WindowClock

Clock = Callable[[], float]
# (tokens_used, cost_used_nano, tokens_reserved, cost_reserved_nano)
Counts = tuple[int, int, int, int]
ZERO: Counts = (0, 0, 0, 0)


class BudgetLedger(Protocol):
    """What the app factory and the routes use; both ledgers implement it."""

    config: BudgetsConfig

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def admit(self, request: AdmitRequest) -> Decision: ...
    async def settle(
        self, reservation_id: str, actual_tokens: int, actual_cost_usd: float
    ) -> bool: ...
    async def usage(self, scope: Scope, id_: str, model: str | None = None) -> Usage: ...
    async def put_policy(self, scope: Scope, id_: str, policy: BudgetPolicy) -> None: ...
    async def delete_policy(self, scope: Scope, id_: str, model: str | None = None) -> bool: ...
    def policies(self) -> list[BudgetPolicyEntry]: ...
    async def expire(self) -> int: ...
    def stats(self) -> dict[str, int]: ...
    def status(self) -> dict[str, Any]: ...


class Slot:
    """A budget applying to one admit, with the bounds of its current window."""

    __slots__ = ("applied", "end", "start")

    def __init__(self, applied: Applied, start: float, end: float) -> None:
        self.applied = applied
        self.start = start
        self.end = end

    @property
    def rolling_s(self) -> float:
        return float(self.applied.window.seconds)


def new_reservation_id() -> str:
    return "rsv_" + secrets.token_hex(12)


def limit_nano(policy: BudgetPolicy) -> int | None:
    return None if policy.max_cost_usd is None else to_nano(policy.max_cost_usd)


def over_limit(policy: BudgetPolicy, counts: Counts, est_t: int, est_c: int) -> BudgetReason | None:
    """Which cap ``counts + estimate`` would exceed, tokens first."""
    tu, cu, tr, cr = counts
    if policy.max_tokens is not None and tu + tr + est_t > policy.max_tokens:
        return "token_budget_exceeded"
    cap = limit_nano(policy)
    if cap is not None and cu + cr + est_c > cap:
        return "cost_budget_exceeded"
    return None


class LedgerCore:
    """Policies, windows, counters and the shape of decisions; storage is the subclass's."""

    def __init__(self, config: BudgetsConfig, clock: Clock = time.time) -> None:
        self.config = config
        self.clock = clock
        self.tz = ZoneInfo(config.timezone)
        self.windows = WindowClock(self.tz)
        self._policies = PolicySet(config.policies)
        self.counters: dict[str, int] = {
            "admits": 0,
            "granted": 0,
            "denied_token_budget_exceeded": 0,
            "denied_cost_budget_exceeded": 0,
            "warnings": 0,
            "settles": 0,
            "settle_duplicates": 0,
            "expired": 0,
            "fail_open_admits": 0,
            "store_errors": 0,
        }

    def policies(self) -> list[BudgetPolicyEntry]:
        """Every policy in force (configuration and runtime)."""
        return self._policies.entries()

    def slots(self, request: AdmitRequest, now: float) -> list[Slot]:
        out = []
        for a in self._policies.applicable(request.user_id, request.tenant, request.model):
            start, end = self.windows.bounds(a.window, now)
            out.append(Slot(a, start, end))
        return out

    def lookup(self, scope: Scope, id_: str, model: str | None) -> Applied:
        """The budget ``usage`` reports on, or :class:`UnknownBudget`."""
        policy = self._policies.get(scope, id_, model)
        if policy is None:
            raise UnknownBudget(
                f"no budget for {scope}/{id_}" + (f" model {model}" if model else "")
            )
        return apply_policy(BudgetRef(scope, id_, model), policy)

    def granted(
        self, rid: str, slots: list[Slot], after: list[Counts], est_t: int, est_c: int
    ) -> Decision:
        self.counters["granted"] += 1
        warnings = []
        for slot, counts in zip(slots, after, strict=True):
            warnings.extend(self._crossings(slot.applied, counts, est_t, est_c))
        self.counters["warnings"] += len(warnings)
        return Decision(allowed=True, reservation_id=rid, warnings=warnings)

    def denied(
        self,
        slot: Slot,
        counts: Counts,
        est_t: int,
        est_c: int,
        now: float,
        oldest_hold_ts: float | None,
    ) -> Decision:
        policy = slot.applied.policy
        reason = over_limit(policy, counts, est_t, est_c) or "token_budget_exceeded"
        self.counters["denied_" + reason] += 1
        never = (reason == "token_budget_exceeded" and est_t > (policy.max_tokens or 0)) or (
            reason == "cost_budget_exceeded" and est_c > (limit_nano(policy) or 0)
        )
        retry: float | None = None
        if not never:
            if slot.applied.window.rolling:
                if oldest_hold_ts is not None:
                    retry = max(0.0, oldest_hold_ts + slot.rolling_s - now)
            else:
                retry = max(0.0, slot.end - now)
            retry = None if retry is None else math.ceil(retry * 1000) / 1000
        ref = slot.applied.ref
        limit: dict[str, Any] = {"scope": ref.scope, "id": ref.id, "window": policy.window}
        if ref.model:
            limit["model"] = ref.model
        if policy.max_tokens is not None:
            limit["max_tokens"] = policy.max_tokens
        if policy.max_cost_usd is not None:
            limit["max_cost_usd"] = policy.max_cost_usd
        return Decision(
            allowed=False,
            reason=reason,
            limit=limit,
            usage=self.make_usage(slot.applied, counts, now),
            retry_after_s=retry,
        )

    def _crossings(
        self, applied: Applied, counts: Counts, est_t: int, est_c: int
    ) -> list[BudgetWarning]:
        policy = applied.policy
        if policy.warn_at is None:
            return []
        tu, cu, tr, cr = counts
        out = []
        pairs = [
            ("tokens", tu + tr, est_t, policy.max_tokens),
            ("cost", cu + cr, est_c, limit_nano(policy)),
        ]
        for dim, total, est, cap in pairs:
            if not cap:
                continue
            threshold = policy.warn_at * cap
            if total - est < threshold <= total:
                ref = applied.ref
                out.append(
                    BudgetWarning(
                        scope=ref.scope,
                        id=ref.id,
                        model=ref.model,
                        window=policy.window,
                        dimension=dim,  # type: ignore[arg-type]
                        warn_at=policy.warn_at,
                        ratio=round(total / cap, 4),
                    )
                )
        return out

    def make_usage(self, applied: Applied, counts: Counts, now: float) -> Usage:
        tu, cu, tr, cr = counts
        policy = applied.policy
        start, end = self.windows.usage_bounds(applied.window, now)
        cap = limit_nano(policy)
        return Usage(
            tokens_used=tu,
            cost_usd=to_usd(cu),
            tokens_reserved=tr,
            remaining_tokens=None
            if policy.max_tokens is None
            else max(0, policy.max_tokens - tu - tr),
            remaining_cost_usd=None if cap is None else to_usd(max(0, cap - cu - cr)),
            window_start=self._iso(start),
            window_end=self._iso(end),
        )

    def _iso(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.tz).isoformat()
