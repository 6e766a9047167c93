"""Admission over loopback HTTP: ``POST /v1/admit`` throughput and latency at 1 and 32
concurrent clients, SQLite and PostgreSQL, against the floor (a bare aiohttp endpoint that
only parses the JSON body and answers) with the same client in the same run.

Every admit reserves on a real budget (a per-user daily policy), so this is the full path:
HTTP, JSON, step limits, pricing, the ledger's atomic reserve.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import aiohttp
import msgspec

from bench.bench_ingest import _pg_database
from bench.harness import ChildServer, free_port, median, percentile, sidecar_server

POLICY = "[{scope: user, id: '*', window: 1d, max_tokens: 1000000000000}]"


async def _drive(url: str, clients: int, per_client: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    headers = {"Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession, index: int) -> None:
        for n in range(per_client):
            body = msgspec.json.encode({
                "request_id": f"r-{index}-{n}-{uuid.uuid4().hex[:6]}",
                "user_id": f"user-{index % 50}", "model": "gpt-4o",
                "input_tokens": 800, "max_output_tokens": 400})
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status >= 300:
                    raise RuntimeError(f"HTTP {response.status}")
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await client(session, -1)  # warm-up: connection, caches
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(client(session, i) for i in range(clients)))
        elapsed = time.perf_counter() - start
    return clients * per_client / elapsed, latencies


def _measure(server: ChildServer, url: str, clients: int, total: int,
             rounds: int) -> tuple[float, float, float]:
    rates, p50s, p99s = [], [], []
    with server:
        for _ in range(rounds):
            rate, latencies = asyncio.run(_drive(url, clients, max(1, total // clients)))
            rates.append(rate)
            p50s.append(percentile(latencies, 0.5) * 1000)
            p99s.append(percentile(latencies, 0.99) * 1000)
    return median(rates), median(p50s), median(p99s)


def run(quick: bool = False) -> str:
    total, rounds = (400, 2) if quick else (3000, 3)
    import tempfile
    from pathlib import Path

    rows: list[tuple[str, int, float, float, float]] = []
    floors: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("floor: bare aiohttp, parse only", None),
                   ("sidecar, SQLite (in-process ledger)",
                    f"sqlite+aiosqlite:///{Path(tmp) / 'admit.db'}"),
                   ("sidecar, PostgreSQL ledger", _pg_database())]
        for label, db_url in targets:
            for clients in (1, 32):
                port = free_port()
                if db_url is None and label.startswith("floor"):
                    server = ChildServer([sys.executable, "-m", "bench.floor_server",
                                          str(port)], {}, "listening on")
                elif db_url is None:
                    continue
                else:
                    server = sidecar_server(port, db_url, SIDECAR_BUDGETS__POLICIES=POLICY)
                rate, p50, p99 = _measure(server, f"http://127.0.0.1:{port}/v1/admit",
                                          clients, total if clients > 1 else total // 3, rounds)
                if label.startswith("floor"):
                    floors[clients] = rate
                rows.append((label, clients, rate, p50, p99))
    lines = [
        "## Admission over HTTP",
        "",
        "`POST /v1/admit` with a real reservation on a per-user daily budget, Python aiohttp "
        f"client, median of {rounds} rounds; the floor is a bare aiohttp endpoint that only "
        "parses the JSON body and answers, same client, same run. "
        "Command: `python -m bench admit`.",
        "",
        "| server | clients | admits/s | vs floor | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, clients, rate, p50, p99 in rows:
        lines.append(f"| {label} | {clients} | {rate:,.0f} | {rate / floors[clients]:.2f} | "
                     f"{p50:.2f} | {p99:.2f} |")
    lines += ["", "Bars: at 32 clients at least half the floor's "
              "throughput; at 1 client a p50 within 2x of the floor's."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
