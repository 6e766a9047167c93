"""Charges, owners, bounds, consistency and upgrades, on both ledgers (``make_ledger``).

Paths: the ledger API the routes and the ingest charger use (``charge``, ``settle``,
``check_consistency``), the journal file and the PostgreSQL tables behind them, and
``agent-sidecar check-consistency`` on a tampered ledger.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig, InProcessLedger
from sidecar.budgets.journal import SqliteJournal
from sidecar.budgets.model import (
    ANY_TENANT,
    COUNTER_MAX,
    Charge,
    InvalidBudgetInput,
    Outcome,
    StoreUnavailable,
)
from sidecar.budgets.testclock import ENV as CLOCK_ENV
from sidecar.pricing import PriceTable
from tests.budgets.conftest import Factory, FakeClock
from tests.conftest import REPO

USER = {"scope": "user", "id": "*", "window": "1d", "max_tokens": 100_000}


def req(user: str = "u1", tokens: int = 1000, tenant: str | None = None) -> AdmitRequest:
    return AdmitRequest(request_id="r", user_id=user, tenant=tenant, input_tokens=tokens,
                        model="gpt-4o")  # fmt: skip


def charge(cid: str, rid: str | None = None, tokens: int = 100, **kw: Any) -> Charge:
    kw.setdefault("user_id", "u1")
    return Charge(charge_id=cid, reservation_id=rid, input_tokens=tokens, cost_usd=0.0, **kw)


async def test_direct_charges_count_once_by_id(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER])
    assert await ledger.charge([charge("e1"), charge("e1")]) == [
        Outcome.CHARGED, Outcome.DUPLICATE]  # fmt: skip
    assert await ledger.charge([charge("e1", seen_before=True)]) == [Outcome.DUPLICATE]
    assert await ledger.charge([charge("e2", user_id=None)]) == [Outcome.NOTHING]
    assert (await ledger.usage("user", "u1")).tokens_used == 100


async def test_an_event_settles_its_reservation_once_and_a_late_one_is_charged_directly(
    make_ledger: Factory, clock: FakeClock
) -> None:
    ledger = await make_ledger([USER], reservation_ttl_s=10.0, late_settle_s=20.0)
    d = await ledger.admit(req())
    rid = d.reservation_id or ""
    assert await ledger.charge([charge("e1", rid, 400)]) == [Outcome.SETTLED]
    assert await ledger.charge([charge("e2", rid, 400)]) == [Outcome.DUPLICATE]  # same call
    assert not await ledger.settle(rid, input_tokens=400)
    late = await ledger.admit(req())
    clock.advance(31)  # expired, and past its late-settle grace
    assert not await ledger.settle(late.reservation_id or "", input_tokens=1)
    outcome = await ledger.charge([charge("e3", late.reservation_id, 250)])
    assert outcome == [Outcome.CHARGED]  # still counted, directly
    u = await ledger.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved) == (650, 0)
    assert (await ledger.check_consistency()).ok


async def test_a_call_of_unknown_usage_is_charged_its_estimate(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER])
    d = await ledger.admit(req(tokens=1500))
    unknown = charge("e1", d.reservation_id, 0, usage_unknown=True)
    assert await ledger.charge([unknown]) == [Outcome.SETTLED]
    u = await ledger.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved) == (1500, 0)


async def test_a_reservation_settles_only_for_its_tenant(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER])
    d = await ledger.admit(req(tenant="a"))
    rid = d.reservation_id or ""
    assert not await ledger.settle(rid, input_tokens=0, tenant="b")
    assert await ledger.charge([charge("b:e", rid, 50, tenant="b")]) == [Outcome.CHARGED]
    assert await ledger.settle(rid, input_tokens=700, tenant="a")
    assert (await ledger.usage("user", "u1")).tokens_used == 750
    d = await ledger.admit(req(tenant="a"))
    assert await ledger.settle(d.reservation_id or "", input_tokens=1, tenant=ANY_TENANT)


async def test_a_settle_without_cost_is_priced_for_the_reservations_model(
    make_ledger: Factory,
) -> None:
    ledger = await make_ledger([{**USER, "max_cost_usd": 10.0}])
    ledger.pricer = PriceTable.load()  # type: ignore[attr-defined]
    d = await ledger.admit(req())
    assert await ledger.settle(d.reservation_id or "", input_tokens=1000, output_tokens=500)
    usage = await ledger.usage("user", "u1")
    assert usage.cost_usd == pytest.approx((1000 * 2.5 + 500 * 10.0) / 1e6)


async def test_counters_saturate_instead_of_overflowing(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER])
    for _ in range(12):  # 12 x 10^18 nano-USD: past 2^63 without saturation
        d = await ledger.admit(req("attacker", 1))
        assert await ledger.settle(d.reservation_id or "", input_tokens=1, cost_usd=1e9)
    for i in range(12):
        big = Charge(charge_id=f"x{i}", user_id="attacker", input_tokens=10**9,
                     output_tokens=10**9, cost_usd=1e9)  # fmt: skip
        assert await ledger.charge([big]) == [Outcome.CHARGED]
    usage = await ledger.usage("user", "attacker")
    assert usage.cost_usd == COUNTER_MAX / 1e9
    assert (await ledger.admit(req("victim"))).allowed
    assert (await ledger.check_consistency()).ok


async def test_text_the_store_cannot_hold_is_refused_for_that_request(
    make_ledger: Factory,
) -> None:
    ledger = await make_ledger([USER])
    for bad in ("a\x00b", "a\x1fb", "x" * 300):
        with pytest.raises(InvalidBudgetInput) as err:
            await ledger.admit(req(bad))
        assert err.value.field == "user_id"
    with pytest.raises(InvalidBudgetInput):
        await ledger.charge([charge("e", tokens=10**9 + 1)])
    assert (await ledger.admit(req())).allowed


async def test_consistency_finds_a_tampered_counter(make_ledger: Factory, tmp_path: Path) -> None:
    ledger = await make_ledger([USER, {"scope": "global", "id": "all", "window": "rolling:1h",
                                       "max_tokens": 10**9}])  # fmt: skip
    d = await ledger.admit(req())
    await ledger.charge([charge("e1", d.reservation_id, 300), charge("e2", None, 200)])
    await ledger.admit(req())
    report = await ledger.check_consistency()
    assert report.ok and report.counters_checked == 2 and report.reservations_open == 1
    prefix = ledger.config.table_prefix
    sql = f"UPDATE {prefix}counters SET tokens_used = tokens_used + 7 WHERE bkey LIKE 'user%'"
    if isinstance(ledger, InProcessLedger):
        assert ledger.journal is not None
        await ledger.flush()
        conn = sqlite3.connect(ledger.journal.path)
        with conn:
            conn.execute(sql)
        conn.close()
        db_url = f"sqlite+aiosqlite:///{ledger.journal.path}"
    else:
        pool = ledger._pool  # type: ignore[attr-defined]
        await pool.execute(sql)
        db_url = ledger.dsn  # type: ignore[attr-defined]
    report = await ledger.check_consistency()
    assert not report.ok
    found = [(d.scope, d.field, d.stored - d.expected) for d in report.differences
             if not d.field.startswith("file.")]  # fmt: skip
    assert found == [("user", "tokens_used", 7)]
    (tmp_path / "clock").write_text(repr(ledger.clock()))  # type: ignore[attr-defined]
    env = {"SIDECAR_DB_URL": db_url, "SIDECAR_BUDGETS__TABLE_PREFIX": prefix, "PATH": "",
           CLOCK_ENV: str(tmp_path / "clock")}  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "sidecar", "check-consistency"], cwd=REPO,
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["differences"][0]["field"] == "tokens_used"


async def test_a_journal_written_by_an_earlier_version_is_upgraded(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Keys without their window (earlier versions) keep their counts after the upgrade."""
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    sep = "\x1f"
    old = f"user{sep}u1{sep}"
    start = 1_741_564_800.0  # the day of the clock
    conn.executescript(
        "CREATE TABLE budget_counters (bkey TEXT NOT NULL, window_start REAL NOT NULL, "
        "window_end REAL NOT NULL, tokens_used INTEGER NOT NULL, cost_used INTEGER NOT NULL, "
        "tokens_reserved INTEGER NOT NULL, cost_reserved INTEGER NOT NULL, "
        "PRIMARY KEY (bkey, window_start));"
        "CREATE TABLE budget_reservations (rid TEXT PRIMARY KEY, created REAL NOT NULL, "
        "expires_at REAL NOT NULL, tokens INTEGER NOT NULL, cost INTEGER NOT NULL, "
        "keys TEXT NOT NULL, state INTEGER NOT NULL);"
    )
    conn.execute("INSERT INTO budget_counters VALUES (?,?,?,?,?,?,?)",
                 (old, start, start + 86400, 60_000, 0, 1000, 0))  # fmt: skip
    keys = json.dumps([[old, start]])
    conn.execute("INSERT INTO budget_reservations VALUES (?,?,?,?,?,?,?)",
                 ("rsv_old", clock.now, clock.now + 300, 1000, 0, keys, 0))  # fmt: skip
    conn.commit()
    conn.close()
    policy = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=100_000)
    ledger = InProcessLedger(BudgetsConfig(policies=[policy], housekeeping_interval_s=3600),
                             SqliteJournal(path), clock)  # fmt: skip
    await ledger.start()
    try:
        u = await ledger.usage("user", "u1")
        assert (u.tokens_used, u.tokens_reserved) == (60_000, 1000)
        assert await ledger.settle("rsv_old", input_tokens=500)
        assert (await ledger.usage("user", "u1")).tokens_used == 60_500
        assert (await ledger.check_consistency()).ok
    finally:
        await ledger.close()


