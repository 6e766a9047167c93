"""The tool policy store and the approval store, on a real SQLite file and a real PostgreSQL.

Two stores on one database stand for two replicas: a PUT through one binds the other's next
decision (no refresh interval); DELETE leaves the configured policy; approvals move pending →
approved / denied / expired once, by the injected clock; another tenant's approval is not found;
an approval is consumed once, for exactly its arguments; the gate decides in the documented
order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store import create_engine
from sidecar.store.config import StoreConfig
from sidecar.tools import (
    ApprovalConflict,
    ApprovalStore,
    ToolCall,
    ToolGate,
    ToolPolicy,
    ToolPolicyEntry,
    ToolPolicyStore,
    ToolsConfig,
)
from tests.conftest import PG_ADMIN_DSN, _pg_reachable, require_service


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
async def engines(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines (two replicas) on one database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tools.db'}"
        drop = None
    else:
        require_service(_pg_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
        name = f"sidecar_tools_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url, drop = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", name
    a, b = create_engine(url, StoreConfig()), create_engine(url, StoreConfig())
    try:
        yield a, b
    finally:
        for store in OPEN:
            await store.close()
        OPEN.clear()
        await a.dispose()
        await b.dispose()
        if drop:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            await conn.close()


OPEN: list[ToolPolicyStore] = []  # closed by the engines fixture (they hold a connection)


def opened(store: ToolPolicyStore) -> ToolPolicyStore:
    OPEN.append(store)
    return store


def policy(rules: list[dict[str, Any]]) -> ToolPolicy:
    return msgspec.convert({"rules": rules}, ToolPolicy)


async def test_a_put_on_one_replica_binds_the_other_at_once(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    configured = [msgspec.convert({"tenant": "acme", "agent": "*", "rules": [
        {"tool": "*", "action": "allow"}]}, ToolPolicyEntry)]  # fmt: skip
    one = opened(ToolPolicyStore(engines[0], configured))
    two = opened(ToolPolicyStore(engines[1], configured))
    await one.start()
    await two.start()
    config = ToolsConfig()
    gate_two = ToolGate(config, two, ApprovalStore(engines[1], 60))
    await gate_two.approvals.start()
    assert (await gate_two.check(ToolCall("shell", tenant="acme"))).allowed
    await one.put("acme", "*", policy([{"tool": "shell", "action": "deny"}]))
    assert (await gate_two.check(ToolCall("shell", tenant="acme"))).reason == "tool_denied"
    assert (await two.current()).lookup("acme", "bot") is not None
    assert await one.delete("acme", "*") is True
    assert (await gate_two.check(ToolCall("shell", tenant="acme"))).allowed  # configured again
    assert await one.delete("acme", "*") is False


async def test_policy_lookup_prefers_the_most_specific(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    store = opened(ToolPolicyStore(engines[0]))
    await store.start()
    await store.put("*", "*", policy([{"tool": "*", "action": "deny"}]))
    await store.put("acme", "*", policy([{"tool": "*", "action": "approval"}]))
    await store.put("acme", "coder", policy([{"tool": "*", "action": "allow"}]))
    await store.put("*", "coder", policy([{"tool": "web", "action": "allow"}]))
    book = await store.current()
    assert book.lookup("acme", "coder").rules[0].action == "allow"  # type: ignore[union-attr]
    assert book.lookup("acme", "other").rules[0].action == "approval"  # type: ignore[union-attr]
    assert book.lookup("beta", "coder").rules[0].tool == "web"  # type: ignore[union-attr]
    assert book.lookup(None, None).rules[0].action == "deny"  # type: ignore[union-attr]


async def test_approval_lifecycle(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    clock, audit = Clock(), []

    async def record(approval: Any, what: str) -> None:
        audit.append((approval.id, what))

    one = ApprovalStore(engines[0], 60, clock, record)
    two = ApprovalStore(engines[1], 60, clock, record)
    await one.start()
    first = await one.request(tenant="a", agent="bot", user_id="u", request_id="r1",
                              tool="pay", args={"amount": 5})  # fmt: skip
    again = await one.request(tenant="a", agent="bot", user_id="u", request_id="r1",
                              tool="pay", args={"amount": 5})  # fmt: skip
    assert again.id == first.id and first.state == "pending"
    assert await two.get(first.id, "b") is None  # another tenant: not found
    assert await two.decide(first.id, "b", approve=True, by="x", note=None) is None
    assert [p.id for p in await two.pending("a")] == [first.id]
    assert await two.pending("b") == []
    decided = await two.decide(first.id, "a", approve=True, by="alice", note="ok")
    assert decided is not None and decided.state == "approved" and decided.decided_by == "alice"
    with pytest.raises(ApprovalConflict):
        await one.decide(first.id, "a", approve=False, by="bob", note=None)
    assert not await one.consume(first.id, "a", "pay", {"amount": 500})  # other arguments
    assert not await one.consume(first.id, "b", "pay", {"amount": 5})  # other tenant
    assert await one.consume(first.id, "a", "pay", {"amount": 5})
    assert not await one.consume(first.id, "a", "pay", {"amount": 5})  # once

    denied = await one.request(tenant="a", agent=None, user_id=None, request_id="r2",
                               tool="pay", args=None)  # fmt: skip
    decided = await two.decide(denied.id, None, approve=False, by="root", note=None)
    assert decided is not None and decided.state == "denied"
    late = await one.request(tenant="a", agent=None, user_id=None, request_id="r3", tool="pay",
                             args=[1])  # fmt: skip
    clock.now += 61
    assert (await two.get(late.id, "a")).state == "expired"  # type: ignore[union-attr]
    with pytest.raises(ApprovalConflict):
        await one.decide(late.id, "a", approve=True, by="alice", note=None)
    odd = await one.request(
        tenant="a",
        agent="x" * 300,
        user_id="a:" + "u" * 600,
        request_id="nul\x00id",
        tool="pay",
        args={"big": 2**63, "s": "\x00"},
    )
    assert (await two.get(odd.id, "a")).request_id == "nul\ufffdid"  # type: ignore[union-attr]
    audit.pop()
    assert [w for _, w in audit] == ["approval_requested", "approval_approved",
                                     "approval_requested", "approval_denied",
                                     "approval_requested", "approval_expired"]  # fmt: skip


async def test_gate_order_and_approval_round_trip(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    store = opened(ToolPolicyStore(engines[0]))
    approvals = ApprovalStore(engines[0], 60, Clock())
    await store.start()
    await approvals.start()
    await store.put("*", "*", policy([
        {"tool": "fs.*", "action": "approval",
         "args_schema": {"type": "object", "required": ["path"]},
         "paths": {"allow": ["/work/**"]}},
        {"tool": "shell", "action": "allow", "commands": {"deny": ["rm -rf"]},
         "rate": {"per_s": 0.001, "burst": 1}},
        {"tool": "*", "action": "deny"},
    ]))  # fmt: skip
    gate = ToolGate(ToolsConfig(), store, approvals)
    bad = await gate.check(ToolCall("fs.read", {}))
    assert (bad.reason, bad.field, bad.http_status) == ("tool_args_invalid", "args.path", 403)
    out = await gate.check(ToolCall("fs.read", {"path": "/work/../etc"}))
    assert (out.reason, out.field) == ("path_denied", "args.path")
    ask = await gate.check(ToolCall("fs.read", {"path": "/work/a"}, request_id="r"))
    assert ask.reason == "approval_required" and ask.approval_id
    await approvals.decide(ask.approval_id, None, approve=True, by="me", note=None)
    ok = await gate.check(ToolCall("fs.read", {"path": "/work/a"}, approval_id=ask.approval_id))
    assert ok.allowed
    assert (await gate.check(ToolCall("shell", {"command": "r'm' -rf /"}))).reason == (
        "command_denied"
    )
    assert (await gate.check(ToolCall("shell", {"command": "ls"}))).allowed
    limited = await gate.check(ToolCall("shell", {"command": "ls"}))
    assert limited.reason == "tool_rate_limited" and limited.http_status == 429
    assert (limited.retry_after_s or 0) > 0
    assert (await gate.check(ToolCall("email"))).reason == "tool_denied"


async def test_concurrent_decisions_share_reads_and_all_see_an_acknowledged_put(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    one, two = opened(ToolPolicyStore(engines[0])), opened(ToolPolicyStore(engines[1]))
    await one.start()
    await two.start()
    for round_ in range(3):
        action = ("deny", "allow", "approval")[round_]
        await one.put("*", "*", policy([{"tool": "shell", "action": action}]))
        before = two.version_reads
        books = await asyncio.gather(*(two.current() for _ in range(200)))
        assert {b.lookup(None, None).rules[0].action for b in books} == {action}  # type: ignore[union-attr]
        assert two.version_reads - before <= 2  # one read running, one shared by the rest


async def test_default_action_for_calls_no_rule_matches(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    store = opened(ToolPolicyStore(engines[0]))
    approvals = ApprovalStore(engines[0], 60, Clock())
    await store.start()
    await approvals.start()
    await store.put("*", "*", policy([{"tool": "calc", "action": "allow"}]))
    for action, reason in (("allow", None), ("deny", "tool_denied"),
                           ("approval", "approval_required")):  # fmt: skip
        gate = ToolGate(ToolsConfig(default_action=action), store, approvals)  # type: ignore[arg-type]
        assert (await gate.check(ToolCall("other", {"x": 1}))).reason == reason
        assert (await gate.check(ToolCall("calc"))).allowed
