"""Shared budgets on PostgreSQL: exact across OS processes, resets on every replica,
fail-open / fail-closed while the database is unreachable, recovery without restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig, StoreUnavailable
from sidecar.budgets.postgres import PostgresLedger
from tests.budgets.conftest import FakeClock

WORKER = Path(__file__).with_name("pg_admit_worker.py")
ROOT = Path(__file__).resolve().parents[2]
USER = BudgetPolicyEntry(scope="user", id="*", window="hour", max_tokens=100_000)
REQ = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)


def test_three_processes_grant_exactly_the_budget(pg_dsn: str, pg_prefix: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), pg_dsn, pg_prefix, "100"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sum(r["degraded"] for r in results) == 0
    assert sum(r["granted"] for r in results) == 100

    async def reserved() -> int:
        conn = await asyncpg.connect(pg_dsn)
        try:
            return int(await conn.fetchval(f"SELECT sum(tokens_reserved) FROM {pg_prefix}counters"))
        finally:
            await conn.close()

    assert asyncio.run(reserved()) == 100_000


async def test_window_resets_on_every_replica(pg_dsn: str, pg_prefix: str) -> None:
    clock = FakeClock(1_741_611_599.0)  # 12:59:59Z
    cfg = BudgetsConfig(policies=[USER], table_prefix=pg_prefix, housekeeping_interval_s=3600)
    replicas = [PostgresLedger(cfg, pg_dsn, clock) for _ in range(3)]
    for r in replicas:
        await r.start()
    try:
        granted = await asyncio.gather(*[replicas[i % 3].admit(REQ) for i in range(150)])
        assert sum(d.allowed for d in granted) == 100
        clock.now = 1_741_611_600.0  # 13:00:00Z
        for r in replicas:
            assert (await r.admit(REQ)).allowed
        assert (await replicas[0].usage("user", "u1")).tokens_reserved == 3000
    finally:
        for r in replicas:
            await r.close()


class TcpProxy:
    """A loopback TCP forwarder to PostgreSQL that a test can cut and restore."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in list(self._writers):
            w.close()
        await self._server.wait_closed()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.parametrize("fail_policy", ["fail_open", "fail_closed"])
async def test_database_unreachable_then_back(
    pg_dsn: str, pg_prefix: str, fail_policy: str
) -> None:
    proxy = TcpProxy()
    await proxy.up()
    cfg = BudgetsConfig(
        policies=[USER], table_prefix=pg_prefix, fail_policy=fail_policy,  # type: ignore[arg-type]
        retry_interval_s=0.0, connect_timeout_s=1.0, housekeeping_interval_s=3600,
    )  # fmt: skip
    ledger = PostgresLedger(cfg, f"postgresql://postgres@127.0.0.1:{proxy.port}/test")
    await ledger.start()
    try:
        assert (await ledger.admit(REQ)).allowed
        await proxy.down()
        if fail_policy == "fail_open":
            d = await ledger.admit(REQ)
            assert d.allowed and d.degraded and d.reservation_id is None
            assert ledger.stats()["fail_open_admits"] == 1
        else:
            with pytest.raises(StoreUnavailable):
                await ledger.admit(REQ)
        assert ledger.status()["connected"] is False
        with pytest.raises(StoreUnavailable):
            await ledger.usage("user", "u1")
        await proxy.up()  # same port: the database is back
        d = await ledger.admit(REQ)
        assert d.allowed and not d.degraded and d.reservation_id
        assert ledger.status()["connected"] is True
        assert (await ledger.usage("user", "u1")).tokens_reserved == 2000
    finally:
        await ledger.close()
        with contextlib.suppress(AssertionError):
            await proxy.down()


async def test_dead_port_at_start_then_live(pg_dsn: str, pg_prefix: str) -> None:
    proxy = TcpProxy()
    await proxy.up()
    await proxy.down()  # a port nothing listens on
    cfg = BudgetsConfig(
        policies=[USER], table_prefix=pg_prefix, fail_policy="fail_closed",
        retry_interval_s=0.0, housekeeping_interval_s=3600,
    )  # fmt: skip
    ledger = PostgresLedger(cfg, f"postgresql://postgres@127.0.0.1:{proxy.port}/test")
    await ledger.start()  # does not raise: the sidecar starts and reports not ready
    try:
        with pytest.raises(StoreUnavailable):
            await ledger.admit(REQ)
        await proxy.up()
        assert (await ledger.admit(REQ)).allowed
    finally:
        await ledger.close()
        await proxy.down()


async def test_terminated_connections_recover(pg_dsn: str, pg_prefix: str) -> None:
    cfg = BudgetsConfig(
        policies=[USER], table_prefix=pg_prefix, retry_interval_s=0.0, housekeeping_interval_s=3600
    )
    ledger = PostgresLedger(cfg, pg_dsn)
    await ledger.start()
    admin = await asyncpg.connect(pg_dsn)
    try:
        assert (await ledger.admit(REQ)).allowed
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            ledger.application_name,
        )
        assert killed >= 1
        outcomes = [await ledger.admit(REQ) for _ in range(3)]
        assert outcomes[-1].allowed and not outcomes[-1].degraded
        exact = [d for d in outcomes if not d.degraded]
        assert (await ledger.usage("user", "u1")).tokens_reserved == 1000 * (1 + len(exact))
    finally:
        await admin.close()
        await ledger.close()


async def test_mixed_budget_sets_across_replicas_stay_exact(pg_dsn: str, pg_prefix: str) -> None:
    policies = [
        BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=7_000),
        BudgetPolicyEntry(scope="tenant", id="*", window="1d", max_tokens=30_000),
        BudgetPolicyEntry(scope="global", id="all", window="rolling:1h", max_tokens=45_000),
    ]
    cfg = BudgetsConfig(policies=policies, table_prefix=pg_prefix, housekeeping_interval_s=3600)
    replicas = [PostgresLedger(cfg, pg_dsn) for _ in range(2)]
    for r in replicas:
        await r.start()
    try:
        reqs = [
            AdmitRequest(
                request_id="r", user_id=f"u{i % 10}", tenant=f"t{i % 2}", input_tokens=1000
            )
            for i in range(120)
        ]
        ds = await asyncio.gather(*[replicas[i % 2].admit(q) for i, q in enumerate(reqs)])
        granted = [q for q, d in zip(reqs, ds, strict=True) if d.allowed]
        assert len(granted) == 45  # the global cap binds; no user above 7, no tenant above 30
        for t in ("t0", "t1"):
            used = (await replicas[0].usage("tenant", t)).tokens_reserved
            assert used == 1000 * sum(q.tenant == t for q in granted) <= 30_000
        for u in range(10):
            assert sum(q.user_id == f"u{u}" for q in granted) <= 7
        assert (await replicas[1].usage("global", "all")).tokens_reserved == 45_000
    finally:
        for r in replicas:
            await r.close()
