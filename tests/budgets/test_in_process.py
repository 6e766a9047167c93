"""In-process ledger specifics: durability across restarts, windows, admission and settling."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sidecar.budgets import (
    Admission,
    AdmitBody,
    AdmitRequest,
    BudgetPolicy,
    BudgetPolicyEntry,
    BudgetsConfig,
    BudgetSettler,
    InProcessLedger,
    StoreUnavailable,
    create_ledger,
)
from sidecar.budgets.journal import SqliteJournal
from sidecar.budgets.postgres import PostgresLedger
from sidecar.budgets.windows import calendar_bounds, parse_window
from sidecar.events.schema import LlmCall
from sidecar.limits import LimitsConfig, RequestLimiter
from sidecar.pricing import PriceTable
from tests.budgets.conftest import FakeClock

USER = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=10_000)
REQ = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)


def ledger_at(path: Path, clock: FakeClock, **kw: object) -> InProcessLedger:
    cfg = BudgetsConfig(policies=[USER], housekeeping_interval_s=3600, **kw)  # type: ignore[arg-type]
    return InProcessLedger(cfg, SqliteJournal(str(path)), clock)


async def test_a_restart_keeps_spend_reservations_and_policies(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "sidecar.db"
    first = ledger_at(db, clock, reservation_ttl_s=60.0)
    await first.start()
    ds = [await first.admit(REQ) for _ in range(3)]
    await first.settle(ds[0].reservation_id or "", input_tokens=700, cost_usd=0.25)
    await first.put_policy("user", "vip", BudgetPolicy(window="1d", max_tokens=50))
    await first.close()

    second = ledger_at(db, clock, reservation_ttl_s=60.0)
    await second.start()
    u = await second.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved, u.cost_usd) == (700, 2000, 0.25)
    assert (await second.usage("user", "vip")).remaining_tokens == 50
    assert second.stats()["open_reservations"] == 2
    assert await second.settle(ds[1].reservation_id or "", input_tokens=100, cost_usd=0.0)
    assert not await second.settle(ds[0].reservation_id or "", input_tokens=700, cost_usd=0.25)
    clock.advance(61)
    assert await second.expire() == 1
    assert (await second.usage("user", "u1")).tokens_reserved == 0
    await second.close()


async def test_group_commit_persists_without_close(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "sidecar.db"
    first = ledger_at(db, clock, flush_interval_s=0.01)
    await first.start()
    await first.admit(REQ)
    await first.flush()  # what the 10 ms timer does; no close (a crash after the commit)
    second = ledger_at(db, clock)
    await second.start()
    assert (await second.usage("user", "u1")).tokens_reserved == 1000
    await second.close()
    await first.close()


async def test_many_concurrent_admits_and_settles(clock: FakeClock) -> None:
    ledger = InProcessLedger(BudgetsConfig(policies=[USER]), None, clock)
    await ledger.start()
    ds = await asyncio.gather(*[ledger.admit(REQ) for _ in range(2000)])
    granted = [d for d in ds if d.allowed]
    assert len(granted) == 10
    settles = [
        ledger.settle(d.reservation_id or "", input_tokens=500, cost_usd=0.0)
        for d in granted
        for _ in range(3)
    ]
    assert sum(await asyncio.gather(*settles)) == 10
    more = await asyncio.gather(*[ledger.admit(REQ) for _ in range(100)])
    assert sum(d.allowed for d in more) == 5
    await ledger.close()


def test_create_ledger_follows_the_store_url(tmp_path: Path) -> None:
    cfg = BudgetsConfig()
    assert isinstance(create_ledger(cfg, f"sqlite+aiosqlite:///{tmp_path}/x.db"), InProcessLedger)
    assert isinstance(create_ledger(cfg, None), InProcessLedger)
    assert isinstance(create_ledger(cfg, "postgresql+asyncpg://u@h/db"), PostgresLedger)


def test_window_spellings() -> None:
    assert parse_window("1d").kind == "day" and parse_window("month").kind == "month"
    assert parse_window("rolling:15m").seconds == 900
    for bad in ("2d", "rolling:0s", "week", ""):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_a_day_across_dst_lasts_23_hours() -> None:
    ny = ZoneInfo("America/New_York")
    noon = datetime(2025, 3, 9, 12, tzinfo=ny).timestamp()
    start, end = calendar_bounds("day", noon, ny)
    assert end - start == 23 * 3600
    assert datetime.fromtimestamp(start, ny).hour == 0


def test_budget_config_validation() -> None:
    with pytest.raises(ValueError):
        BudgetPolicy(window="1d")
    with pytest.raises(ValueError):
        BudgetsConfig(timezone="Mars/Olympus")


def _admission(clock: FakeClock, **limits: object) -> tuple[Admission, InProcessLedger]:
    policies = [
        BudgetPolicyEntry(scope="user", id="*", window="1d", max_cost_usd=1.0),
        BudgetPolicyEntry(scope="user", id="*", model="gpt-4o", window="1d", max_tokens=5000),
    ]
    ledger = InProcessLedger(BudgetsConfig(policies=policies), None, clock)
    limiter = RequestLimiter(LimitsConfig(**limits), clock)  # type: ignore[arg-type]
    return Admission(ledger, limiter, PriceTable.load(), default_max_output_tokens=1000), ledger


async def test_admission_prices_the_estimate_and_matches_model_aliases(clock: FakeClock) -> None:
    admission, ledger = _admission(clock)
    body = AdmitBody(request_id="r1", user_id="u1", model="gpt-4o-2024-08-06", input_tokens=1000)
    d = await admission.admit(body)
    assert d.allowed and d.reservation_id
    u = await ledger.usage("user", "u1", "gpt-4o")
    assert u.tokens_reserved == 2000  # 1,000 in + the default 1,000 out
    assert (await ledger.usage("user", "u1")).remaining_cost_usd == pytest.approx(
        1.0 - (1000 * 2.5 + 1000 * 10.0) / 1e6
    )


async def test_admission_limit_denial_shape(clock: FakeClock) -> None:
    admission, _ = _admission(clock, max_tool_calls_per_request=1)
    tool = AdmitBody(request_id="r1", user_id="u1", kind="tool", tool="search", args={"q": 1})
    first = await admission.admit(tool)
    assert first.allowed and first.reservation_id is None
    d = await admission.admit(tool)
    assert d.http_status == 429
    assert d.to_dict() == {
        "allowed": False,
        "reason": "tool_call_limit_exceeded",
        "limit": {"name": "max_tool_calls_per_request", "value": 1, "current": 1},
    }


def _event(rid: str, id_: str = "e1") -> LlmCall:
    return LlmCall(
        id=id_, ts=1.0, request_id="r", model="gpt-4o", provider="openai", input_tokens=300,
        output_tokens=100, start_ts=1.0, duration_ms=5.0, reservation_id=rid, cost_usd=0.002,
    )  # fmt: skip


async def test_settler_settles_from_events_once(clock: FakeClock) -> None:
    ledger = InProcessLedger(BudgetsConfig(policies=[USER]), None, clock)
    settler = BudgetSettler(ledger)
    d = await ledger.admit(REQ)
    events = [_event(d.reservation_id or "", "e1"), _event(d.reservation_id or "", "e2")]
    await settler.charge(events, events)
    u = await ledger.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved, u.cost_usd) == (400, 0, 0.002)
    assert settler.stats()["settled"] == 1


async def test_settler_defers_while_the_store_is_down() -> None:
    cfg = BudgetsConfig(retry_interval_s=60.0, housekeeping_interval_s=3600)
    ledger = PostgresLedger(cfg, "postgresql://postgres@127.0.0.1:1/none")
    settler = BudgetSettler(ledger)
    with pytest.raises(StoreUnavailable):
        await settler.charge([_event("rsv_x")], [])
    assert settler.stats()["deferred"] == 1
    with pytest.raises(StoreUnavailable):
        await ledger.settle("rsv_x", input_tokens=1, cost_usd=0.0)
    assert await settler.retry() == 0 and settler.stats()["deferred"] == 1
