"""Archive and restore throughput on SQLite, against a floor measured in the same run.

The floor is the least any archiver must do: read the same rows with one SELECT per batch and
gzip their JSON into a file (no fsync, no delete). Archive adds the fsync, the rename and the
batched delete; restore is parse plus idempotent insert. Run: ``python -m bench.bench_archive``.
"""

from __future__ import annotations

import asyncio
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import msgspec
from sqlalchemy import select

from sidecar.events.schema import LlmCall, ToolCall
from sidecar.store import (
    EventWriter,
    StoreConfig,
    create_engine,
    create_schema,
    event_row,
    make_inserter,
)
from sidecar.store.archive import archive_events, restore_events
from sidecar.store.rows import Row
from sidecar.store.tables import EVENT_COLUMNS, events


def _events(n: int) -> list[Row]:
    rows: list[Row] = []
    for i in range(n):
        ts = 1_700_000_000.0 + i
        if i % 3:
            e: object = LlmCall(
                id=f"e{i}",
                ts=ts,
                request_id=f"r{i // 4}",
                user_id=f"user-{i % 500}",
                session_id=f"s-{i % 2000}",
                agent="support-bot",
                model="gpt-4o",
                provider="openai",
                input_tokens=800 + i % 400,
                output_tokens=150 + i % 90,
                start_ts=ts - 2,
                stream=True,
                ttft_ms=300.0 + i % 700,
                duration_ms=1900.0,
                cost_usd=0.0041,
                finish_reason="stop",
            )
        else:
            e = ToolCall(
                id=f"e{i}",
                ts=ts,
                request_id=f"r{i // 4}",
                user_id=f"user-{i % 500}",
                tool="web_search",
                start_ts=ts - 1,
                duration_ms=420.0,
                status="ok",
            )
        rows.append(event_row(e))  # type: ignore[arg-type]
    return rows


async def _one(n: int, workdir: Path) -> tuple[float, float, float, int]:
    url = f"sqlite+aiosqlite:///{workdir / 'b.db'}"
    engine = create_engine(url, StoreConfig(sqlite_synchronous="NORMAL"))
    await create_schema(engine)
    writer = EventWriter(make_inserter(engine, url, "NORMAL"))
    await writer.start()
    rows = _events(n)
    for i in range(0, n, 5000):
        await writer.write(rows[i : i + 5000])
    await writer.close()
    encode = msgspec.json.Encoder().encode
    start = time.perf_counter()
    with gzip.open(workdir / "floor.gz", "wb") as out:
        after = 0
        while True:
            query = (
                select(events.c.seq, *(events.c[c] for c in EVENT_COLUMNS))
                .where(events.c.seq > after)
                .order_by(events.c.seq)
                .limit(5000)
            )
            async with engine.connect() as conn:
                batch = (await conn.execute(query)).all()
            if not batch:
                break
            after = batch[-1].seq
            out.write(
                b"".join(encode({c: getattr(r, c) for c in EVENT_COLUMNS}) + b"\n" for r in batch)
            )
    floor = time.perf_counter() - start
    start = time.perf_counter()
    result = await archive_events(engine, 2e9, workdir / "a.jsonl.gz")
    archive = time.perf_counter() - start
    start = time.perf_counter()
    await restore_events(engine, workdir / "a.jsonl.gz")
    restore = time.perf_counter() - start
    await engine.dispose()
    return floor, archive, restore, result.bytes


def run(quick: bool = False) -> str:
    n, repeats = (10_000, 3) if quick else (100_000, 5)
    samples = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            samples.append(asyncio.run(_one(n, Path(tmp))))
    floor = statistics.median(s[0] for s in samples)
    archive = statistics.median(s[1] for s in samples)
    restore = statistics.median(s[2] for s in samples)
    size = statistics.median(s[3] for s in samples)
    return "\n".join(
        [
            "## Archive and restore (SQLite)",
            "",
            f"{n:,} stored events (2/3 LLM calls, 1/3 tool calls), median of {repeats} runs.",
            "",
            "| | events/s | speed relative to the floor |",
            "|---|---|---|",
            f"| floor: SELECT batches + gzip JSON lines | {n / floor:,.0f} | 1.00x |",
            f"| `archive_events` (write, fsync, rename, batched delete) | {n / archive:,.0f} "
            f"| {floor / archive:.2f}x |",
            f"| `restore_events` (parse, insert on conflict do nothing) | {n / restore:,.0f} "
            f"| {floor / restore:.2f}x |",
            "",
            f"Archive size: {size / n:.0f} bytes per event gzipped ({size / 1e6:.1f} MB).",
            "",
            "Command: `python -m bench.bench_archive`",
        ]
    )


if __name__ == "__main__":
    print(run())
