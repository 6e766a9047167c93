"""Tool admits over loopback HTTP: what the tool policy costs a ``POST /v1/admit`` with
``kind: tool``, on SQLite and PostgreSQL, at 1 and 32 clients.

The baseline is the same sidecar with ``tools.enabled: false`` (the per-request limits only),
same client, same run. With a policy, every admit reads the policy version from the database
(the price of a PUT binding every replica at once) and checks the rule: a shell command
through the command rules, a file path through the path rules and the argument schema.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from bench.harness import free_port, median, percentile, sidecar_server
from bench.pg_databases import fresh_database

POLICY = ("[{tenant: '*', agent: '*', rules: ["
          "{tool: shell, action: allow, commands: {deny: ['rm -rf', 'git push --force']}},"
          "{tool: 'fs.*', action: allow, args_schema: {type: object, required: [path]},"
          " paths: {allow: ['/work/**'], deny: ['**/.env', '**/.git/**']}}]}]")  # fmt: skip
CALLS: dict[str, dict[str, Any]] = {
    "shell": {"tool": "shell", "args": {"command": "cd /work && ls -la | grep src; echo ok"}},
    "fs.read": {"tool": "fs.read", "args": {"path": "/work/src/app/main.py"}},
}


async def _drive(
    url: str, clients: int, per_client: int, call: dict[str, Any]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    headers = {"Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession, index: int) -> None:
        for n in range(per_client):
            body = msgspec.json.encode({"request_id": f"r-{index}-{n}-{uuid.uuid4().hex[:6]}",
                                        "kind": "tool", **call})  # fmt: skip
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
            latencies.append(time.perf_counter() - start)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await client(session, -1)
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(client(session, i) for i in range(clients)))
        elapsed = time.perf_counter() - start
    return clients * per_client / elapsed, latencies


def run(quick: bool = False) -> str:
    total, rounds = (300, 1) if quick else (2000, 3)
    rows: list[tuple[str, str, str, int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'tools.db'}"
        stores: list[tuple[str, str | None]] = [("SQLite", sqlite),
                                                ("PostgreSQL", fresh_database())]  # fmt: skip
        for store, db_url in stores:
            if db_url is None:  # no PostgreSQL here: its rows are left out
                continue
            for setup, env in (
                ("no tool policy", {"SIDECAR_TOOLS__ENABLED": "false"}),
                ("tool policy", {"SIDECAR_TOOLS__POLICIES": POLICY}),
            ):
                port = free_port()
                url = f"http://127.0.0.1:{port}/v1/admit"
                with sidecar_server(port, db_url, **env):
                    for name, call in CALLS.items():
                        for clients in (1, 32):
                            rates, p50s = [], []
                            for _ in range(rounds):
                                n = max(1, (total if clients > 1 else total // 3) // clients)
                                rate, lat = asyncio.run(_drive(url, clients, n, call))
                                rates.append(rate)
                                p50s.append(percentile(lat, 0.5) * 1000)
                            rows.append((store, setup, name, clients, median(rates),
                                         median(p50s)))  # fmt: skip
    base = {(s, n, c): r for s, setup, n, c, r, _ in rows if setup == "no tool policy"}
    lines = [
        "## Tool admits (tool policy)",
        "",
        "`POST /v1/admit` with `kind: tool` for a shell command (command rules) and a file read "
        "(schema and path rules), against the same sidecar without a tool policy, same client, "
        f"same run, median of {rounds} rounds. Command: `python -m bench tools`.",
        "",
        "| store | setup | tool | clients | admits/s | vs no policy | p50 ms |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for store, setup, name, clients, rate, p50 in rows:
        ratio = rate / base[(store, name, clients)]
        lines.append(
            f"| {store} | {setup} | `{name}` | {clients} | {rate:,.0f} | {ratio:.2f} | {p50:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
