"""Model-based test of the approval store on a real SQLite file: random sequences of requests,
reads, decisions, consumptions and clock moves from two tenants give the answers of a small
in-memory model (states move pending → approved / denied / expired once; an approval is used
once, for its tenant and arguments only; another tenant never sees it; a repeated request
while one is pending answers that one)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.store import create_engine
from sidecar.store.config import StoreConfig
from sidecar.tools import ApprovalConflict, ApprovalStore

TTL = 10.0
TENANTS = st.sampled_from(["a", "b", None])
OPS = st.lists(st.one_of(
    st.tuples(st.just("request"), st.sampled_from(["a", "b"]), st.integers(0, 1)),
    st.tuples(st.just("get"), st.integers(0, 5), TENANTS),
    st.tuples(st.just("decide"), st.integers(0, 5), TENANTS, st.booleans()),
    st.tuples(st.just("consume"), st.integers(0, 5), TENANTS, st.integers(0, 1)),
    st.tuples(st.just("advance"), st.sampled_from([1.0, 4.0, 11.0])),
), min_size=1, max_size=25)  # fmt: skip


@dataclass
class Model:
    tenant: str
    arg: int
    expires: float
    state: str = "pending"
    used: bool = False


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def visible(m: Model, tenant: str | None) -> bool:
    return tenant is None or m.tenant == tenant


async def run(ops: list[tuple[Any, ...]], path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}", StoreConfig())
    clock = Clock()
    store = ApprovalStore(engine, TTL, clock)
    await store.start()
    ids: list[str] = []
    model: dict[str, Model] = {}

    def due(m: Model) -> None:
        if m.state == "pending" and clock.now >= m.expires:
            m.state = "expired"

    try:
        for op in ops:
            if op[0] == "request":
                _, tenant, arg = op
                got = await store.request(tenant=tenant, agent=None, user_id=None,
                                          request_id="r", tool="t", args={"n": arg})  # fmt: skip
                same = [i for i, m in model.items() if m.tenant == tenant and m.arg == arg
                        and m.state == "pending" and clock.now < m.expires]  # fmt: skip
                if same:
                    assert got.id == same[0]
                else:
                    assert got.id not in model
                    model[got.id] = Model(tenant, arg, clock.now + TTL)
                    ids.append(got.id)
            elif op[0] == "advance":
                clock.now += op[1]
            elif not ids:
                continue
            elif op[0] == "get":
                approval_id = ids[op[1] % len(ids)]
                m = model[approval_id]
                got_a = await store.get(approval_id, op[2])
                if not visible(m, op[2]):
                    assert got_a is None
                    continue
                due(m)
                assert got_a is not None and (got_a.state, got_a.used) == (m.state, m.used)
            elif op[0] == "decide":
                approval_id, tenant, approve = ids[op[1] % len(ids)], op[2], op[3]
                m = model[approval_id]
                try:
                    got_d = await store.decide(approval_id, tenant, approve=approve, by="x",
                                               note=None)  # fmt: skip
                except ApprovalConflict:
                    due(m)
                    assert visible(m, tenant) and m.state != "pending"
                    continue
                if not visible(m, tenant):
                    assert got_d is None
                    continue
                due(m)
                assert m.state == "pending"
                m.state = "approved" if approve else "denied"
                assert got_d is not None and got_d.state == m.state
            elif op[0] == "consume":
                approval_id, tenant, arg = ids[op[1] % len(ids)], op[2], op[3]
                m = model[approval_id]
                ok = await store.consume(approval_id, tenant, "t", {"n": arg})
                expected = (m.state == "approved" and not m.used and m.arg == arg
                            and (tenant or "") == m.tenant)  # fmt: skip
                assert ok is expected
                m.used = m.used or ok
    finally:
        await engine.dispose()


@given(OPS)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_approval_store_matches_the_model(tmp_path: Path, ops: list[tuple[Any, ...]]) -> None:
    path = tmp_path / f"model-{abs(hash(tuple(ops)))}.db"
    asyncio.run(run(ops, path))
    path.unlink(missing_ok=True)
