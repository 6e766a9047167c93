"""An executable specification of the budget ledger: plain dicts, no cleverness.

The model-based tests drive a real sidecar and this model with the same operations and compare
every answer. It implements the documented rules directly: reserve ``input + max_output`` (and
its price) on every applicable budget, all or none, only when ``used + reserved + estimate <=
cap`` holds on each (first failing budget in key order denies, tokens before cost); a charge
settles its reservation (open, or expired within ``late_settle_s``, owned by its tenant) or,
for an event naming none or an unknown one, is charged directly to the budgets applying now;
each charge id counts once and each reservation settles once; holds expire after the TTL;
calendar windows (UTC minute, hour, day) reset at their boundary; rolling holds age out after
the window. It also asserts the promise itself at each grant: ``used + reserved <= cap``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sidecar.pricing import PriceTable

SEP = "\x1f"
CAL = {"minute": 60, "hour": 3600, "day": 86400}


def nano(usd: float) -> int:
    return round(min(usd, 1e9) * 1e9) if usd > 0 else 0


@dataclass
class Policy:
    window: str
    max_tokens: int | None
    max_cost_usd: float | None

    @property
    def rolling_s(self) -> int:
        return (
            int(self.window.split(":")[1][:-1]) * {"s": 1, "m": 60, "h": 3600}[self.window[-1]]
            if self.window.startswith("rolling:")
            else 0
        )

    def bounds(self, now: float) -> tuple[float, float]:
        if self.rolling_s:
            return -1.0, math.inf
        step = CAL[self.window]
        start = now - now % step
        return start, start + step

    @property
    def wid(self) -> str:
        return f"rolling:{self.rolling_s}s" if self.rolling_s else self.window

    @property
    def cap_c(self) -> int | None:
        return None if self.max_cost_usd is None else nano(self.max_cost_usd)


@dataclass
class Hold:
    rid: str
    ts: float
    tokens: int
    cost: int
    settled: bool


@dataclass
class Reservation:
    rid: str
    expires_at: float
    tokens: int
    cost: int
    keys: list[tuple[str, float]]
    tenant: str | None
    model: str | None


@dataclass
class Budget:
    key: str
    policy: Policy
    start: float
    end: float

    @property
    def ck(self) -> tuple[str, float]:
        return (self.key, self.start)


@dataclass
class Answer:
    allowed: bool
    reason: str | None = None
    budget: tuple[str, str, str | None] | None = None
    retry_after_s: float | None = None
    budgets: list[Budget] = field(default_factory=list)


class BudgetModel:
    def __init__(self, prices: PriceTable, ttl: float, late: float) -> None:
        self.prices, self.ttl, self.late = prices, ttl, late
        self.policies: dict[tuple[str, str, str | None], Policy] = {}
        self.counters: dict[tuple[str, float], list[int]] = {}
        self.reservations: dict[str, Reservation] = {}
        self.settled: set[str] = set()
        self.charged: set[str] = set()
        self.holds: dict[str, list[Hold]] = {}
        self.now = 0.0
        self.charges_total = 0  # every token charged, for the final check

    # -- policies --------------------------------------------------------------------------

    def put(self, scope: str, id_: str, model: str | None, policy: Policy) -> None:
        self.policies[(scope, id_, model)] = policy

    def delete(self, scope: str, id_: str, model: str | None) -> bool:
        return self.policies.pop((scope, id_, model), None) is not None

    def _get(self, scope: str, id_: str, model: str | None) -> Policy | None:
        p = self.policies.get((scope, id_, model))
        if p is None and scope != "global":
            p = self.policies.get((scope, "*", model))
        return p

    def budgets(self, user: str | None, tenant: str | None, model: str | None) -> list[Budget]:
        found = []
        for m in {None, model}:
            for scope, id_ in (("user", user), ("tenant", tenant)):
                if id_ is not None and (p := self._get(scope, id_, m)) is not None:
                    found.append((scope, id_, m, p))
            for (scope, id_, pm), p in self.policies.items():
                if scope == "global" and pm == m:
                    found.append((scope, id_, m, p))
        out = []
        for scope, id_, m, p in found:
            start, end = p.bounds(self.now)
            out.append(Budget(f"{scope}{SEP}{id_}{SEP}{m or ''}{SEP}{p.wid}", p, start, end))
        out.sort(key=lambda b: b.key)
        return out

    # -- time --------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        self.now = now
        for r in list(self.reservations.values()):
            if r.expires_at <= now and r.rid not in self._expired:
                self._expire(r)

    _expired: set[str]

    def _expire(self, r: Reservation) -> None:
        self._expired.add(r.rid)
        for ck in r.keys:
            if ck[1] == -1.0:
                hold = self._hold(ck[0], r.rid)
                if hold is None:
                    continue
                hold.tokens = hold.cost = 0
            c = self.counters.get(ck)
            if c is not None:
                c[2] -= r.tokens
                c[3] -= r.cost

    def _hold(self, bkey: str, rid: str) -> Hold | None:
        return next((h for h in self.holds.get(bkey, []) if h.rid == rid), None)

    def _age(self, b: Budget) -> None:
        width = b.policy.rolling_s
        if not width:
            return
        c = self._counter(b)
        keep = []
        for h in self.holds.get(b.key, []):
            if h.ts <= self.now - width:
                if h.settled:
                    c[0] -= h.tokens
                    c[1] -= h.cost
                else:
                    c[2] -= h.tokens
                    c[3] -= h.cost
            else:
                keep.append(h)
        self.holds[b.key] = keep

    def _counter(self, b: Budget) -> list[int]:
        return self.counters.setdefault(b.ck, [0, 0, 0, 0])

    # -- admit -------------------------------------------------------------------------------

    def estimate(self, model: str | None, input_tokens: int, max_out: int) -> tuple[int, int]:
        usd, _ = self.prices.cost(model, input_tokens, max_out, 0)
        return input_tokens + max_out, nano(usd)

    def resolve(self, model: str | None) -> str | None:
        return None if model is None else (self.prices.resolve(model) or model)

    def admit(self, rid: str | None, user: str | None, tenant: str | None, model: str | None,
              input_tokens: int, max_out: int) -> Answer:  # fmt: skip
        est_t, est_c = self.estimate(model, input_tokens, max_out)
        budgets = self.budgets(user, tenant, self.resolve(model))
        if not budgets:
            return Answer(True)
        for b in budgets:
            self._age(b)
            tu, cu, tr, cr = self._counter(b)
            p = b.policy
            reason = None
            if p.max_tokens is not None and tu + tr + est_t > p.max_tokens:
                reason = "token_budget_exceeded"
            elif p.cap_c is not None and cu + cr + est_c > p.cap_c:
                reason = "cost_budget_exceeded"
            if reason:
                scope, id_, m = b.key.split(SEP)[:3]
                retry = self._retry(b, est_t, est_c)
                return Answer(False, reason, (scope, id_, m or None), retry, budgets)
        assert rid is not None
        for b in budgets:
            c = self._counter(b)
            c[2] += est_t
            c[3] += est_c
            if b.policy.max_tokens is not None:  # the promise itself
                assert c[0] + c[2] <= b.policy.max_tokens
            if b.policy.cap_c is not None:
                assert c[1] + c[3] <= b.policy.cap_c
            if b.policy.rolling_s:
                self.holds.setdefault(b.key, []).append(Hold(rid, self.now, est_t, est_c, False))
        self.reservations[rid] = Reservation(
            rid, self.now + self.ttl, est_t, est_c, [b.ck for b in budgets], tenant,
            self.resolve(model),
        )  # fmt: skip
        return Answer(True, budgets=budgets)

    def _retry(self, b: Budget, est_t: int, est_c: int) -> float | None:
        p = b.policy
        cap_t, cap_c = p.max_tokens, p.cap_c
        if (cap_t is not None and est_t > cap_t) or (cap_c is not None and est_c > cap_c):
            return None
        tu, cu, tr, cr = self._counter(b)
        need_t = 0 if cap_t is None else max(0, tu + tr + est_t - cap_t)
        need_c = 0 if cap_c is None else max(0, cu + cr + est_c - cap_c)
        if p.rolling_s:
            rel = []
            for h in self.holds.get(b.key, []):
                at = h.ts + p.rolling_s
                r = self.reservations.get(h.rid)
                if not h.settled and r is not None and h.rid not in self._expired:
                    at = min(at, r.expires_at)
                rel.append((at, h.tokens, h.cost))
            at_ = self._release(need_t, need_c, sorted(rel))
            at_ = self.now + p.rolling_s if at_ is None else max(self.now, at_)
        else:
            used_blocks = (cap_t is not None and tu + est_t > cap_t) or (
                cap_c is not None and cu + est_c > cap_c
            )
            if used_blocks:
                at_ = b.end
            else:
                rel = sorted(
                    (r.expires_at, r.tokens, r.cost) for r in self.reservations.values()
                    if b.ck in r.keys and r.rid not in self._expired
                )  # fmt: skip
                found = self._release(need_t, need_c, rel)
                at_ = min(b.end, max(self.now, found if found is not None else self.now + self.ttl))
        return math.ceil(max(0.0, at_ - self.now) * 1000) / 1000

    @staticmethod
    def _release(need_t: int, need_c: int, rel: list[tuple[float, int, int]]) -> float | None:
        ft = fc = 0
        for at, t, c in rel:
            ft += t
            fc += c
            if ft >= need_t and fc >= need_c:
                return at
        return None

    # -- charges -----------------------------------------------------------------------------

    def settle(self, rid: str, input_tokens: int, output_tokens: int, cost: float | None,
               tenant: Any = "any", charge_id: str | None = None) -> bool:  # fmt: skip
        r = self.reservations.get(rid)
        if r is None or (tenant != "any" and r.tenant != tenant):
            return False
        if r.expires_at + self.late < self.now:
            return False
        if cost is None:
            usd, _ = self.prices.cost(r.model, input_tokens, output_tokens, None)
            cost_n = nano(usd)
        else:
            cost_n = nano(cost)
        tokens = input_tokens + output_tokens
        was_open = rid not in self._expired
        for ck in r.keys:
            if ck[1] == -1.0:
                hold = self._hold(ck[0], rid)
                if hold is None:
                    continue
                hold.tokens, hold.cost, hold.settled = tokens, cost_n, True
            c = self.counters.get(ck)
            if c is None:
                continue
            if was_open:
                c[2] -= r.tokens
                c[3] -= r.cost
            c[0] += tokens
            c[1] += cost_n
        del self.reservations[rid]
        self.settled.add(rid)
        self.charged.add(charge_id or "settle" + SEP + rid)
        self.charges_total += tokens
        return True

    def event(self, ev: dict[str, Any]) -> str:
        """Charge an ``llm_call`` event dict; returns what happened."""
        cid = f"{ev.get('tenant') or ''}{SEP}{ev['id']}"
        if cid in self.charged:
            return "duplicate"
        usd, _ = self.prices.cost(ev["model"], ev["input_tokens"], ev["output_tokens"],
                                  ev.get("cached_input_tokens"))  # fmt: skip
        rid = ev.get("reservation_id")
        if rid:
            r = self.reservations.get(rid)
            if (
                r is not None
                and r.tenant == ev.get("tenant")
                and not (r.expires_at + self.late < self.now)
            ):
                self.settle(rid, ev["input_tokens"], ev["output_tokens"], usd, ev.get("tenant"),
                            cid)  # fmt: skip
                return "settled"
            if r is None and rid in self.settled:
                return "duplicate"
        budgets = self.budgets(ev.get("user_id"), ev.get("tenant"), self.resolve(ev["model"]))
        if not budgets:
            return "nothing"
        tokens, cost = ev["input_tokens"] + ev["output_tokens"], nano(usd)
        for b in budgets:
            self._age(b)
            c = self._counter(b)
            c[0] += tokens
            c[1] += cost
            if b.policy.rolling_s:
                self.holds.setdefault(b.key, []).append(Hold(cid, self.now, tokens, cost, True))
        self.charged.add(cid)
        self.charges_total += tokens
        return "charged"

    # -- reads -------------------------------------------------------------------------------

    def usage(self, scope: str, id_: str, model: str | None) -> tuple[int, int, int] | None:
        p = self._get(scope, id_, model)
        if p is None:
            return None
        start, end = p.bounds(self.now)
        b = Budget(f"{scope}{SEP}{id_}{SEP}{model or ''}{SEP}{p.wid}", p, start, end)
        self._age(b)
        tu, cu, tr, _ = self.counters.get(b.ck, [0, 0, 0, 0])
        return tu, cu, tr


def new_model(prices: PriceTable, ttl: float, late: float) -> BudgetModel:
    m = BudgetModel(prices, ttl, late)
    m._expired = set()
    return m
