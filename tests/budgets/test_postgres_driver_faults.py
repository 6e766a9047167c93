"""Driver failures of the PostgreSQL ledger: every waiting admit is answered, and only the admit
that caused a failure fails.

Paths: PostgresLedger.admit batching (the statement behind every replica's ``POST /v1/admit``)
through the real asyncpg pool, with one statement made to fail: a lost connection (every admit
of the batch gets the fail policy's answer, the next admit is exact again), an exception type
nobody foresaw (the batch is decided again admit by admit: all exact), and a DataError caused
by one admit's values (that admit alone fails with InvalidBudgetInput; the others, an exhausted
victim's among them, are decided exactly, never granted by fail_open).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig, StoreUnavailable
from sidecar.budgets.model import InvalidBudgetInput
from sidecar.budgets.postgres import PostgresLedger

USER = BudgetPolicyEntry(scope="user", id="*", window="hour", max_tokens=100_000)
REQ = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)
# Resolving takes milliseconds; this bound only turns a hang into a clear failure.
HANG = 20.0


class DriverBug(Exception):
    """An exception type the ledger cannot know about."""


class FaultyPool:
    """The ledger's real asyncpg pool; every ``fetch`` (on the pool, or on a connection the pool
    hands out) first passes :meth:`fault`, which may raise instead of running it."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def fault(self, sql: str, args: tuple[Any, ...]) -> None:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.fault(sql, args)
        return await self.pool.fetch(sql, *args)

    async def acquire(self) -> FaultyConnection:
        return FaultyConnection(self, await self.pool.acquire())

    async def release(self, conn: FaultyConnection) -> None:
        await self.pool.release(conn.conn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


class FaultyConnection:
    """A real pooled connection whose ``fetch`` passes its pool's fault first."""

    def __init__(self, pool: FaultyPool, conn: Any) -> None:
        self.pool, self.conn = pool, conn

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.pool.fault(sql, args)
        return await self.conn.fetch(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


class FailingOnce(FaultyPool):
    """The real pool, whose next ``fetch`` raises ``error`` instead."""

    def __init__(self, pool: Any, error: BaseException) -> None:
        super().__init__(pool)
        self.error, self.failed = error, 0

    def fault(self, sql: str, args: tuple[Any, ...]) -> None:
        if not self.failed:
            self.failed += 1
            raise self.error


class RefusingUser(FaultyPool):
    """The real pool, refusing (as the server would) every admit statement naming ``user``."""

    def __init__(self, pool: Any, user: str) -> None:
        super().__init__(pool)
        self.user, self.refused = user, 0

    def fault(self, sql: str, args: tuple[Any, ...]) -> None:
        users = args[15] if "admit(" in sql else args[13:14] if "admit1(" in sql else []
        if self.user in (users or []):
            self.refused += 1
            raise asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")


async def _ledger(pg_dsn: str, prefix: str, fail_policy: str) -> PostgresLedger:
    cfg = BudgetsConfig(
        policies=[USER], table_prefix=prefix, fail_policy=fail_policy,  # type: ignore[arg-type]
        retry_interval_s=0.0, housekeeping_interval_s=3600,
    )  # fmt: skip
    ledger = PostgresLedger(cfg, pg_dsn)
    await ledger.start()
    return ledger


@pytest.mark.parametrize("fail_policy", ["fail_open", "fail_closed"])
async def test_lost_connection_resolves_every_waiting_admit(
    pg_dsn: str, pg_prefix: str, fail_policy: str
) -> None:
    ledger = await _ledger(pg_dsn, pg_prefix, fail_policy)
    real_pool = ledger._pool
    error = asyncpg.InternalClientError("cannot switch to state 12; another operation is busy")
    faulty = FailingOnce(real_pool, error)
    ledger._pool = faulty
    try:
        waiting = asyncio.gather(*[ledger.admit(REQ) for _ in range(5)], return_exceptions=True)
        outcomes = await asyncio.wait_for(waiting, HANG)
        assert faulty.failed == 1
        if fail_policy == "fail_open":
            assert all(d.allowed and d.degraded for d in outcomes)  # type: ignore[union-attr]
            assert ledger.stats()["fail_open_admits"] == 5
        else:
            assert all(isinstance(d, StoreUnavailable) for d in outcomes)
        assert ledger.stats()["store_errors"] == 1
        assert ledger.status()["connected"] is False
        assert "InternalClientError" in str(ledger.status()["last_error"])
        d = await asyncio.wait_for(ledger.admit(REQ), HANG)
        assert d.allowed and not d.degraded and d.reservation_id
        assert ledger.status()["connected"] is True
        assert (await ledger.usage("user", "u1")).tokens_reserved == 1000
    finally:
        ledger._pool = real_pool
        await ledger.close()


async def test_an_unforeseen_failure_is_decided_again_admit_by_admit(
    pg_dsn: str, pg_prefix: str
) -> None:
    ledger = await _ledger(pg_dsn, pg_prefix, "fail_open")
    real_pool = ledger._pool
    faulty = FailingOnce(real_pool, DriverBug("boom"))
    ledger._pool = faulty
    try:
        waiting = asyncio.gather(*[ledger.admit(REQ) for _ in range(5)], return_exceptions=True)
        outcomes = await asyncio.wait_for(waiting, HANG)
        assert faulty.failed == 1
        assert all(d.allowed and not d.degraded for d in outcomes)  # type: ignore[union-attr]
        assert ledger.stats()["fail_open_admits"] == 0
        assert (await ledger.usage("user", "u1")).tokens_reserved == 5000
    finally:
        ledger._pool = real_pool
        await ledger.close()


@pytest.mark.parametrize("fail_policy", ["fail_open", "fail_closed"])
async def test_one_refused_admit_fails_alone(pg_dsn: str, pg_prefix: str, fail_policy: str) -> None:
    """Issue case 6: 30 admits of an exhausted victim batched with one refused admit."""
    ledger = await _ledger(pg_dsn, pg_prefix, fail_policy)
    victim = AdmitRequest(request_id="v", user_id="victim", input_tokens=50_000)
    assert (await ledger.admit(victim)).allowed
    assert (await ledger.admit(victim)).allowed  # 100,000 reserved: exhausted
    real_pool = ledger._pool
    ledger._pool = refusing = RefusingUser(real_pool, "attacker")
    try:
        bad = AdmitRequest(request_id="a", user_id="attacker", input_tokens=1)
        others = [ledger.admit(victim) for _ in range(15)]
        waiting = asyncio.gather(
            *others[:8], ledger.admit(bad), *others[8:],
            *[ledger.admit(REQ) for _ in range(5)], return_exceptions=True,
        )  # fmt: skip
        outcomes = await asyncio.wait_for(waiting, HANG)
        assert refusing.refused >= 2  # the batch, then that admit alone
        assert isinstance(outcomes[8], InvalidBudgetInput)
        victims = outcomes[:8] + outcomes[9:16]
        assert all(not d.allowed and d.reason == "token_budget_exceeded" for d in victims)  # type: ignore[union-attr]
        assert all(d.allowed and not d.degraded for d in outcomes[16:])  # type: ignore[union-attr]
        assert ledger.stats()["fail_open_admits"] == 0
    finally:
        ledger._pool = real_pool
        await ledger.close()
