"""The PostgreSQL ledger's admit costs one statement, and its connections keep no session state.

Paths: PostgresLedger.admit (behind every replica's ``POST /v1/admit``) on the real asyncpg pool
against a real PostgreSQL. Every statement the ledger's connections run is recorded with
asyncpg's query logger: an admit, alone or in a batch of concurrent ones, is one statement (no
BEGIN/COMMIT, no reset query when a connection goes back to the pool). Since the pool sends no
reset query, the connections must hold no session state between statements: after admits, a
rolling-window usage read (a transaction with row locks) and a consistency check, no backend of
the ledger holds an advisory lock or sits in an open transaction.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig
from sidecar.budgets.postgres import PostgresLedger

REQ = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)
DAY = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=10**9)
ROLLING = BudgetPolicyEntry(scope="tenant", id="*", window="rolling:1h", max_tokens=10**9)


async def _ledger(pg_dsn: str, prefix: str) -> PostgresLedger:
    cfg = BudgetsConfig(policies=[DAY, ROLLING], table_prefix=prefix, housekeeping_interval_s=3600)
    ledger = PostgresLedger(cfg, pg_dsn)
    await ledger.start()
    return ledger


def _record_statements(ledger: PostgresLedger) -> list[str]:
    """Every statement any connection of the ledger's pool runs from now on."""
    seen: list[str] = []
    for holder in ledger._pool._holders:
        if holder._con is not None:
            holder._con.add_query_logger(lambda record: seen.append(record.query))
    return seen


async def test_an_admit_is_one_statement_alone_or_batched(pg_dsn: str, pg_prefix: str) -> None:
    ledger = await _ledger(pg_dsn, pg_prefix)
    try:
        # Warm up: the pool's connection exists and has prepared both statements (asyncpg
        # introspects the types of a statement it prepares for the first time).
        await ledger.admit(REQ)
        await asyncio.gather(*[ledger.admit(REQ) for _ in range(5)])
        seen = _record_statements(ledger)
        for _ in range(5):
            assert (await ledger.admit(REQ)).allowed
        decisions = await asyncio.gather(*[ledger.admit(REQ) for _ in range(5)])
        assert all(d.allowed for d in decisions)
        await asyncio.sleep(0)  # the query loggers are called on the loop's next turn
        assert len(seen) == 6, seen
        # The single admits by {p}admit1, the batch of five by {p}admit.
        assert sum(f"{pg_prefix}admit1(" in query for query in seen) == 5, seen
        assert sum(f"{pg_prefix}admit(" in query for query in seen) == 1, seen
    finally:
        await ledger.close()


async def test_connections_keep_no_session_state(pg_dsn: str, pg_prefix: str) -> None:
    ledger = await _ledger(pg_dsn, pg_prefix)
    tenant_req = AdmitRequest(
        request_id="t", user_id="u2", tenant="acme", input_tokens=10, max_output_tokens=10
    )
    try:
        await asyncio.gather(*[ledger.admit(REQ) for _ in range(10)], ledger.admit(tenant_req))
        assert (await ledger.usage("tenant", "acme")).tokens_reserved == 20
        assert (await ledger.check_consistency()).ok
        probe: Any = await asyncpg.connect(pg_dsn)
        try:
            rows = await probe.fetch(
                "SELECT a.pid, a.state, (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid "
                "AND l.locktype = 'advisory') AS advisory FROM pg_stat_activity a "
                "WHERE a.application_name = $1",
                ledger.application_name,
            )
        finally:
            await probe.close()
        assert rows, "the ledger's connections are open"
        assert all(r["state"] == "idle" and r["advisory"] == 0 for r in rows), rows
    finally:
        await ledger.close()
