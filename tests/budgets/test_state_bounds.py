"""The in-process ledger's memory is bounded, and its bounds never let a budget be overspent.

Model-based (hypothesis): random admits of few users against small caps
(``max_counters``, ``max_reservations``), settles, clock ticks past reservation TTLs and journal
flushes, compared after every step with a reference that knows only budgets: a grant never
takes a user past its cap, a budget denial happens only when it would, and every user's usage
and reservations read back exactly (an evicted counter held nothing). Refusals at a cap
(:class:`CapacityExceeded`, HTTP 503) happen only when the cap is really reached by state that
must be kept. Both without a journal and with the SQLite journal. Runtime policies past
``max_policies`` are refused naming the field.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.budgets.config import BudgetPolicy, BudgetPolicyEntry, BudgetsConfig
from sidecar.budgets.in_process import InProcessLedger
from sidecar.budgets.journal import SqliteJournal
from sidecar.budgets.model import AdmitRequest, CapacityExceeded, InvalidBudgetInput

CAP_TOKENS = 1000
MAX_COUNTERS = 4
MAX_RESERVATIONS = 5
TTL = 60.0
GRACE = 30.0  # late_settle_s: an expired reservation still settles this long
START = 1_798_761_610.0  # 00:00:10 UTC: all steps stay within one day window

admit = st.tuples(st.just("admit"), st.integers(0, 7), st.integers(1, 600))
settle = st.tuples(st.just("settle"), st.integers(0, 20), st.integers(0, 800))
tick = st.tuples(st.just("tick"), st.integers(0, 90), st.just(0))
flush = st.tuples(st.just("flush"), st.just(0), st.just(0))
steps = st.lists(st.one_of(admit, admit, settle, tick, flush), min_size=1, max_size=60)


@dataclass
class Reference:
    used: dict[str, int] = field(default_factory=dict)
    held: dict[str, tuple[str, int, float]] = field(default_factory=dict)  # rid -> user, t, exp

    def reserved(self, user: str, now: float) -> int:
        return sum(t for u, t, exp in self.held.values() if u == user and exp > now)

    def users_with_state(self, now: float) -> set[str]:
        """Users whose counter must be kept: usage, or a reservation that may still settle."""
        return {u for u, n in self.used.items() if n} | {
            u for u, _, exp in self.held.values() if exp + GRACE >= now
        }


def _config() -> BudgetsConfig:
    return BudgetsConfig(
        policies=[BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=CAP_TOKENS)],
        max_counters=MAX_COUNTERS,
        max_reservations=MAX_RESERVATIONS,
        reservation_ttl_s=TTL,
        late_settle_s=GRACE,
        charge_dedup_s=TTL + GRACE,
        housekeeping_interval_s=3600.0,
    )


async def _run(plan: list[tuple[str, int, int]], journal_path: Path | None) -> None:
    now = [START]
    journal = SqliteJournal(str(journal_path)) if journal_path is not None else None
    ledger = InProcessLedger(_config(), journal, lambda: now[0])
    await ledger.start()
    ref = Reference()
    try:
        for n, (op, a, b) in enumerate(plan):
            t = now[0]
            if op == "admit":
                user = f"u{a}"
                live = ref.reserved(user, t) + ref.used.get(user, 0)
                with_state = ref.users_with_state(t)
                try:
                    d = await ledger.admit(
                        AdmitRequest(request_id=f"r{n}", user_id=user, input_tokens=b)
                    )
                except CapacityExceeded as exc:
                    open_now = sum(exp + GRACE >= t for _, _, exp in ref.held.values())
                    if exc.part == "reservations":
                        assert open_now >= MAX_RESERVATIONS, (open_now, exc)
                    elif journal is None:  # with a journal, unflushed counters stay too
                        assert user not in with_state and len(with_state) >= MAX_COUNTERS
                    continue
                if d.allowed:
                    assert live + b <= CAP_TOKENS, "a grant overspends the budget"
                    assert d.reservation_id is not None
                    ref.held[d.reservation_id] = (user, b, t + TTL)
                else:
                    assert live + b > CAP_TOKENS, (live, b, d)
            elif op == "settle" and ref.held:
                rid = list(ref.held)[a % len(ref.held)]
                user, _, exp = ref.held.pop(rid)
                ok = await ledger.settle(rid, input_tokens=b)
                assert ok is (t <= exp + GRACE), (ok, t, exp)
                if ok:
                    ref.used[user] = ref.used.get(user, 0) + b
            elif op == "tick":
                now[0] += a
                await ledger.expire()
            elif op == "flush":
                await ledger.flush()
            for i in range(8):
                user = f"u{i}"
                usage = await ledger.usage("user", user)
                assert usage.tokens_used == ref.used.get(user, 0), (user, usage)
                assert usage.tokens_reserved == ref.reserved(user, now[0]), (user, usage)
            assert len(ledger._counters) <= MAX_COUNTERS + 1  # charges may add one past it
    finally:
        await ledger.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_caps_never_let_a_budget_be_overspent_or_forget_usage(
    plan: list[tuple[str, int, int]],
) -> None:
    asyncio.run(_run(plan, None))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=steps)
def test_caps_hold_with_the_journal(plan: list[tuple[str, int, int]], tmp_path: Path) -> None:
    path = tmp_path / f"j{abs(hash(tuple(plan)))}.db"
    asyncio.run(_run(plan, path))


async def test_a_flood_of_new_users_stops_at_the_cap_and_frees_with_time() -> None:
    now = [START]
    ledger = InProcessLedger(_config(), None, lambda: now[0])
    await ledger.start()
    try:
        granted = refused = 0
        for n in range(100):
            try:
                d = await ledger.admit(
                    AdmitRequest(request_id=f"r{n}", user_id=f"new-{n}", input_tokens=10)
                )
                granted += d.allowed
            except CapacityExceeded:
                refused += 1
        assert granted == MAX_RESERVATIONS - 1 or granted == MAX_COUNTERS
        assert refused == 100 - granted
        assert len(ledger._counters) <= MAX_COUNTERS
        now[0] += TTL + GRACE + 1  # expired and past the grace: their counters hold nothing
        await ledger.expire()
        d = await ledger.admit(
            AdmitRequest(request_id="later", user_id="late-user", input_tokens=10)
        )
        assert d.allowed
        stats = ledger.stats()
        assert stats["state_evictions_counters"] >= 1
        assert stats["state_refusals_counters"] + stats["state_refusals_reservations"] == refused
    finally:
        await ledger.close()


async def test_runtime_policies_past_the_cap_are_refused_naming_the_field() -> None:
    ledger = InProcessLedger(BudgetsConfig(max_policies=3), None)
    await ledger.start()
    try:
        policy = BudgetPolicy(window="1d", max_tokens=10)
        for n in range(3):
            await ledger.put_policy("tenant", f"t{n}", policy)
        await ledger.put_policy("tenant", "t0", BudgetPolicy(window="1d", max_tokens=20))
        with pytest.raises(InvalidBudgetInput) as refused:
            await ledger.put_policy("tenant", "t3", policy)
        assert refused.value.field == "id"
        assert await ledger.delete_policy("tenant", "t1")
        await ledger.put_policy("tenant", "t3", policy)
    finally:
        await ledger.close()


async def test_a_counter_a_late_settle_may_still_reach_is_kept() -> None:
    """An expired reservation within ``late_settle_s`` still settles on its counter: the
    counter holds zero meanwhile, yet evicting it would lose the late usage."""
    now = [START]
    cfg = msgspec.structs.replace(_config(), max_counters=2)
    ledger = InProcessLedger(cfg, None, lambda: now[0])
    await ledger.start()
    try:
        first = await ledger.admit(AdmitRequest(request_id="a", user_id="u0", input_tokens=900))
        await ledger.admit(AdmitRequest(request_id="b", user_id="u1", input_tokens=100))
        now[0] += TTL + 1  # both expired, both within the grace
        await ledger.expire()
        with pytest.raises(CapacityExceeded):
            await ledger.admit(AdmitRequest(request_id="c", user_id="u2", input_tokens=10))
        assert first.reservation_id is not None
        assert await ledger.settle(first.reservation_id, input_tokens=900)
        assert (await ledger.usage("user", "u0")).tokens_used == 900
        denied = await ledger.admit(AdmitRequest(request_id="d", user_id="u0", input_tokens=200))
        assert not denied.allowed  # the late usage counts: no second 900 for u0
        now[0] += GRACE  # u1's reservation is past its grace: its empty counter may go
        granted = await ledger.admit(AdmitRequest(request_id="e", user_id="u2", input_tokens=10))
        assert granted.allowed
        assert (await ledger.usage("user", "u0")).tokens_used == 900
    finally:
        await ledger.close()
