"""A driver failure of any exception type resolves every waiting admit (a decision, fail-open
or StoreUnavailable), and the next admit is exact again: no admit waits on a dead batch task."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig, StoreUnavailable
from sidecar.budgets.postgres import PostgresLedger

USER = BudgetPolicyEntry(scope="user", id="*", window="hour", max_tokens=100_000)
REQ = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)
# Resolving takes milliseconds; this bound only turns a hang into a clear failure.
HANG = 20.0


class DriverBug(Exception):
    """An exception type the ledger cannot know about."""


class FailingOnce:
    """The ledger's real asyncpg pool, whose next ``fetch`` raises ``error`` instead."""

    def __init__(self, pool: Any, error: BaseException) -> None:
        self.pool, self.error, self.failed = pool, error, 0

    async def fetch(self, *args: Any) -> Any:
        if not self.failed:
            self.failed += 1
            raise self.error
        return await self.pool.fetch(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


@pytest.mark.parametrize("fail_policy", ["fail_open", "fail_closed"])
@pytest.mark.parametrize(
    "error",
    [
        DriverBug("boom"),
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is busy"),
    ],
    ids=["unexpected-type", "asyncpg-internal"],
)
async def test_driver_failure_resolves_every_waiting_admit(
    pg_dsn: str, pg_prefix: str, fail_policy: str, error: BaseException
) -> None:
    cfg = BudgetsConfig(
        policies=[USER], table_prefix=pg_prefix, fail_policy=fail_policy,  # type: ignore[arg-type]
        retry_interval_s=0.0, housekeeping_interval_s=3600,
    )  # fmt: skip
    ledger = PostgresLedger(cfg, pg_dsn)
    await ledger.start()
    real_pool = ledger._pool
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
        assert type(error).__name__ in str(ledger.status()["last_error"])
        d = await asyncio.wait_for(ledger.admit(REQ), HANG)
        assert d.allowed and not d.degraded and d.reservation_id
        assert ledger.status()["connected"] is True
        assert (await ledger.usage("user", "u1")).tokens_reserved == 1000
    finally:
        ledger._pool = real_pool
        await ledger.close()
