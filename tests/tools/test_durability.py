"""Tool policies and approvals survive kill -9 and restart (they live in the database), and a
database the gate cannot read answers 503 with Retry-After on every tool route, never a
decision under policies that may be stale and never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from sidecar.store import create_engine
from sidecar.store.config import StoreConfig
from tests.conftest import RunningSidecar, SidecarProcess

POLICY = {"rules": [{"tool": "shell", "action": "allow", "commands": {"deny": ["rm -rf"]}},
                    {"tool": "payments.*", "action": "approval"}]}  # fmt: skip


async def admit(http: aiohttp.ClientSession, url: str, tool: str, args: Any,
                **extra: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
    body = {"request_id": "r", "kind": "tool", "tool": tool, "args": args, **extra}
    async with http.post(url + "/v1/admit", json=body) as r:
        return r.status, await r.json()


async def test_policies_and_approvals_survive_kill_9(tmp_path: Path) -> None:
    sidecar = SidecarProcess(f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}").start()
    try:  # a new connection per request: the killed process's ones are dead
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            async with http.put(sidecar.url + "/v1/tool-policies/*/*", json=POLICY) as r:
                assert r.status == 200
            _, asked = await admit(http, sidecar.url, "payments.send", {"n": 1})
            approval_id = asked["approval_id"]
            sidecar.stop()  # SIGKILL
            sidecar.start()
            status, body = await admit(http, sidecar.url, "shell", {"command": "rm -rf /"})
            assert (status, body["reason"]) == (403, "command_denied")
            async with http.get(f"{sidecar.url}/v1/approvals/{approval_id}") as r:
                assert (await r.json())["state"] == "pending"
            async with http.post(f"{sidecar.url}/v1/approvals/{approval_id}",
                                 json={"decision": "approve"}) as r:  # fmt: skip
                assert r.status == 200
            status, _ = await admit(http, sidecar.url, "payments.send", {"n": 1},
                                    approval_id=approval_id)  # fmt: skip
            assert status == 200
    finally:
        sidecar.stop()


async def test_an_unreachable_store_is_503_with_retry_after(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    tools = sidecar.parts.tools
    assert tools is not None
    gate = await tools.get()  # built at its first use
    down = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none", StoreConfig())
    await gate.close()  # its held connection too
    gate.store._engine = down  # a real engine to a port nobody listens on
    gate.approvals._engine = down
    try:
        status, body = await admit(http, sidecar.url, "shell", {"command": "ls"})
        assert status == 503 and body["error"]["code"] == "store_unavailable"
        calls = [("PUT", "/v1/tool-policies/*/*", POLICY), ("GET", "/v1/tool-policies", None),
                 ("GET", "/v1/approvals", None), ("GET", "/v1/approvals/apr_x?wait=1", None),
                 ("POST", "/v1/approvals/apr_x", {"decision": "deny"})]  # fmt: skip
        for method, path, payload in calls:
            async with http.request(method, sidecar.url + path, json=payload) as r:
                assert r.status == 503, (method, path, await r.text())
                assert r.headers["Retry-After"] == "1"
    finally:
        await down.dispose()
