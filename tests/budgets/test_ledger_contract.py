"""The ledger contract, run against the in-process and the PostgreSQL ledger alike."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from sidecar.budgets import AdmitRequest, BudgetPolicy, UnknownBudget
from tests.budgets.conftest import Factory, FakeClock

USER_100K = {"scope": "user", "id": "*", "window": "1d", "max_tokens": 100_000}


def req(user: str = "u1", tokens: int = 1000, cost: float = 0.0, **kw: object) -> AdmitRequest:
    return AdmitRequest(
        request_id="r", user_id=user, input_tokens=tokens // 2,
        max_output_tokens=tokens - tokens // 2, cost_usd=cost, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_concurrent_admits_never_overspend(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER_100K])
    decisions = await asyncio.gather(*[ledger.admit(req()) for _ in range(300)])
    granted = [d for d in decisions if d.allowed]
    assert len(granted) == 100
    assert len({d.reservation_id for d in granted}) == 100
    usage = await ledger.usage("user", "u1")
    assert (usage.tokens_reserved, usage.remaining_tokens) == (100_000, 0)
    denied = [d for d in decisions if not d.allowed]
    assert {d.reason for d in denied} == {"token_budget_exceeded"}
    assert ledger.stats()["denied_token_budget_exceeded"] == 200


async def test_settle_below_estimate_frees_tokens(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER_100K])
    ds = [await ledger.admit(req()) for _ in range(100)]
    assert all(d.allowed for d in ds)
    assert not (await ledger.admit(req(tokens=600))).allowed
    assert await ledger.settle(ds[0].reservation_id or "", input_tokens=400, cost_usd=0.01)
    assert (await ledger.admit(req(tokens=600))).allowed
    assert not (await ledger.admit(req(tokens=1))).allowed
    usage = await ledger.usage("user", "u1")
    assert (usage.tokens_used, usage.tokens_reserved) == (400, 99_600)
    assert usage.cost_usd == pytest.approx(0.01)


async def test_settling_twice_counts_once(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER_100K])
    d = await ledger.admit(req())
    rid = d.reservation_id or ""
    results = await asyncio.gather(
        *[ledger.settle(rid, input_tokens=700, cost_usd=0.5) for _ in range(5)]
    )
    assert sorted(results) == [False] * 4 + [True]
    assert not await ledger.settle("rsv_unknown", input_tokens=1, cost_usd=1.0)
    usage = await ledger.usage("user", "u1")
    assert (usage.tokens_used, usage.tokens_reserved, usage.cost_usd) == (700, 0, 0.5)


async def test_usage_has_exactly_the_contract_fields(make_ledger: Factory) -> None:
    ledger = await make_ledger([{**USER_100K, "max_cost_usd": 5.0}])
    await ledger.admit(req(cost=1.25))
    u = await ledger.usage("user", "u1")
    import msgspec

    assert set(msgspec.to_builtins(u)) == {
        "tokens_used", "cost_usd", "tokens_reserved", "remaining_tokens",
        "remaining_cost_usd", "window_start", "window_end",
    }  # fmt: skip
    assert u.remaining_cost_usd == pytest.approx(3.75)
    assert u.window_start == "2025-03-10T00:00:00+00:00"
    assert u.window_end == "2025-03-11T00:00:00+00:00"
    with pytest.raises(UnknownBudget):
        await ledger.usage("tenant", "nobody")


async def test_window_resets_at_the_boundary(make_ledger: Factory, clock: FakeClock) -> None:
    ledger = await make_ledger([{**USER_100K, "window": "hour"}])
    clock.now = 1_741_611_599.0  # 12:59:59Z
    for _ in range(100):
        assert (await ledger.admit(req())).allowed
    denied = await ledger.admit(req())
    assert not denied.allowed and denied.retry_after_s == pytest.approx(1.0)
    clock.now = 1_741_611_600.0  # 13:00:00Z, a new window
    assert (await ledger.admit(req())).allowed
    u = await ledger.usage("user", "u1")
    assert (u.tokens_reserved, u.window_start) == (1000, "2025-03-10T13:00:00+00:00")


async def test_month_window_starts_at_local_midnight(
    make_ledger: Factory, clock: FakeClock
) -> None:
    ledger = await make_ledger(
        [{**USER_100K, "window": "month", "max_tokens": 1000}], timezone="Asia/Shanghai"
    )
    start_of_april_shanghai = datetime.fromisoformat("2025-04-01T00:00:00+08:00").timestamp()
    clock.now = start_of_april_shanghai - 1  # 2025-03-31T15:59:59Z: still March in Shanghai
    assert (await ledger.admit(req())).allowed
    d = await ledger.admit(req())
    assert not d.allowed and d.retry_after_s == pytest.approx(1.0)
    u = await ledger.usage("user", "u1")
    assert u.window_start == "2025-03-01T00:00:00+08:00"
    assert u.window_end == "2025-04-01T00:00:00+08:00"
    clock.now = start_of_april_shanghai
    assert (await ledger.admit(req())).allowed


async def test_crashed_agent_reservation_expires(make_ledger: Factory, clock: FakeClock) -> None:
    ledger = await make_ledger([USER_100K], reservation_ttl_s=60.0)
    crashed = [await ledger.admit(req()) for _ in range(100)]
    assert all(d.allowed for d in crashed)
    clock.advance(59.0)
    assert not (await ledger.admit(req())).allowed
    clock.advance(1.0)
    assert (await ledger.admit(req())).allowed  # the 100 holds expired
    u = await ledger.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved) == (0, 1000)
    assert ledger.stats()["expired"] == 100


async def test_expire_sweep_releases_holds(make_ledger: Factory, clock: FakeClock) -> None:
    ledger = await make_ledger([USER_100K], reservation_ttl_s=10.0)
    await ledger.admit(req())
    clock.advance(11.0)
    assert await ledger.expire() == 1
    assert (await ledger.usage("user", "u1")).tokens_reserved == 0
    assert await ledger.expire() == 0


async def test_late_settle_after_expiry_charges_actual_once(
    make_ledger: Factory, clock: FakeClock
) -> None:
    ledger = await make_ledger([USER_100K], reservation_ttl_s=10.0)
    d = await ledger.admit(req())
    clock.advance(11.0)
    await ledger.expire()
    assert await ledger.settle(d.reservation_id or "", input_tokens=800, cost_usd=0.0)
    assert not await ledger.settle(d.reservation_id or "", input_tokens=800, cost_usd=0.0)
    u = await ledger.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved) == (800, 0)


async def test_all_or_none_across_budgets(make_ledger: Factory) -> None:
    ledger = await make_ledger(
        [USER_100K, {"scope": "tenant", "id": "acme", "window": "1d", "max_tokens": 2500}]
    )
    assert (await ledger.admit(req("a", tenant="acme"))).allowed
    assert (await ledger.admit(req("b", tenant="acme"))).allowed
    d = await ledger.admit(req("c", tenant="acme"))
    assert not d.allowed and d.limit is not None and d.limit["scope"] == "tenant"
    # The denied admit reserved nothing on the user budget.
    assert (await ledger.usage("user", "c")).tokens_reserved == 0
    assert (await ledger.usage("tenant", "acme")).tokens_reserved == 2000
    assert (await ledger.admit(req("c", tenant="other"))).allowed


async def test_cost_budget_denial(make_ledger: Factory) -> None:
    ledger = await make_ledger([{"scope": "user", "id": "*", "window": "day", "max_cost_usd": 1.0}])
    assert (await ledger.admit(req(cost=0.6))).allowed
    d = await ledger.admit(req(cost=0.5))
    assert (d.allowed, d.reason) == (False, "cost_budget_exceeded")
    assert d.limit == {"scope": "user", "id": "u1", "window": "day", "max_cost_usd": 1.0}
    assert d.usage is not None and d.usage.remaining_cost_usd == pytest.approx(0.4)
    assert (await ledger.admit(req(cost=0.4))).allowed


async def test_an_estimate_larger_than_the_cap_never_fits(make_ledger: Factory) -> None:
    ledger = await make_ledger([{**USER_100K, "max_tokens": 500}])
    d = await ledger.admit(req(tokens=501))
    assert not d.allowed and d.retry_after_s is None


async def test_global_budget_applies_to_everyone(make_ledger: Factory) -> None:
    ledger = await make_ledger(
        [{"scope": "global", "id": "all", "window": "1d", "max_tokens": 3000}]
    )
    assert all([(await ledger.admit(req(f"u{i}"))).allowed for i in range(3)])
    assert not (await ledger.admit(req("u9"))).allowed
    assert (await ledger.admit(AdmitRequest(request_id="r", input_tokens=1))).allowed is False


async def test_no_applicable_budget_allows_without_reservation(make_ledger: Factory) -> None:
    ledger = await make_ledger([])
    d = await ledger.admit(req())
    assert d.allowed and d.reservation_id is None


async def test_warn_at_crossing_reported_once(make_ledger: Factory) -> None:
    ledger = await make_ledger([{**USER_100K, "max_tokens": 10_000, "warn_at": 0.5}])
    ds = [await ledger.admit(req()) for _ in range(10)]
    warned = [i for i, d in enumerate(ds) if d.warnings]
    assert warned == [4]
    w = ds[4].warnings[0]
    assert (w.dimension, w.warn_at, w.ratio, w.id) == ("tokens", 0.5, 0.5, "u1")
    assert ledger.stats()["warnings"] == 1


async def test_rolling_window_ages_out_exactly(make_ledger: Factory, clock: FakeClock) -> None:
    ledger = await make_ledger(
        [{"scope": "user", "id": "*", "window": "rolling:60s", "max_tokens": 3000}],
        reservation_ttl_s=3600.0,
    )
    first = await ledger.admit(req())
    await ledger.settle(first.reservation_id or "", input_tokens=1000, cost_usd=0.0)
    clock.advance(20)
    await ledger.admit(req())
    clock.advance(20)
    await ledger.admit(req())
    d = await ledger.admit(req())
    assert not d.allowed and d.retry_after_s == pytest.approx(20.0)
    clock.advance(19.9)
    assert not (await ledger.admit(req())).allowed
    clock.advance(0.1)  # the first hold is now 60 s old
    assert (await ledger.admit(req())).allowed
    u = await ledger.usage("user", "u1")
    assert (u.tokens_used, u.tokens_reserved) == (0, 3000)


async def test_rolling_hold_expiry_and_late_settle(make_ledger: Factory, clock: FakeClock) -> None:
    ledger = await make_ledger(
        [{"scope": "user", "id": "*", "window": "rolling:1h", "max_tokens": 2000}],
        reservation_ttl_s=30.0,
    )
    d = await ledger.admit(req())
    clock.advance(31)
    await ledger.expire()
    assert (await ledger.usage("user", "u1")).tokens_reserved == 0
    assert await ledger.settle(d.reservation_id or "", input_tokens=1500, cost_usd=0.0)
    assert (await ledger.usage("user", "u1")).tokens_used == 1500
    clock.advance(3600)
    assert (await ledger.usage("user", "u1")).tokens_used == 0


async def test_runtime_policy_put_and_delete(make_ledger: Factory) -> None:
    ledger = await make_ledger([USER_100K])
    await ledger.put_policy("user", "vip", BudgetPolicy(window="1d", max_tokens=1500))
    assert (await ledger.admit(req("vip"))).allowed
    assert not (await ledger.admit(req("vip"))).allowed
    assert (await ledger.usage("user", "vip")).remaining_tokens == 500
    assert any(p.id == "vip" for p in ledger.policies())
    assert await ledger.delete_policy("user", "vip")
    assert (await ledger.admit(req("vip"))).allowed  # back on the 100k template


async def test_per_model_budget(make_ledger: Factory) -> None:
    ledger = await make_ledger(
        [{"scope": "user", "id": "*", "model": "gpt-4o", "window": "1d", "max_tokens": 1000}]
    )
    assert (await ledger.admit(req(model="gpt-4o"))).allowed
    assert not (await ledger.admit(req(model="gpt-4o"))).allowed
    assert (await ledger.admit(req(model="gpt-4o-mini"))).allowed
    assert (await ledger.usage("user", "u1", "gpt-4o")).tokens_reserved == 1000
