"""Admission over loopback HTTP: ``POST /v1/admit`` throughput and latency at 1 and 32
concurrent clients, SQLite and PostgreSQL, against the floor (a bare aiohttp endpoint that
only parses the JSON body and answers) with the same client in the same run.

Every admit reserves on a real budget (a per-user daily policy), so this is the full path:
HTTP, JSON, step limits, pricing, the ledger's atomic reserve.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid

import aiohttp
import msgspec

from bench.harness import ChildServer, free_port, median, percentile, sidecar_server
from bench.pg_databases import fresh_database

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


NO_RESET_FLOOR = "floor: the same, its pool sending no reset query"


def _server(label: str, db_url: str | None, port: int) -> ChildServer:
    if label.startswith("floor"):
        extra = ["--pg", db_url] if db_url else []
        if label == NO_RESET_FLOOR:
            extra.append("--no-reset")
        argv = [sys.executable, "-m", "bench.floor_server", str(port), *extra]
        return ChildServer(argv, {}, "listening on")
    assert db_url is not None
    return sidecar_server(port, db_url, SIDECAR_BUDGETS__POLICIES=POLICY)


def _interleaved(
    targets: list[tuple[str, str | None]], clients: int, total: int, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """(admits/s, p50 ms, p99 ms) of every target, each the median of ``rounds`` rounds; the
    servers run side by side and take their rounds in turn, so a change in the machine's load
    moves a server and its floor alike."""
    per_client = max(1, total // clients)
    samples: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in targets}
    with contextlib.ExitStack() as stack:
        urls = {}
        for label, db_url in targets:
            port = free_port()
            stack.enter_context(_server(label, db_url, port))
            urls[label] = f"http://127.0.0.1:{port}/v1/admit"
        for _ in range(rounds):
            for label, url in urls.items():
                rate, latencies = asyncio.run(_drive(url, clients, per_client))
                p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
                samples[label].append((rate, p50, p99))
    return {
        label: (median([x[0] for x in v]), median([x[1] for x in v]), median([x[2] for x in v]))
        for label, v in samples.items()
    }


def run(quick: bool = False) -> str:
    total, rounds = (400, 2) if quick else (3000, 3)
    import tempfile
    from pathlib import Path

    rows: list[tuple[str, int, float, float, float]] = []
    floors: dict[tuple[str, int], tuple[float, float]] = {}  # (kind, clients) -> rate, p50
    with tempfile.TemporaryDirectory() as tmp:
        pg_url = fresh_database()
        candidates = [
            ("floor: bare aiohttp, parse only", "floor", None),
            ("floor: aiohttp + prepared SELECT 1 on PostgreSQL", "pg floor", pg_url),
            (NO_RESET_FLOOR, "pg floor", pg_url),
            (
                "sidecar, SQLite (in-process ledger)",
                "floor",
                f"sqlite+aiosqlite:///{Path(tmp) / 'admit.db'}",
            ),
            ("sidecar, PostgreSQL ledger", "pg floor", pg_url),
        ]
        compare = {label: against for label, against, _ in candidates}
        # Without a reachable PostgreSQL its rows are left out.
        targets = [(label, url) for label, against, url in candidates if against == "floor" or url]
        measured = {
            clients: _interleaved(targets, clients, total if clients > 1 else total // 3, rounds)
            for clients in (1, 32)
        }
    for label, _ in targets:
        for clients in (1, 32):
            rate, p50, p99 = measured[clients][label]
            if label.startswith("floor") and label != NO_RESET_FLOOR:
                floors[(compare[label], clients)] = (rate, p50)
            rows.append((label, clients, rate, p50, p99))
    lines = [
        "## Admission over HTTP",
        "",
        "`POST /v1/admit` with a real reservation on a per-user daily budget, Python aiohttp "
        f"client, median of {rounds} rounds, same client, same run; the servers run side by side "
        "and take their rounds in turn. Two floors: a bare aiohttp "
        "endpoint that only parses the JSON body and answers (SQLite is compared with it), and "
        "the same endpoint running one prepared `SELECT 1` on PostgreSQL per request through "
        "an asyncpg pool (the PostgreSQL ledger is compared with it). That pool also sends "
        "asyncpg's reset query when it takes a connection back, a second round trip per request "
        "that the ledger does not make (it leaves no session state); the row without it is "
        "the one-round-trip floor, for reference. Command: `python -m bench admit`.",
        "",
        "| server | clients | admits/s | vs its floor | p50 ms | p50 vs its floor | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, clients, rate, p50, p99 in rows:
        floor_rate, floor_p50 = floors.get((compare[label], clients), (rate, p50))
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
