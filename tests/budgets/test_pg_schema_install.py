"""A sidecar starting beside others that are admitting takes no table lock on the shared ledger.

Paths: PostgresLedger.start on a real PostgreSQL whose ledger tables already exist. Installing
the schema again would ALTER tables (an ACCESS EXCLUSIVE lock, even when nothing changes):
it would wait behind every admit in flight, and an admit that has read ``policy_version`` and
then needs ``reservations`` would deadlock with it (PostgreSQL then fails one of the two). A
replica of the same version finds the schema installed and changes nothing.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig
from sidecar.budgets.postgres import PostgresLedger

REQ = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)


def _config(prefix: str) -> BudgetsConfig:
    user = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=10**9)
    # A short statement timeout: a start waiting for a table lock fails fast.
    return BudgetsConfig(policies=[user], table_prefix=prefix, housekeeping_interval_s=3600,
                         statement_timeout_s=1.0)  # fmt: skip


async def test_a_replica_starts_beside_an_admit_in_flight(pg_dsn: str, pg_prefix: str) -> None:
    first = PostgresLedger(_config(pg_prefix), pg_dsn)
    await first.start()
    second = PostgresLedger(_config(pg_prefix), pg_dsn)
    reader: Any = await asyncpg.connect(pg_dsn)
    try:
        async with reader.transaction():  # what an admit in flight holds on policy_version
            await reader.fetchval(f"SELECT version FROM {pg_prefix}policy_version WHERE id = 1")
            await second.start()
            assert second.connected, second.last_error
            decision = await second.admit(REQ)
            assert decision.allowed and not decision.degraded
    finally:
        await reader.close()
        await second.close()
        await first.close()


async def test_a_changed_schema_is_installed(pg_dsn: str, pg_prefix: str) -> None:
    first = PostgresLedger(_config(pg_prefix), pg_dsn)
    await first.start()
    await first.close()
    conn: Any = await asyncpg.connect(pg_dsn)
    try:  # as an older version left it: no admit1 function, another digest
        await conn.execute(f"DROP FUNCTION {pg_prefix}admit1")
        await conn.execute(f"UPDATE {pg_prefix}schema SET digest = 'older'")
    finally:
        await conn.close()
    again = PostgresLedger(_config(pg_prefix), pg_dsn)
    await again.start()
    try:
        assert (await again.admit(REQ)).allowed  # a single admit runs {p}admit1
    finally:
        await again.close()
