"""Ingest throughput: NDJSON batches of 500 events, durable (202 only after commit).

The sidecar runs in its own process; a Python aiohttp client with C concurrent senders posts
pre-encoded batches of unique events. The same client against the floor server (parse only, no
store) gives the ceiling of this client on this machine.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import aiohttp
import msgspec

from bench import ingest_floor
from bench.harness import ChildServer, free_port, median, sidecar_server
from bench.pg_databases import fresh_database

BATCH = 500


def _batches(count: int) -> list[bytes]:
    now = time.time()
    out = []
    for b in range(count):
        lines = []
        for i in range(BATCH):
            ts = now - (count - b) * BATCH * 1e-4 + i * 1e-4  # each event its own time, in order
            event = {
                "type": "llm_call" if i % 3 else "tool_call",
                "id": uuid.uuid4().hex,
                "ts": ts,
                "request_id": f"req-{b}-{i // 5}",
                "user_id": f"user-{i % 97}",
                "session_id": f"s-{b}",
                "agent": "bench",
                "start_ts": ts,
                "duration_ms": 812.5,
                "status": "ok",
            }
            if i % 3:
                event.update(
                    model="gpt-4o",
                    provider="openai",
                    input_tokens=1200,
                    output_tokens=230,
                    stream=True,
                    ttft_ms=320.0,
                )
            else:
                event.update(tool="web_search")
            lines.append(msgspec.json.encode(event))
        out.append(b"\n".join(lines))
    return out


async def _drive(url: str, bodies: list[bytes], concurrency: int) -> float:
    queue = list(reversed(bodies))
    headers = {"Content-Type": "application/x-ndjson"}
    accepted = 0

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        while queue:
            body = queue.pop()
            async with session.post(url, data=body, headers=headers) as response:
                payload = await response.json()
                if response.status != 202:
                    raise RuntimeError(f"HTTP {response.status}: {payload}")
                accepted += payload["accepted"]

    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if accepted != len(bodies) * BATCH:
        raise RuntimeError(f"accepted {accepted} of {len(bodies) * BATCH}")
    return accepted / elapsed


def _measure(
    server: ChildServer, url: str, batches: int, rounds: int, concurrency: int
) -> tuple[float, int]:
    """The median round's events/s, and the mean rows per group commit (the sidecar's own
    ``agent_sidecar_store_batch_events``; 0 for a server without metrics)."""
    rates = []
    with server:
        for _ in range(rounds):
            rates.append(asyncio.run(_drive(url, _batches(batches), concurrency)))
        group = _mean_group(url.replace("/v1/events", "/metrics"))
    return median(rates), group


def _mean_group(metrics_url: str) -> int:
    try:
        with urllib.request.urlopen(metrics_url, timeout=10) as answer:
            exposition = answer.read().decode()
    except OSError:
        return 0
    values = {}
    for line in exposition.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("agent_sidecar_store_batch_events_") and name[-4:] in ("_sum", "ount"):
            values[name.rsplit("_", 1)[1]] = float(value)
    return max(1, round(values["sum"] / values["count"])) if values.get("count") else 0


def run(quick: bool = False) -> str:
    batches, rounds, concurrency = (10, 2, 4) if quick else (60, 5, 4)
    rows = []
    floors: list[tuple[str, float, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        floor = ChildServer(
            [sys.executable, "-m", "bench.floor_server", str(port)], {}, "listening on"
        )
        floor_rate, _ = _measure(
            floor, f"http://127.0.0.1:{port}/v1/events", batches, rounds, concurrency
        )
        rows.append(("floor: bare aiohttp, parse only, no store", floor_rate))
        pg_url = fresh_database()
        for label, db_url, env, sync in [
            (
                "sidecar, SQLite (WAL, synchronous=FULL)",
                f"sqlite+aiosqlite:///{Path(tmp) / 'full.db'}",
                {},
                "FULL",
            ),
            (
                "sidecar, SQLite (WAL, synchronous=NORMAL)",
                f"sqlite+aiosqlite:///{Path(tmp) / 'normal.db'}",
                {"SIDECAR_STORE__SQLITE_SYNCHRONOUS": "NORMAL"},
                "NORMAL",
            ),
            ("sidecar, PostgreSQL 127.0.0.1", pg_url, {}, ""),
        ]:
            if db_url is None:
                rows.append((label + " (not reachable: skipped)", float("nan")))
                continue
            port = free_port()
            rate, group = _measure(
                sidecar_server(port, db_url, **env),
                f"http://127.0.0.1:{port}/v1/events",
                batches,
                rounds,
                concurrency,
            )
            rows.append((label, rate))
            if sync:
                stored = ingest_floor.sqlite_rows(Path(db_url.split(":///", 1)[1]))
                storage = ingest_floor.sqlite_floor(
                    Path(tmp) / f"floor-{sync}.db",
                    ingest_floor.split_rounds(stored, rounds),
                    sync,
                    group,
                )
                floors.append((f"SQLite {sync}: stdlib executemany", storage, rate, group))
            else:
                stored = ingest_floor.postgres_rows(db_url)
                pg = ingest_floor.postgres_floor(
                    fresh_database() or db_url, ingest_floor.split_rounds(stored, rounds), group
                )
                floors.append(("PostgreSQL: COPY", pg["copy"], rate, group))
                floors.append(("PostgreSQL: executemany", pg["executemany"], rate, group))
    lines = [
        "## Ingest throughput",
        "",
        f"NDJSON batches of {BATCH} events (random uuid4 ids, timestamps in order), {concurrency} "
        "concurrent senders, one Python aiohttp "
        f"client process; the server in its own process. {batches} batches per round, median of "
        f"{rounds} rounds. Every 202 means committed (durable). "
        "Command: `python -m bench ingest`.",
        "",
        "| server | events/s (median) | vs floor |",
        "|---|---:|---:|",
    ]
    for label, rate in rows:
        lines.append(f"| {label} | {rate:,.0f} | {rate / floor_rate:.2f} |")
    lines += [
        "",
        "Storage floor: the storage engine alone replays the very rows the sidecar stored in "
        "its run (read back in arrival order: the same redacted ids, pseudonyms and bodies) into "
        "a fresh copy of the same schema and indexes, with the same sync mode, in the same "
        f"{rounds} rounds (each into the table the rounds before filled) and in transactions of "
        "the sidecar's own mean group-commit size in that run: SQLite through the stdlib "
        "`executemany`, PostgreSQL through asyncpg `COPY` and `executemany`; median round. No "
        "HTTP, no JSON, no transforms, no duplicate check.",
        "",
        "| storage floor | rows per transaction | rows/s | sidecar events/s | sidecar vs floor |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, storage, rate, group in floors:
        lines.append(
            f"| {label} | {group:,} | {storage:,.0f} | {rate:,.0f} | {rate / storage:.2f} |"
        )
    lines.append("")
    lines.append(
        "Bar: at least 20,000 events/s per sidecar process on SQLite, and at least 0.7x the "
        "storage floor."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
