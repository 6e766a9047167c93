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
            body = msgspec.json.encode(
                {
                    "request_id": f"r-{index}-{n}-{uuid.uuid4().hex[:6]}",
                    "user_id": f"user-{index % 50}",
                    "model": "gpt-4o",
                    "input_tokens": 800,
                    "max_output_tokens": 400,
                }
            )
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


def _measure(
    server: ChildServer, url: str, clients: int, total: int, rounds: int
) -> tuple[float, float, float]:
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
    floors: dict[tuple[str, int], tuple[float, float]] = {}  # (kind, clients) -> rate, p50
    compare: dict[tuple[str, int], str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pg_url = _pg_database()
        targets = [
            ("floor: bare aiohttp, parse only", "floor", None),
            ("floor: aiohttp + prepared SELECT 1 on PostgreSQL", "pg floor", pg_url),
            (
                "sidecar, SQLite (in-process ledger)",
                "floor",
                f"sqlite+aiosqlite:///{Path(tmp) / 'admit.db'}",
            ),
            ("sidecar, PostgreSQL ledger", "pg floor", pg_url),
        ]
        for label, against, db_url in targets:
            for clients in (1, 32):
                port = free_port()
                if label.startswith("floor"):
                    if db_url is None and against == "pg floor":
                        continue
                    extra = ["--pg", db_url] if db_url else []
                    server = ChildServer(
                        [sys.executable, "-m", "bench.floor_server", str(port), *extra],
                        {},
                        "listening on",
                    )
                elif db_url is None:
                    continue
                else:
                    server = sidecar_server(port, db_url, SIDECAR_BUDGETS__POLICIES=POLICY)
                rate, p50, p99 = _measure(
                    server,
                    f"http://127.0.0.1:{port}/v1/admit",
                    clients,
                    total if clients > 1 else total // 3,
                    rounds,
                )
                if label.startswith("floor"):
                    floors[(against, clients)] = (rate, p50)
                rows.append((label, clients, rate, p50, p99))
                compare[(label, clients)] = against
    lines = [
        "## Admission over HTTP",
        "",
        "`POST /v1/admit` with a real reservation on a per-user daily budget, Python aiohttp "
        f"client, median of {rounds} rounds, same client, same run. Two floors: a bare aiohttp "
        "endpoint that only parses the JSON body and answers (SQLite is compared with it), and "
        "the same endpoint running one prepared `SELECT 1` on PostgreSQL per request through "
        "an asyncpg pool (the PostgreSQL ledger is compared with it). "
        "Command: `python -m bench admit`.",
        "",
        "| server | clients | admits/s | vs its floor | p50 ms | p50 vs its floor | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, clients, rate, p50, p99 in rows:
        floor_rate, floor_p50 = floors.get((compare[(label, clients)], clients), (rate, p50))
        lines.append(
            f"| {label} | {clients} | {rate:,.0f} | {rate / floor_rate:.2f} | "
            f"{p50:.2f} | {p50 / floor_p50:.2f} | {p99:.2f} |"
        )
    lines += [
        "",
        "Bars: at 32 clients at least half the floor's "
        "throughput; at 1 client a p50 within 2x of the floor's.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
