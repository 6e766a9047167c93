"""Model-based test of the budget promise over every path the operations take.

A seeded random driver (tests/budgets/model_driver.py) runs at least 2,000 operations against
an executable model (tests/budgets/budget_model.py) and, at once, against:

- one sidecar with the in-process ledger on SQLite (HTTP on loopback, in this test's loop), and
- three ``agent-sidecar serve`` processes on one fresh PostgreSQL database, each operation
  going to a random one (bursts of concurrent admits spread over all three).

Paths covered: ``POST /v1/admit``, ``POST /v1/budgets/settle`` (with and without cost),
``POST /v1/events`` (llm_call naming a reservation, naming none, naming another tenant's,
resent), ``PUT``/``DELETE /v1/budgets/{scope}/{id}`` on one replica and ``GET /v1/budgets``,
``GET /v1/usage`` on another, ``GET /v1/budgets/consistency`` and ``agent-sidecar
check-consistency``; the ledger clock is moved through expiry, late settles and window resets
by the test-only file clock. After every operation the sidecar's answers and the touched
budgets' usage equal the model's, and at every grant ``used + reserved <= cap`` holds on the
sidecar's own numbers; at the end every budget equals the model and the consistency check is
clean. ``BUDGET_MODEL_OPS`` (default 2000) and ``BUDGET_MODEL_SEED`` change the run.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from sidecar.budgets.testclock import ENV as CLOCK_ENV
from sidecar.pricing import PriceTable
from tests.budgets.budget_model import new_model
from tests.budgets.model_driver import Driver, HttpTarget
from tests.conftest import REPO, SidecarProcess, make_settings, start_sidecar

OPS = int(os.environ.get("BUDGET_MODEL_OPS", "2000"))
SEED = int(os.environ.get("BUDGET_MODEL_SEED", "12"))
T0 = 1_741_608_000.0  # 2025-03-10T12:00:00Z
TTL, LATE = 120.0, 600.0
BUDGETS = {"reservation_ttl_s": TTL, "late_settle_s": LATE, "charge_dedup_s": 1e7,
           "housekeeping_interval_s": 0.5}  # fmt: skip


def _consistency_cli(db_url: str, clock: Path) -> tuple[int, str]:
    env = {**os.environ, "SIDECAR_DB_URL": db_url, CLOCK_ENV: str(clock)}
    done = subprocess.run([sys.executable, "-m", "sidecar", "check-consistency"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    return done.returncode, done.stdout + done.stderr


async def test_model_in_process_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = tmp_path / "clock"
    clock.write_text(repr(T0))
    monkeypatch.setenv(CLOCK_ENV, str(clock))
    settings = make_settings(tmp_path, budgets=BUDGETS)
    running, runner = await start_sidecar(settings)
    rng = random.Random(SEED)
    try:
        async with aiohttp.ClientSession() as http:
            target = HttpTarget([running.url], str(clock), http, rng)
            driver = Driver(target, new_model(PriceTable.load(), TTL, LATE), rng, T0)
            counts = await driver.run(OPS)
            report = await target.consistency()
        assert report["ok"], report["differences"][:10]
        assert counts.granted > 100 and counts.denied > 100, counts
        assert counts.kinds.get("policy", 0) > 50 and counts.resent > 20, counts
        print(counts)
    finally:
        await runner.cleanup()
    code, out = _consistency_cli(settings.db_url, clock)
    assert code == 0, out


async def test_model_three_replicas_on_postgres(pg_url: str, tmp_path: Path) -> None:
    clock = tmp_path / "clock"
    clock.write_text(repr(T0))
    env = {CLOCK_ENV: str(clock), **{f"SIDECAR_BUDGETS__{k.upper()}": str(v)
                                     for k, v in BUDGETS.items()}}  # fmt: skip
    sidecars = [SidecarProcess(pg_url, env=env) for _ in range(3)]
    rng = random.Random(SEED + 1)
    try:
        for sidecar in sidecars:
            sidecar.start()
        async with aiohttp.ClientSession() as http:
            target = HttpTarget([s.url for s in sidecars], str(clock), http, rng)
            driver = Driver(target, new_model(PriceTable.load(), TTL, LATE), rng, T0)
            counts = await driver.run(OPS)
            report = await target.consistency()
        assert report["ok"], report["differences"][:10]
        assert counts.granted > 100 and counts.denied > 100, counts
        assert counts.bursts > 10, counts
        print(counts)
    finally:
        for sidecar in sidecars:
            sidecar.stop()
    code, out = await asyncio.to_thread(_consistency_cli, pg_url, clock)
    assert code == 0, out
