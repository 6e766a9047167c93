"""``{p}admit1`` (one admit on one budget, scalar arguments) decides exactly as ``{p}admit``.

Paths: PostgresLedger.admit on a real PostgreSQL, twice: once as it runs (single admits on one
budget go through ``{p}admit1``) and once forced through the general ``{p}admit`` for every
batch. The same seeded sequence runs on both: admits on a daily token budget and on a rolling
cost budget, up to and past their caps (denials with their retry times), clock steps that age
rolling holds out and roll the day over, settles, and policy PUTs made by another replica
(so the policy-version check answers "stale" and the admit is decided again under the new
limit). Every decision (reservation ids aside), every usage and the consistency check agree.
"""

from __future__ import annotations

import random
from typing import Any

from sidecar.budgets import AdmitRequest, BudgetPolicy, BudgetPolicyEntry, BudgetsConfig
from sidecar.budgets.postgres import PostgresLedger, _Job
from tests.budgets.conftest import FakeClock, drop_prefix

POLICIES = [
    BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=8_000, warn_at=0.5),
    BudgetPolicyEntry(scope="tenant", id="*", window="rolling:1h", max_cost_usd=0.02),
]


class GeneralOnly(PostgresLedger):
    """The ledger with every batch decided by the general ``{p}admit``."""

    def _admit_call(self, batch: list[_Job]) -> tuple[str, tuple[Any, ...]]:
        return self._sql_admit, self._batch_args(batch)


def _config(prefix: str) -> BudgetsConfig:
    return BudgetsConfig(policies=POLICIES, table_prefix=prefix, housekeeping_interval_s=3600)


async def _run(cls: type[PostgresLedger], pg_dsn: str, prefix: str) -> list[Any]:
    clock = FakeClock()
    ledger = cls(_config(prefix), pg_dsn, clock)
    replica = PostgresLedger(_config(prefix), pg_dsn, clock)  # changes policies elsewhere
    await ledger.start()
    await replica.start()
    rng = random.Random(7)
    out: list[Any] = []
    try:
        for step in range(160):
            roll = rng.random()
            if roll < 0.05:
                clock.advance(rng.choice([60.0, 900.0, 3600.0, 86_400.0]))
                continue
            if roll < 0.08:
                cap = rng.choice([3_000, 8_000, 20_000])
                await replica.put_policy("user", "*", BudgetPolicy(window="1d", max_tokens=cap))
                out.append(("put", cap))
                continue
            if rng.random() < 0.5:
                user, tokens = f"u{rng.randrange(3)}", rng.randrange(100, 1500)
                req = AdmitRequest(
                    request_id=f"r{step}", user_id=user, input_tokens=tokens, max_output_tokens=100
                )
            else:
                tenant, cost = f"t{rng.randrange(2)}", rng.choice([0.001, 0.004, 0.009])
                req = AdmitRequest(
                    request_id=f"r{step}", tenant=tenant, input_tokens=10, cost_usd=cost
                )
            decision = await ledger.admit(req)
            answer = decision.to_dict()
            answer.pop("reservation_id", None)
            out.append(answer)
            if decision.reservation_id and rng.random() < 0.3:
                out.append(await ledger.settle(decision.reservation_id, input_tokens=300))
        for scope, id_ in [("user", "u0"), ("user", "u1"), ("tenant", "t0"), ("tenant", "t1")]:
            out.append(_usage(await ledger.usage(scope, id_)))  # type: ignore[arg-type]
        report = await ledger.check_consistency()
        assert report.ok, report
        return out
    finally:
        await replica.close()
        await ledger.close()


def _usage(usage: Any) -> tuple[Any, ...]:
    return (usage.tokens_used, usage.cost_usd, usage.tokens_reserved, usage.remaining_tokens,
            usage.remaining_cost_usd, usage.window_start, usage.window_end)  # fmt: skip


async def test_admit1_decides_as_the_general_statement(pg_dsn: str, pg_prefix: str) -> None:
    fast = await _run(PostgresLedger, pg_dsn, pg_prefix)
    general_prefix = pg_prefix + "g_"
    try:
        general = await _run(GeneralOnly, pg_dsn, general_prefix)
    finally:
        await drop_prefix(general_prefix)
    denied = [a for a in fast if isinstance(a, dict) and not a["allowed"]]
    assert denied and any(isinstance(a, tuple) and a[0] == "put" for a in fast)
    assert fast == general
