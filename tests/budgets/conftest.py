"""Fixtures: a controllable clock, a PostgreSQL DSN (skip, or fail under CI=true) and a
``make_ledger`` factory run against both ledgers with unique, dropped-after table prefixes."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from sidecar.budgets import BudgetLedger, BudgetPolicyEntry, BudgetsConfig, InProcessLedger
from sidecar.budgets.journal import SqliteJournal

PG_DSN = os.environ.get("SIDECAR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# 2025-03-10T12:00:00Z, a Monday
T0 = 1_741_608_000.0


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _pg_reachable() -> bool:
    url = urlsplit(PG_DSN)
    try:
        socket.create_connection((url.hostname or "127.0.0.1", url.port or 5432), 2).close()
    except OSError:
        return False
    return True


_PG_OK: bool | None = None


def require_pg() -> str:
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = _pg_reachable()
    if not _PG_OK:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_DSN} and CI=true")
        pytest.skip(f"PostgreSQL unreachable at {PG_DSN}")
    return PG_DSN


async def drop_prefix(prefix: str) -> None:
    import asyncpg

    from sidecar.budgets.pg_schema import FUNCTIONS, TABLES

    conn = await asyncpg.connect(PG_DSN)
    try:
        for t in TABLES:
            await conn.execute(f"DROP TABLE IF EXISTS {prefix}{t} CASCADE")
        for f in FUNCTIONS:
            await conn.execute(f"DROP FUNCTION IF EXISTS {prefix}{f}")
    finally:
        await conn.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pg_dsn() -> str:
    return require_pg()


@pytest.fixture
async def pg_prefix(pg_dsn: str) -> AsyncIterator[str]:
    prefix = "bt_" + uuid.uuid4().hex[:10] + "_"
    yield prefix
    await drop_prefix(prefix)


Factory = Callable[..., Awaitable[BudgetLedger]]


@pytest.fixture(params=["in_process", "postgres"])
async def make_ledger(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Any
) -> AsyncIterator[Factory]:
    """``await make_ledger(policies=[...], **config)`` → a started ledger of the param's kind."""
    kind = request.param
    prefix = "bt_" + uuid.uuid4().hex[:10] + "_"
    made: list[BudgetLedger] = []
    if kind == "postgres":
        require_pg()

    async def factory(policies: list[dict[str, Any]] | None = None, **kw: Any) -> BudgetLedger:
        kw.setdefault("housekeeping_interval_s", 3600.0)
        cfg = BudgetsConfig(
            policies=[BudgetPolicyEntry(**p) for p in policies or []], table_prefix=prefix, **kw
        )
        ledger: BudgetLedger
        if kind == "postgres":
            from sidecar.budgets.postgres import PostgresLedger

            ledger = PostgresLedger(cfg, PG_DSN, clock)
        else:
            ledger = InProcessLedger(cfg, SqliteJournal(str(tmp_path / "b.db"), prefix), clock)
        await ledger.start()
        made.append(ledger)
        return ledger

    factory.kind = kind  # type: ignore[attr-defined]
    yield factory
    for ledger in made:
        await ledger.close()
    if kind == "postgres":
        await drop_prefix(prefix)
