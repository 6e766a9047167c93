"""A seeded random driver: the same operations on a real sidecar (or several) and the model.

Operations: policy PUT (new, raised, lowered) and DELETE on user / tenant / global budgets,
per model too, in calendar and rolling windows; admits (one at a time, and bursts of identical
concurrent admits spread over the replicas); settles with and without cost, under and over the
estimate, duplicate, late and unknown; ``llm_call`` events naming a reservation, naming none,
naming another tenant's, resent; clock jumps through expiry, late-settle limits and window
resets. After every operation the touched budgets' usage is compared with the model and, at
every grant, ``used + reserved <= cap`` is checked on the sidecar's own answer; every tenth
operation every budget is compared.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from sidecar.budgets.testclock import write_clock
from tests.budgets.budget_model import SEP, Answer, BudgetModel, Policy, nano

USERS = ["u1", "u2", "u3", "alice@example.com"]
TENANTS: list[str | None] = [None, "t1", "t2"]
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "claude-3-5-sonnet"]
WINDOWS = ["minute", "hour", "day", "rolling:90s", "rolling:30m"]
POLICY_IDS = {"user": [*USERS, "*"], "tenant": ["t1", "t2", "*"], "global": ["all", "eu"]}
JUMPS = [(1, 30), (7, 15), (30, 15), (61, 10), (125, 10), (400, 8), (700, 5), (3700, 5),
         (90_000, 2)]  # fmt: skip


class Mismatch(AssertionError):
    pass


@dataclass
class Granted:
    rid: str
    user: str
    tenant: str | None
    model: str
    est: int


@dataclass
class Counts:
    ops: int = 0
    admits: int = 0
    granted: int = 0
    denied: int = 0
    bursts: int = 0
    settles: int = 0
    events: int = 0
    resent: int = 0
    policy_changes: int = 0
    jumps: int = 0
    usage_checks: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class HttpTarget:
    """One or more sidecars over HTTP sharing a file clock; each call goes to a random one."""

    def __init__(self, urls: list[str], clock_path: str, http: aiohttp.ClientSession,
                 rng: random.Random) -> None:  # fmt: skip
        self.urls, self.clock_path, self.http, self.rng = urls, clock_path, http, rng

    def url(self) -> str:
        return self.rng.choice(self.urls)

    def set_clock(self, now: float) -> None:
        write_clock(self.clock_path, now)

    async def call(
        self, method: str, path: str, body: Any = None, url: str | None = None
    ) -> tuple[int, Any]:
        async with self.http.request(method, (url or self.url()) + path, json=body) as resp:
            return resp.status, await resp.json()

    async def put(self, scope: str, id_: str, model: str | None, p: Policy) -> None:
        body: dict[str, Any] = {"window": p.window, "max_tokens": p.max_tokens,
                                "max_cost_usd": p.max_cost_usd, "model": model}  # fmt: skip
        status, answer = await self.call(
            "PUT",
            f"/v1/budgets/{scope}/{quote(id_, safe='')}",
            {k: v for k, v in body.items() if v is not None},
        )
        if status != 200:
            raise Mismatch(f"PUT {scope}/{id_}: {status} {answer}")

    async def delete(self, scope: str, id_: str, model: str | None) -> bool:
        q = f"?model={quote(model)}" if model else ""
        status, answer = await self.call("DELETE", f"/v1/budgets/{scope}/{quote(id_, safe='')}{q}")
        if status not in (200, 404):
            raise Mismatch(f"DELETE {scope}/{id_}: {status} {answer}")
        return status == 200

    async def policies(self) -> list[dict[str, Any]]:
        status, answer = await self.call("GET", "/v1/budgets")
        assert status == 200, answer
        return list(answer["policies"])

    async def admit(self, body: dict[str, Any], url: str | None = None) -> tuple[int, Any]:
        return await self.call("POST", "/v1/admit", body, url)

    async def settle(self, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", "/v1/budgets/settle", body)

    async def event(self, ev: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", "/v1/events", ev)

    async def usage(self, scope: str, id_: str, model: str | None) -> tuple[int, int, int] | None:
        q = f"?model={quote(model)}" if model else ""
        status, answer = await self.call("GET", f"/v1/usage/{scope}/{quote(id_, safe='')}{q}")
        if status == 404:
            return None
        if status != 200:
            raise Mismatch(f"usage {scope}/{id_}: {status} {answer}")
        return answer["tokens_used"], round(answer["cost_usd"] * 1e9), answer["tokens_reserved"]

    async def consistency(self) -> dict[str, Any]:
        status, answer = await self.call("GET", "/v1/budgets/consistency")
        assert status == 200, answer
        return dict(answer)


class Driver:
    def __init__(self, target: HttpTarget, model: BudgetModel, rng: random.Random,
                 start: float) -> None:  # fmt: skip
        self.t, self.m, self.rng = target, model, rng
        self.now = start
        self.granted: list[Granted] = []
        self.sent: list[dict[str, Any]] = []
        self.counts = Counts()
        self.log: deque[str] = deque(maxlen=25)
        self.t.set_clock(start)
        self.m.advance(start)

    # -- checks ------------------------------------------------------------------------------

    def concrete(self) -> list[tuple[str, str, str | None]]:
        out: list[tuple[str, str, str | None]] = []
        for model in (None, "gpt-4o"):
            out += [("user", u, model) for u in USERS]
            out += [("tenant", t, model) for t in ("t1", "t2")]
            out += [("global", g, model) for g in POLICY_IDS["global"]]
        return out

    async def check(self, budgets: list[tuple[str, str, str | None]], why: str) -> None:
        for scope, id_, model in budgets:
            self.counts.usage_checks += 1
            got = await self.t.usage(scope, id_, model)
            want = self.m.usage(scope, id_, model)
            if got != want:
                raise Mismatch(
                    f"{why}: usage {scope}/{id_}/{model}: sidecar {got}, model {want}"
                    + "\nlast operations:\n  "
                    + "\n  ".join(self.log)
                )

    @staticmethod
    def refs(answer: Answer) -> list[tuple[str, str, str | None]]:
        out = []
        for b in answer.budgets:
            scope, id_, m = b.key.split(SEP)[:3]
            out.append((scope, id_, m or None))
        return out

    # -- operations --------------------------------------------------------------------------

    async def step(self) -> None:
        self.counts.ops += 1
        kind = self.rng.choices(
            ["admit", "burst", "settle", "event", "policy", "delete", "jump", "usage"],
            weights=[38, 2, 13, 16, 8, 3, 14, 6],
        )[0]
        self.counts.kinds[kind] = self.counts.kinds.get(kind, 0) + 1
        self.log.append(f"{self.counts.ops} {kind} t={self.now - 1_741_608_000.0:.0f}")
        await getattr(self, "op_" + kind)()
        if self.counts.ops % 10 == 0:
            await self.check(self.concrete(), f"op {self.counts.ops} (sweep)")

    def _who(self) -> tuple[str, str | None, str]:
        return self.rng.choice(USERS), self.rng.choice(TENANTS), self.rng.choice(MODELS)

    def _admit_body(
        self, user: str, tenant: str | None, model: str, inp: int, out: int
    ) -> dict[str, Any]:
        body = {"request_id": uuid.uuid4().hex, "user_id": user, "model": model,
                "input_tokens": inp, "max_output_tokens": out}  # fmt: skip
        if tenant is not None:
            body["tenant"] = tenant
        return body

    async def op_admit(self) -> None:
        user, tenant, model = self._who()
        inp, out = self.rng.randint(0, 3000), self.rng.choice([0, 200, 1000, 2000])
        status, answer = await self.t.admit(self._admit_body(user, tenant, model, inp, out))
        self.counts.admits += 1
        rid = answer.get("reservation_id")
        want = self.m.admit(rid or "rsv_none", user, tenant, model, inp, out)
        self.log.append(f"   admit {user}/{tenant}/{model} {inp}+{out} -> {status} {rid}")
        if want.allowed != (status == 200) or (want.allowed and bool(want.budgets) != bool(rid)):
            raise Mismatch(f"admit {user}/{tenant}/{model} {inp}+{out}: {status} {answer}, "
                           f"model {want}")  # fmt: skip
        if want.allowed:
            self.counts.granted += 1
            if rid:
                self.granted.append(Granted(rid, user, tenant, model, inp + out))
            refs = self.refs(want)
            await self.check(refs, "after grant")
            for scope, id_, m in refs:  # the promise, on the sidecar's own numbers
                p = self.m._get(scope, id_, m)
                got = await self.t.usage(scope, id_, m)
                assert p is not None and got is not None
                if p.max_tokens is not None:
                    assert got[0] + got[2] <= p.max_tokens, (scope, id_, m, got, p)
            return
        self.counts.denied += 1
        limit = answer.get("limit") or {}
        scope, id_, m = want.budget  # type: ignore[misc]
        got_ref = (limit.get("scope"), limit.get("id"), limit.get("model"))
        if (
            answer.get("reason") != want.reason
            or got_ref[0] != scope
            or ("@" not in id_ and got_ref[1] != id_)
            or got_ref[2] != m
        ):
            raise Mismatch(f"denial {answer} != model {want}")
        retry = answer.get("retry_after_s")
        if (retry is None) != (want.retry_after_s is None) or (
            retry is not None and abs(retry - want.retry_after_s) > 0.002
        ):
            raise Mismatch(f"retry_after_s {retry} != model {want.retry_after_s} ({answer})")

    async def op_burst(self) -> None:
        user, tenant, model = self._who()
        inp, out = self.rng.choice([500, 1000, 2000]), 0
        n = self.rng.randint(8, 30)
        urls = self.t.urls
        answers = await asyncio.gather(*[
            self.t.admit(self._admit_body(user, tenant, model, inp, out), urls[i % len(urls)])
            for i in range(n)
        ])  # fmt: skip
        self.counts.bursts += 1
        allowed = sum(1 for s, _ in answers if s == 200)
        rids = [a["reservation_id"] for s, a in answers if s == 200 and a.get("reservation_id")]
        expected = reserved = 0
        for i in range(n):  # identical admits: the count granted does not depend on the order
            rid = rids[reserved] if reserved < len(rids) else f"rsv_missing_{i}"
            decision = self.m.admit(rid, user, tenant, model, inp, out)
            expected += decision.allowed
            reserved += bool(decision.allowed and decision.budgets)
        if (allowed, len(rids)) != (expected, reserved):
            raise Mismatch(f"burst of {n}: {allowed} allowed with {len(rids)} reservations, "
                           f"model {expected} with {reserved}")  # fmt: skip
        for rid in rids:
            self.granted.append(Granted(rid, user, tenant, model, inp + out))
        await self.check(self.concrete(), "after burst")

    async def op_settle(self) -> None:
        self.counts.settles += 1
        if not self.granted or self.rng.random() < 0.05:
            rid, est = "rsv_" + uuid.uuid4().hex[:24], 1000
        else:
            g = self.rng.choice(self.granted[-60:])
            rid, est = g.rid, g.est
        factor = self.rng.choice([0.0, 0.3, 1.0, 1.5])
        inp = int(est * factor * 0.7)
        out = int(est * factor) - inp
        cost = None if self.rng.random() < 0.5 else round(self.rng.uniform(0, 0.01), 6)
        body: dict[str, Any] = {"reservation_id": rid, "input_tokens": inp, "output_tokens": out}
        if cost is not None:
            body["cost_usd"] = cost
        status, answer = await self.t.settle(body)
        want = self.m.settle(rid, inp, out, cost)
        self.log.append(f"   settle {rid} {inp}+{out} ${cost} -> {want}")
        if status != 200 or answer.get("settled") != want:
            raise Mismatch(f"settle {rid}: {status} {answer}, model {want}")
        await self.check(self.concrete()[:4], "after settle")

    async def op_event(self) -> None:
        self.counts.events += 1
        r = self.rng.random()
        if self.sent and r < 0.15:
            ev = self.rng.choice(self.sent[-50:])
            self.counts.resent += 1
        elif self.granted and r < 0.65:
            g = self.rng.choice(self.granted[-60:])
            tenant = g.tenant if self.rng.random() < 0.9 else self.rng.choice(TENANTS)
            factor = self.rng.choice([0.2, 1.0, 1.4])
            ev = self._event(g.user, tenant, g.model, int(g.est * factor * 0.8),
                             int(g.est * factor * 0.2), g.rid)  # fmt: skip
        else:
            user, tenant, model = self._who()
            ev = self._event(user, tenant, model, self.rng.randint(0, 2500),
                             self.rng.randint(0, 800), None)  # fmt: skip
        status, answer = await self.t.event(ev)
        what = self.m.event(ev)
        self.log.append(
            f"   event {ev.get('user_id')}/{ev.get('tenant')}/{ev['model']} "
            f"{ev['input_tokens']}+{ev['output_tokens']} {ev.get('reservation_id')}"
            f" -> {what}"
        )
        dup = 1 if ev in self.sent else 0
        if status != 202 or answer.get("duplicates") != dup:
            raise Mismatch(f"event {ev['id']}: {status} {answer} (model: {what})")
        if not dup:
            self.sent.append(ev)
        await self.check(self.concrete()[:4], f"after event ({what})")

    def _event(self, user: str, tenant: str | None, model: str, inp: int, out: int,
               rid: str | None) -> dict[str, Any]:  # fmt: skip
        ev: dict[str, Any] = {
            "type": "llm_call", "id": uuid.uuid4().hex, "ts": 1_795_000_000.0,
            "request_id": "req", "user_id": user, "model": model, "provider": "openai",
            "input_tokens": inp, "output_tokens": out, "start_ts": 1_795_000_000.0,
            "duration_ms": 100.0, "status": "ok",
        }  # fmt: skip
        if tenant is not None:
            ev["tenant"] = tenant
        if rid is not None:
            ev["reservation_id"] = rid
        return ev

    def _policy(self) -> Policy:
        tokens = self.rng.choice([None, 8000, 20000, 60000, 150000])
        cost = self.rng.choice([None, None, 0.02, 0.1, 0.5]) if tokens else self.rng.choice(
            [0.02, 0.1, 0.5])  # fmt: skip
        return Policy(self.rng.choice(WINDOWS), tokens, cost)

    async def op_policy(self) -> None:
        self.counts.policy_changes += 1
        scope = self.rng.choice(["user", "user", "tenant", "global"])
        id_ = self.rng.choice(POLICY_IDS[scope])
        model = self.rng.choice([None, None, "gpt-4o"])
        old = self.m.policies.get((scope, id_, model))
        policy = self._policy()
        if old is not None and self.rng.random() < 0.5:  # lower (or raise) the same budget
            scale = self.rng.choice([0.3, 0.6, 1.5])
            policy = Policy(
                old.window,
                None if old.max_tokens is None else max(1, int(old.max_tokens * scale)),
                None if old.max_cost_usd is None else round(old.max_cost_usd * scale, 6),
            )
        self.log.append(f"   put {scope}/{id_}/{model} {policy}")
        await self.t.put(scope, id_, model, policy)
        self.m.put(scope, id_, model, policy)
        await self._policies_visible()

    async def op_delete(self) -> None:
        self.counts.policy_changes += 1
        if not self.m.policies:
            return
        scope, id_, model = self.rng.choice(sorted(self.m.policies, key=str))
        self.log.append(f"   delete {scope}/{id_}/{model}")
        got = await self.t.delete(scope, id_, model)
        if got != self.m.delete(scope, id_, model):
            raise Mismatch(f"delete {scope}/{id_}/{model}: {got}")
        await self._policies_visible()

    async def _policies_visible(self) -> None:
        """What one replica acknowledged, another lists at once."""
        listed = await self.t.policies()
        if len(listed) != len(self.m.policies):
            raise Mismatch(f"{len(listed)} policies listed, model has {len(self.m.policies)}")

    async def op_jump(self) -> None:
        self.counts.jumps += 1
        step = self.rng.choices([j for j, _ in JUMPS], weights=[w for _, w in JUMPS])[0]
        self.now += step
        self.t.set_clock(self.now)
        self.m.advance(self.now)

    async def op_usage(self) -> None:
        await self.check([self.rng.choice(self.concrete())], "usage")

    async def run(self, ops: int) -> Counts:
        for _ in range(ops):
            await self.step()
        await self.check(self.concrete(), "final")
        return self.counts


def exact_total(model: BudgetModel) -> int:
    """Tokens the model charged (every settle and direct charge), for the report."""
    return model.charges_total


__all__ = ["Driver", "HttpTarget", "Mismatch", "exact_total", "nano"]
