"""A tool policy PUT on one of three ``agent-sidecar serve`` processes sharing PostgreSQL binds
the other two at once: the very next admit on each is decided under it (no refresh interval,
no sleep), and so is a DELETE; an approval asked on one replica is listed, decided and waited
for on the others."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.conftest import SidecarProcess

ALLOW_ALL = "[{tenant: '*', agent: '*', rules: [{tool: '*', action: allow}]}]"


async def test_a_put_on_one_binds_the_other_two_at_once(pg_url: str) -> None:
    sidecars = [SidecarProcess(pg_url, env={"SIDECAR_TOOLS__POLICIES": ALLOW_ALL})
                for _ in range(3)]  # fmt: skip
    try:
        for sidecar in sidecars:
            sidecar.start()
        async with aiohttp.ClientSession() as http:

            async def admit(url: str, tool: str, args: Any) -> tuple[int, dict[str, Any]]:
                body = {"request_id": "r", "kind": "tool", "tool": tool, "args": args}
                async with http.post(url + "/v1/admit", json=body) as r:
                    return r.status, await r.json()

            for sidecar in sidecars:
                assert (await admit(sidecar.url, "shell", {"command": "rm -rf /"}))[0] == 200
            policy = {"rules": [{"tool": "shell", "action": "allow",
                                 "commands": {"deny": ["rm -rf"]}},
                                {"tool": "payments.*", "action": "approval"}]}  # fmt: skip
            async with http.put(sidecars[0].url + "/v1/tool-policies/*/*", json=policy) as r:
                assert r.status == 200
            for sidecar in sidecars[1:]:  # the next admit, with no wait in between
                status, body = await admit(sidecar.url, "shell", {"command": "'r'm -fr /"})
                assert (status, body["reason"]) == (403, "command_denied")
                assert (await admit(sidecar.url, "shell", {"command": "ls"}))[0] == 200

            status, asked = await admit(sidecars[1].url, "payments.send", {"n": 1})
            assert asked["reason"] == "approval_required"
            approval_id = asked["approval_id"]
            async with http.get(sidecars[2].url + "/v1/approvals") as r:
                assert [a["id"] for a in (await r.json())["approvals"]] == [approval_id]

            async def wait_on_first() -> dict[str, Any]:
                async with http.get(f"{sidecars[0].url}/v1/approvals/{approval_id}?wait=20") as r:
                    return dict(await r.json())

            waiter = asyncio.create_task(wait_on_first())
            async with http.post(f"{sidecars[2].url}/v1/approvals/{approval_id}",
                                 json={"decision": "approve"}) as r:  # fmt: skip
                assert r.status == 200
            assert (await waiter)["state"] == "approved"
            status, _ = await admit(sidecars[0].url, "payments.send", {"n": 1})
            assert status == 403  # no approval id: a new approval is asked
            body = {"request_id": "r", "kind": "tool", "tool": "payments.send", "args": {"n": 1},
                    "approval_id": approval_id}  # fmt: skip
            async with http.post(sidecars[0].url + "/v1/admit", json=body) as r:
                assert r.status == 200

            async with http.delete(sidecars[2].url + "/v1/tool-policies/*/*") as r:
                assert r.status == 200
            for sidecar in sidecars[:2]:  # the configured policy again, at once
                assert (await admit(sidecar.url, "shell", {"command": "rm -rf /"}))[0] == 200
    finally:
        for sidecar in sidecars:
            sidecar.stop()