async def test_the_journal_retries_a_failed_batch_until_it_is_persisted(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "b.db")
    journal = SqliteJournal(path)
    policy = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=100_000)
    ledger = InProcessLedger(BudgetsConfig(policies=[policy], housekeeping_interval_s=3600,
                                           statement_timeout_s=0.5, fail_policy="fail_closed"),
                             journal, clock)  # fmt: skip
    await ledger.start()
    real_write = journal._write
    failing = {"on": True}

    def write(conn: Any, batch: Any) -> None:
        if failing["on"]:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        real_write(conn, batch)

    monkeypatch.setattr(journal, "_write", write)
    try:
        d = await ledger.admit(req(tokens=70_000))
        assert d.allowed
        with pytest.raises(StoreUnavailable):  # a charge is not acknowledged while failing
            await ledger.charge([charge("e1", None, 5)])
        assert not journal.healthy and "OverflowError" in str(ledger.status()["reason"])
        assert ledger.status()["healthy"] is False
        with pytest.raises(StoreUnavailable):  # fail_closed: no admit it could not persist
            await ledger.admit(req(tokens=1))
        failing["on"] = False
        await ledger.durable(timeout=10)
        assert journal.healthy and journal.errors >= 1
        assert await ledger.charge([charge("e1", None, 5, seen_before=True)]) == [
            Outcome.DUPLICATE]  # fmt: skip
    finally:
        await ledger.close()
    again = InProcessLedger(BudgetsConfig(policies=[policy]), SqliteJournal(path), clock)
    await again.start()
    try:
        u = await again.usage("user", "u1")
        assert (u.tokens_reserved, u.tokens_used) == (70_000, 5)
    finally:
        await again.close()
