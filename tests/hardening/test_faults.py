"""Faults under load, each with what is promised:

- PostgreSQL gone mid-load (a TCP proxy we control is stopped, cutting every connection):
  event batches are refused with 503 (never 500, never a 202 for an unstored batch), ``/ready``
  answers 503, and once the proxy is back ingest resumes without a restart; every event
  acknowledged before, during and after is in the store exactly once.
- SQLite locked by another process: the same promises (503 while locked, recovery after); a
  batch waiting on the lock is answered 503 ``timeout`` after ``request_timeout_s``.
- Disk full (RLIMIT_FSIZE on the sidecar process): batches that cannot be written get 503 and
  the process stays up and answers probes; acknowledged events survive a restart.
- Wall clock jumped back and forth by an hour mid-load: no request fails, no event is lost,
  the rate limiter (monotonic clock) neither blocks nor frees anyone.

SIGTERM under load (in-flight answered, acknowledged events flushed, exit 0) is proved by
tests/foundation/test_durability.py; OTLP collector down by
tests/traces/test_traces_collector_down.py.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import REPO, SidecarProcess, make_settings, start_sidecar
from tests.hardening.load import Agents
from tests.hardening.tcp_proxy import TcpProxy


async def stored_ids(db_url: str) -> Counter[str]:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id FROM events"))).all()
    finally:
        await engine.dispose()
    return Counter(row[0] for row in rows)


def assert_exactly_once(acked: list[str], stored: Counter[str]) -> None:
    assert len(set(acked)) == len(acked), "the load sent an id twice"
    missing = [i for i in acked if stored[i] != 1]
    assert not missing, f"{len(missing)} acknowledged events lost or duplicated"
    assert all(n == 1 for n in stored.values())


async def ready_status(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url + "/ready") as resp:
        return resp.status


async def test_postgres_gone_and_back_mid_load(pg_url: str, tmp_path: Path) -> None:
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
    settings = make_settings(
        tmp_path, db_url=via_proxy, budgets={"enabled": False}, store={"health_timeout_s": 1.0}
    )
    running, runner = await start_sidecar(settings)
    try:
        async with aiohttp.ClientSession() as http, Agents(running.url, admit=False) as load:
            await load.reached(400)
            await proxy.stop()
            await load.refused()
            assert await ready_status(http, running.url) == 503
            before = len(load.report.acked)
            await proxy.start()
            await load.reached(before + 400)
            assert await ready_status(http, running.url) == 200
    finally:
        await runner.cleanup()
        await proxy.stop()
    report = load.report
    assert report.server_errors() == 0, report.statuses
    assert report.statuses[("events", 503)] > 0
    assert_exactly_once(report.acked, await stored_ids(pg_url))


async def test_sqlite_locked_then_released_mid_load(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, budgets={"enabled": False}, protection={"request_timeout_s": 2.0}
    )
    db_path = tmp_path / "sidecar.db"
    running, runner = await start_sidecar(settings)
    # The locker waits for the lock: the writer commits group after group in its own thread,
    # so the lock is often held at any one instant (the loop it would need to go on is this one).
    locker = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        async with Agents(running.url, admit=False) as load:
            await load.reached(400)
            locker.execute("BEGIN EXCLUSIVE")
            await load.refused()
            before = len(load.report.acked)
            locker.execute("COMMIT")
            await load.reached(before + 400)
    finally:
        locker.close()
        await runner.cleanup()
    assert load.report.server_errors() == 0, load.report.statuses
    assert_exactly_once(load.report.acked, await stored_ids(settings.db_url))


class LimitedSidecar(SidecarProcess):
    """A sidecar whose files may not grow past ``limit`` bytes (a full disk, as EFBIG)."""

    def __init__(self, db_url: str, limit: int) -> None:
        super().__init__(
            db_url, env={"SIDECAR_BUDGETS__ENABLED": "false", "SIDECAR_CACHE__PERSISTENCE_PATH": ""}
        )
        self.limit = limit

    def start(self, timeout: float = 30.0) -> LimitedSidecar:
        limit = self.limit

        def limit_file_size() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        import threading

        self.output = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=limit_file_size,
        )
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("sidecar did not start:\n" + self.log)
        return self


async def test_disk_full_refuses_with_503_and_keeps_what_it_acknowledged(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'full.db'}"
    sidecar = LimitedSidecar(db_url, limit=2 * 1024 * 1024).start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            Agents(
                sidecar.url,
                admit=False,
                cache=False,
                batch=50,
            ) as load,
        ):
            await load.refused(timeout=120)
            async with http.get(sidecar.url + "/health") as resp:
                assert resp.status in (200, 503)
        assert sidecar.proc is not None and sidecar.proc.poll() is None, sidecar.log
    finally:
        sidecar.stop()
    report = load.report
    assert report.server_errors() == 0, report.statuses
    assert report.statuses[("events", 503)] > 0, report.statuses
    assert len(report.acked) > 0
    assert_exactly_once(report.acked, await stored_ids(db_url))


async def test_wall_clock_jumps_lose_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_time = time.time
    offset = {"s": 0.0}
    monkeypatch.setattr(time, "time", lambda: real_time() + offset["s"])
    settings = make_settings(tmp_path, protection={"rate_limit_per_s": 50, "rate_limit_burst": 200})
    running, runner = await start_sidecar(settings)
    try:
        async with Agents(running.url, clients=2, cache=True) as load:
            await load.reached(200)
            offset["s"] = -3600.0
            await load.reached(400)
            offset["s"] = 3600.0
            await load.reached(600)
    finally:
        await runner.cleanup()
    statuses: dict[tuple[str, int], Any] = dict(load.report.statuses)
    assert load.report.server_errors() == 0, statuses
    assert {status for (_, status) in statuses} <= {200, 202, 429}, statuses
    assert_exactly_once(load.report.acked, await stored_ids(settings.db_url))
