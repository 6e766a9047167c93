"""The budget ledger protocol and the decision logic both ledgers share.

The protocol (reserve → settle → release) is what makes a budget hold:

- ``admit`` reserves the estimate (input tokens + max output tokens, and its cost) on every
  budget that applies, all or none, and only if ``used + reserved + estimate <= cap`` holds for
  each. Granted reservations therefore never exceed a cap, whatever the concurrency.
- ``charge`` charges actual usage once per charge id: through its reservation (turning the hold
  into the actual usage, freeing the difference) or, when it names none, directly to every
  budget that applies. A second charge with the same id, or a second settle of a reservation,
  changes nothing. A reservation belongs to the tenant that made it: another tenant's settle
  gets the answer an unknown id gets.
- A reservation not settled within ``reservation_ttl_s`` expires and its hold is released (a
  crashed agent does not lock a budget); settling it within ``late_settle_s`` after that still
  charges its actual usage, once.

Example: a user with ``max_tokens: 100000`` per day and 300 concurrent admits of 1,000 tokens:
exactly 100 are granted; settling one at 400 tokens frees 600, so the next admit of 600 fits.

Long module: the protocol and the decision logic both ledgers share (windows, limits, retry
times, checks on hostile amounts), so that the two ledgers cannot drift apart.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec

from sidecar.budgets.config import BudgetPolicy, BudgetPolicyEntry, BudgetsConfig, Scope
from sidecar.budgets.consistency import ConsistencyReport
from sidecar.budgets.model import (
    ANY_TENANT,
    MAX_TOKENS,
    AdmitRequest,
    AnyTenant,
    BudgetReason,
    BudgetWarning,
    Charge,
    Decision,
    InvalidBudgetInput,
    Outcome,
    UnknownBudget,
    Usage,
    to_nano,
    to_usd,
)
from sidecar.budgets.policies import SEP, Applied, BudgetRef, PolicySet, apply_policy
from sidecar.budgets.windows import WindowClock

Clock = Callable[[], float]
# (tokens_used, cost_used_nano, tokens_reserved, cost_reserved_nano)
Counts = tuple[int, int, int, int]
ZERO: Counts = (0, 0, 0, 0)
# A hold's release: (time, tokens, cost nano) freed at that time.
Release = tuple[float, int, int]
SETTLE_PREFIX = "settle" + SEP
MAX_TEXT_BYTES = 256
# Releases looked at to compute retry_after_s; past this the answer is an upper bound.
MAX_RELEASES = 10_000


class Pricer(Protocol):
    """What :class:`sidecar.pricing.PriceTable` offers."""

    def cost(
        self, model: str | None, input_tokens: int, output_tokens: int, cached: int | None = ...
    ) -> tuple[float, bool]: ...


class BudgetLedger(Protocol):
    """What the app factory and the routes use; both ledgers implement it."""

    config: BudgetsConfig

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def admit(self, request: AdmitRequest) -> Decision: ...
    async def charge(self, charges: Sequence[Charge]) -> list[Outcome]: ...
    async def settle(
        self,
        reservation_id: str,
        *,
        input_tokens: int,
        output_tokens: int = 0,
        cost_usd: float | None = None,
        cached_input_tokens: int | None = None,
        tenant: str | AnyTenant | None = ANY_TENANT,
    ) -> bool: ...
    async def usage(self, scope: Scope, id_: str, model: str | None = None) -> Usage: ...
    async def put_policy(self, scope: Scope, id_: str, policy: BudgetPolicy) -> None: ...
    async def delete_policy(self, scope: Scope, id_: str, model: str | None = None) -> bool: ...
    async def current_policies(self) -> list[BudgetPolicyEntry]: ...
    def policies(self) -> list[BudgetPolicyEntry]: ...
    def applicable(
        self, user_id: str | None, tenant: str | None, model: str | None
    ) -> list[Any]: ...
    def use_config_policies(self, entries: list[BudgetPolicyEntry]) -> None: ...
    async def expire(self) -> int: ...
    async def check_consistency(self) -> ConsistencyReport: ...
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


def check_text(field: str, value: str | None) -> None:
    """Refuse text no ledger may store: U+0000, the key separator U+001F, over 256 bytes."""
    if value is None:
        return
    if "\x00" in value or SEP in value:
        raise InvalidBudgetInput(field, f"{field} must not contain U+0000 or U+001F")
    if len(value) > MAX_TEXT_BYTES // 4 and len(value.encode("utf-8", "surrogatepass")) > (
        MAX_TEXT_BYTES
    ):
        raise InvalidBudgetInput(field, f"{field} must be at most {MAX_TEXT_BYTES} bytes")


def check_request(request: AdmitRequest) -> None:
    check_text("user_id", request.user_id)
    check_text("tenant", request.tenant)
    check_text("model", request.model)
    for name in ("input_tokens", "max_output_tokens"):
        value = getattr(request, name)
        if not 0 <= value <= MAX_TOKENS:
            raise InvalidBudgetInput(name, f"{name} must be within 0..{MAX_TOKENS}")


# Text this short is within MAX_TEXT_BYTES whatever its characters (at most 4 UTF-8 bytes each).
_SHORT_TEXT = MAX_TEXT_BYTES // 4


def _plain(value: str | None) -> bool:
    """``value`` passes :func:`check_text` for sure, by a check cheaper than it."""
    return value is None or (len(value) <= _SHORT_TEXT and "\x00" not in value and SEP not in value)


def check_charge(charge: Charge) -> None:
    """Refuse a charge no ledger may store (:class:`InvalidBudgetInput` names the field)."""
    tenant = charge.tenant
    if (
        _plain(charge.reservation_id) and _plain(charge.user_id) and _plain(charge.model)
        and (tenant is None or isinstance(tenant, AnyTenant) or _plain(tenant))
        and 0 <= charge.input_tokens <= MAX_TOKENS and 0 <= charge.output_tokens <= MAX_TOKENS
        and len(charge.charge_id) <= MAX_TEXT_BYTES and "\x00" not in charge.charge_id
    ):  # fmt: skip
        return  # the common case; anything else gets the field-by-field checks below
    check_text("reservation_id", charge.reservation_id)
    check_text("user_id", charge.user_id)
    if not isinstance(charge.tenant, AnyTenant):
        check_text("tenant", charge.tenant)
    check_text("model", charge.model)
    for name in ("input_tokens", "output_tokens"):
        value = getattr(charge, name)
        if not 0 <= value <= MAX_TOKENS:
            raise InvalidBudgetInput(name, f"{name} must be within 0..{MAX_TOKENS}")
    if len(charge.charge_id.encode("utf-8", "surrogatepass")) > 4 * MAX_TEXT_BYTES or (
        "\x00" in charge.charge_id
    ):
        raise InvalidBudgetInput("id", "event id must be at most 256 bytes, without U+0000")


def owner_matches(owner: str | None, tenant: str | AnyTenant | None) -> bool:
    return isinstance(tenant, AnyTenant) or owner == tenant


def release_time(need_t: int, need_c: int, releases: Iterable[Release]) -> float | None:
    """The earliest time at which the releases (sorted by time) free ``need`` of both."""
    freed_t = freed_c = 0
    for at, tokens, cost in releases:
        freed_t += tokens
        freed_c += cost
        if freed_t >= need_t and freed_c >= need_c:
            return at
    return None


class LedgerCore:
    """Policies, windows, counters and the shape of decisions; storage is the subclass's."""

    def __init__(
        self, config: BudgetsConfig, clock: Clock = time.time, pricer: Pricer | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.pricer = pricer
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
            "charged_direct": 0,
            "charge_duplicates": 0,
            "expired": 0,
            "fail_open_admits": 0,
            "store_errors": 0,
            "state_evictions_counters": 0,
            "state_refusals_counters": 0,
            "state_refusals_reservations": 0,
            "state_refusals_policies": 0,
        }

    def check_policy_room(self, scope: Scope, id_: str, model: str | None) -> None:
        """:class:`InvalidBudgetInput` when a new policy would pass ``max_policies`` (runtime
        and configured together; replacing an existing one always works)."""
        if (scope, id_, model) in self._policies:
            return
        if len(self._policies) >= self.config.max_policies:
            self.counters["state_refusals_policies"] += 1
            raise InvalidBudgetInput(
                "id", f"at most {self.config.max_policies} budget policies: delete some first"
            )

    def use_config_policies(self, entries: list[BudgetPolicyEntry]) -> None:
        """Replace the configuration's policies (before :meth:`start`): used to key them by the
        pseudonyms of ids holding PII."""
        self.config = msgspec.structs.replace(self.config, policies=entries)
        self._policies = PolicySet(entries)

    def policies(self) -> list[BudgetPolicyEntry]:
        """Every policy in force as this process knows it (configuration and runtime)."""
        return self._policies.entries()

    async def current_policies(self) -> list[BudgetPolicyEntry]:
        """Every policy in force now, as every replica applies it."""
        return self._policies.entries()

    def applicable(self, user_id: str | None, tenant: str | None, model: str | None) -> list[Any]:
        """The budgets a request counts against (:class:`~sidecar.budgets.policies.Applied`)."""
        return self._policies.applicable(user_id, tenant, model)

    async def settle(
        self,
        reservation_id: str,
        *,
        input_tokens: int,
        output_tokens: int = 0,
        cost_usd: float | None = None,
        cached_input_tokens: int | None = None,
        tenant: str | AnyTenant | None = ANY_TENANT,
    ) -> bool:
        """Charge a reservation's actual usage once (``POST /v1/budgets/settle``); False for
        an unknown, foreign, already settled or long expired id. Without ``cost_usd`` the
        tokens are priced for the reservation's model."""
        charge = Charge(
            charge_id=SETTLE_PREFIX + reservation_id, reservation_id=reservation_id,
            tenant=tenant, input_tokens=input_tokens, output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens, cost_usd=cost_usd, direct=False,
        )  # fmt: skip
        [outcome] = await self.charge([charge])  # type: ignore[attr-defined]
        return bool(outcome == Outcome.SETTLED)

    def cost_nano(self, charge: Charge, model: str | None) -> int:
        """The charge's cost: as given, else priced with the price table."""
        if charge.cost_usd is not None:
            return to_nano(charge.cost_usd)
        if self.pricer is None:
            return 0
        usd, _ = self.pricer.cost(
            model, charge.input_tokens, charge.output_tokens, charge.cached_input_tokens
        )
        return to_nano(usd)

    def slots(self, request: AdmitRequest, now: float) -> list[Slot]:
        return self._slots(request.user_id, request.tenant, request.model, now)

    def charge_slots(self, charge: Charge, now: float) -> list[Slot]:
        """The budgets a direct charge goes to."""
        tenant = None if isinstance(charge.tenant, AnyTenant) else charge.tenant
        return self._slots(charge.user_id, tenant, charge.model, now)

    def _slots(
        self, user_id: str | None, tenant: str | None, model: str | None, now: float
    ) -> list[Slot]:
        out = []
        for a in self._policies.applicable(user_id, tenant, model):
            start, end = self.windows.bounds(a.window, now)
            out.append(Slot(a, start, end))
        return out

    def late_limit(self, expires_at: float, now: float) -> bool:
        """Whether an expired reservation is past its late-settle grace (as if pruned)."""
        return expires_at + self.config.late_settle_s < now

    def lookup(self, scope: Scope, id_: str, model: str | None) -> Applied:
        """The budget ``usage`` reports on, or :class:`UnknownBudget`."""
        policy = self._policies.get(scope, id_, model)
        if policy is None:
            raise UnknownBudget(
                f"no budget for {scope}/{id_}" + (f" model {model}" if model else "")
            )
        return apply_policy(BudgetRef(scope, id_, model), policy)

    def granted(
        self, rid: str, slots: list[Slot], after: list[Counts], est_t: int, est_c: int,
        degraded: bool = False,
    ) -> Decision:  # fmt: skip
        self.counters["granted"] += 1
        warnings = []
        for slot, counts in zip(slots, after, strict=True):
            warnings.extend(self._crossings(slot.applied, counts, est_t, est_c))
        self.counters["warnings"] += len(warnings)
        return Decision(allowed=True, reservation_id=rid, warnings=warnings, degraded=degraded)

    def retry_at(
        self, slot: Slot, counts: Counts, est_t: int, est_c: int, now: float,
        releases: Callable[[], Iterable[Release]],
    ) -> float | None:  # fmt: skip
        """The earliest time the same request could fit on ``slot`` (None: never).

        ``releases()`` yields the budget's holds in the order they let go: open reservations by
        expiry (calendar windows), or every hold by the time it ages out or expires (rolling).
        """
        policy = slot.applied.policy
        cap_t, cap_c = policy.max_tokens, limit_nano(policy)
        if (cap_t is not None and est_t > cap_t) or (cap_c is not None and est_c > cap_c):
            return None
        tu, cu, tr, cr = counts
        need_t = 0 if cap_t is None else max(0, tu + tr + est_t - cap_t)
        need_c = 0 if cap_c is None else max(0, cu + cr + est_c - cap_c)
        if slot.applied.window.rolling:
            at = release_time(need_t, need_c, releases())
            return now + slot.rolling_s if at is None else max(now, at)
        if not self.needs_releases(slot, counts, est_t, est_c):
            return slot.end
        at = release_time(need_t, need_c, releases())
        if at is None:
            at = now + self.config.reservation_ttl_s
        return min(slot.end, max(now, at))

    @staticmethod
    def needs_releases(slot: Slot, counts: Counts, est_t: int, est_c: int) -> bool:
        """Whether :meth:`retry_at` will look at the holds: a rolling window, or a calendar
        window where the holds (not the used amount) stand in the way of an estimate that
        fits the cap."""
        policy = slot.applied.policy
        cap_t, cap_c = policy.max_tokens, limit_nano(policy)
        if (cap_t is not None and est_t > cap_t) or (cap_c is not None and est_c > cap_c):
            return False
        if slot.applied.window.rolling:
            return True
        tu, cu, _, _ = counts
        return not (
            (cap_t is not None and tu + est_t > cap_t) or (cap_c is not None and cu + est_c > cap_c)
        )

    def denied(
        self, slot: Slot, counts: Counts, est_t: int, est_c: int, now: float,
        retry_at: float | None,
    ) -> Decision:  # fmt: skip
        policy = slot.applied.policy
        reason = over_limit(policy, counts, est_t, est_c) or "token_budget_exceeded"
        self.counters["denied_" + reason] += 1
        retry = None if retry_at is None else math.ceil(max(0.0, retry_at - now) * 1000) / 1000
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
