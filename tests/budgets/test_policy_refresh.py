"""Policy refresh on PostgreSQL costs O(changes): a replica reads only the policy rows written
since the version it holds, and still ends with exactly the policies a full reload gives.

Paths: two :class:`PostgresLedger` replicas sharing one table prefix (what two ``agent-sidecar
serve`` processes do), with policies from the config file and runtime policies written by
``PUT``/``DELETE /v1/budgets`` on either replica (``put_policy`` / ``delete_policy``), read
through ``GET /v1/budgets`` (``current_policies``, which syncs), and the housekeeping sync of an
idle replica; a replica that missed pruned deletions reloads everything; a third replica started
afterwards does a full load.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.budgets import BudgetPolicyEntry, BudgetsConfig
from sidecar.budgets.config import BudgetPolicy
from sidecar.budgets.postgres import PostgresLedger
from tests.budgets.conftest import drop_prefix

CONFIGURED = [
    BudgetPolicyEntry(scope="user", id="*", window="day", max_tokens=1000),
    BudgetPolicyEntry(scope="tenant", id="t1", window="hour", max_tokens=5000),
]
KEYS = [("user", "*"), ("user", "u1"), ("user", "u2"), ("tenant", "t1"), ("global", "all")]
Op = tuple[int, str, tuple[str, str], int]  # replica, put|delete, key, tokens


def _snapshot(entries: list[Any]) -> list[tuple[str, str, str | None, int | None]]:
    return sorted((e.scope, e.id, e.model, e.max_tokens) for e in entries)


class Counting(PostgresLedger):
    """Counts the policy rows each refresh reads (the work it does)."""

    rows_read = 0

    async def _call(self, method: str, sql: str, *args: Any) -> Any:
        result = await super()._call(method, sql, *args)
        if sql is self._sql_changes:
            self.rows_read += sum(1 for r in result if r["scope"] is not None)
        return result


async def _replicas(dsn: str, prefix: str, n: int = 2) -> list[Counting]:
    config = BudgetsConfig(policies=CONFIGURED, table_prefix=prefix, housekeeping_interval_s=3600)
    ledgers = [Counting(config, dsn) for _ in range(n)]
    for ledger in ledgers:
        await ledger.start()
    return ledgers


ops = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(["put", "delete"]), st.sampled_from(KEYS),
              st.integers(1, 10**6)),
    min_size=1, max_size=25,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=ops)
def test_incremental_refresh_matches_a_full_reload(pg_dsn: str, sequence: list[Op]) -> None:
    """Model: the configured policies, overridden by runtime puts, restored by deletes."""

    async def run() -> None:
        import uuid

        prefix = "pr_" + uuid.uuid4().hex[:10] + "_"
        ledgers = await _replicas(pg_dsn, prefix)
        model: dict[tuple[str, str], int | None] = {
            (e.scope, e.id): e.max_tokens for e in CONFIGURED
        }
        runtime: dict[tuple[str, str], int] = {}
        try:
            for replica, op, key, tokens in sequence:
                ledger = ledgers[replica]
                if op == "put":
                    policy = BudgetPolicy(window="day", max_tokens=tokens)
                    await ledger.put_policy(key[0], key[1], policy)  # type: ignore[arg-type]
                    runtime[key] = tokens
                else:
                    await ledger.delete_policy(key[0], key[1])  # type: ignore[arg-type]
                    runtime.pop(key, None)
                expected = sorted(
                    (s, i, None, t)
                    for (s, i), t in {**model, **runtime}.items()
                )  # fmt: skip
                for each in ledgers:
                    assert _snapshot(await each.current_policies()) == expected
            late = (await _replicas(pg_dsn, prefix, 1))[0]
            assert _snapshot(await late.current_policies()) == expected
            await late.close()
        finally:
            for ledger in ledgers:
                await ledger.close()
            await drop_prefix(prefix)

    asyncio.run(run())


async def test_a_refresh_reads_only_the_changes(pg_dsn: str, pg_prefix: str) -> None:
    """With 2,000 runtime policies, one change costs the other replica one row, an idle sync
    none; a replica behind pruned deletions reloads all (and is right)."""
    writer, reader = await _replicas(pg_dsn, pg_prefix)
    try:
        policy = BudgetPolicy(window="day", max_tokens=10)
        for i in range(2000):
            await writer.put_policy("user", f"u{i}", policy)
        assert len(await reader.current_policies()) == 2002
        reader.rows_read = 0
        await writer.put_policy("user", "u5", BudgetPolicy(window="day", max_tokens=11))
        await writer.delete_policy("user", "u6")
        policies = {(e.id): e.max_tokens for e in await reader.current_policies()}
        assert policies["u5"] == 11 and "u6" not in policies
        assert reader.rows_read == 2
        await reader._sync_policies()  # an idle housekeeping round
        assert reader.rows_read == 2
        # Deletions older than a day are pruned; a replica that had not seen them reloads all.
        behind = reader._version
        await writer.delete_policy("user", "u7")
        conn_sql = (
            f"WITH d AS (DELETE FROM {pg_prefix}policy_deletions RETURNING ver) "
            f"UPDATE {pg_prefix}policy_version SET pruned = (SELECT max(ver) FROM d) WHERE id = 1"
        )
        await writer._call("execute", conn_sql)
        assert reader._version == behind
        reader.rows_read = 0
        ids = {e.id for e in await reader.current_policies()}
        assert "u7" not in ids and len(ids) == 2000
        assert reader.rows_read >= 1998
    finally:
        await writer.close()
        await reader.close()
