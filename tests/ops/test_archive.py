"""Archive, then restore: events and aggregates are identical, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.events.schema import LlmCall, Run, ToolCall
from sidecar.store import (
    EventFilter,
    StoreConfig,
    aggregate,
    create_engine,
    event_row,
    list_events,
)
from sidecar.store.archive import ArchiveError, archive_events, read_archive, restore_events
from sidecar.store.event_store import open_event_store
from tests.conftest import REPO

CUTOFF = 1_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


def sample_events(n: int = 300) -> list[Any]:
    """Old and new events of every type, with costs, errors, content and attributes."""
    out: list[Any] = []
    for i in range(n):
        ts = CUTOFF - 5_000 + i * 40.0  # about half before the cutoff
        common: dict[str, Any] = dict(
            id=f"e{i:04d}",
            ts=ts,
            request_id=f"r{i // 3}",
            user_id=f"u{i % 7}",
            session_id=f"s{i % 11}",
            tenant="acme",
            agent="support-bot",
            attributes={"attempt": i % 3, "region": "eu", "ratio": 0.1 * i, "ok": i % 2 == 0},
        )
        kind = i % 3
        if kind == 0:
            out.append(
                LlmCall(
                    **common,
                    model=f"m{i % 4}",
                    provider="openai",
                    input_tokens=100 + i,
                    output_tokens=i % 50,
                    cached_input_tokens=i % 5,
                    start_ts=ts - 1.5,
                    stream=True,
                    ttft_ms=123.456 + i,
                    duration_ms=1500.25 + i,
                    status="error" if i % 13 == 0 else "ok",
                    cost_usd=0.000123 * (i + 1),
                    input=[{"role": "user", "content": f"question {i} ü✓"}],
                )
            )
        elif kind == 1:
            out.append(
                ToolCall(
                    **common,
                    tool=f"t{i % 5}",
                    start_ts=ts - 0.1,
                    duration_ms=0.1 * i,
                    status="error" if i % 7 == 0 else "ok",
                    args={"q": i},
                    result=None,
                )
            )
        else:
            out.append(Run(**common, start_ts=ts - 10, duration_ms=10_000.0, steps=i % 9))
    return out


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    """Every stored event body (by id) and the aggregates the API serves."""
    bodies: list[Any] = []
    cursor = None
    while True:
        page = await list_events(engine, EventFilter(), limit=97, cursor=cursor)
        bodies.extend(page.events)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    aggregates = {
        tuple(by): await aggregate(engine, EventFilter(), by)
        for by in ([], ["model"], ["tool"], ["user"], ["type", "tenant"])
    }
    return {"events": sorted(bodies, key=lambda b: b["id"]), "aggregates": aggregates}


async def stored_engine(db_url: str) -> AsyncEngine:
    store = open_event_store(db_url, StoreConfig())
    await store.start()
    await store.writer.start()
    await store.writer.write([event_row(e) for e in sample_events()])
    await store.writer.close()
    return store.engine


async def test_archive_then_restore_is_identical(db_url: str, tmp_path: Path) -> None:
    engine = await stored_engine(db_url)
    try:
        before = await snapshot(engine)
        assert len(before["events"]) == 300
        archive = tmp_path / "old.jsonl.gz"
        result = await archive_events(engine, CUTOFF, archive, batch_rows=17)
        old = [b for b in before["events"] if b["ts"] < CUTOFF]
        assert result.events == len(old) == 125
        assert result.path == archive and not archive.with_name("old.jsonl.gz.partial").exists()
        remaining = await snapshot(engine)
        assert remaining["events"] == [b for b in before["events"] if b["ts"] >= CUTOFF]
        assert {r["id"] for r in read_archive(archive)} == {b["id"] for b in old}

        restored = await restore_events(engine, archive, batch_rows=50)
        assert (restored.events, restored.restored) == (125, 125)
        assert await snapshot(engine) == before

        again = await restore_events(engine, archive)  # idempotent
        assert (again.restored, again.already_present) == (0, 125)
        assert await snapshot(engine) == before
    finally:
        await engine.dispose()


async def test_archive_by_type_keeps_other_types(tmp_path: Path) -> None:
    engine = await stored_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        result = await archive_events(engine, CUTOFF, tmp_path / "t.gz", types=["tool_call"])
        assert {r["type"] for r in read_archive(tmp_path / "t.gz")} == {"tool_call"}
        left = await aggregate(engine, EventFilter(until=CUTOFF), ["type"])
        assert {g["type"] for g in left["groups"]} == {"llm_call", "run"}
        assert result.events == 42
        nothing = await archive_events(engine, 0.0, tmp_path / "none.gz")
        assert nothing.path is None and not (tmp_path / "none.gz").exists()
    finally:
        await engine.dispose()


def test_damaged_or_foreign_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.gz"
    with gzip.open(foreign, "wb") as f:
        f.write(b'{"hello": 1}\n')
    with pytest.raises(ArchiveError, match="not an agent-sidecar archive"):
        list(read_archive(foreign))
    plain = tmp_path / "plain.jsonl"
    plain.write_text("{}\n")
    with pytest.raises(ArchiveError):
        list(read_archive(plain))
    bad_row = tmp_path / "bad.gz"
    with gzip.open(bad_row, "wb") as f:
        f.write(b'{"format": "agent-sidecar-archive", "version": 1}\n{"id": "x"}\n')
    with pytest.raises(ArchiveError, match="not an event row"):
        list(read_archive(bad_row))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )


async def test_cli_archive_and_restore(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    engine = await stored_engine(url)
    before = await snapshot(engine)
    await engine.dispose()
    out = tmp_path / "archive" / "old.jsonl.gz"
    day = "1970-01-12T13:46:40Z"  # == CUTOFF
    done = cli("archive", "--db-url", url, "--before", day, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "archived 125 events before 1970-01-12T13:46:40Z" in done.stdout
    done = cli("restore", "--db-url", url, str(out))
    assert done.returncode == 0, done.stderr
    assert "restored 125 events (0 already present)" in done.stdout
    engine = create_engine(url, StoreConfig())
    try:
        assert await snapshot(engine) == before
    finally:
        await engine.dispose()
    bad = cli("archive", "--db-url", url, "--before", "next tuesday")
    assert bad.returncode == 2 and "not a date" in bad.stderr
    missing = cli("restore", "--db-url", url, str(tmp_path / "plain.txt"))
    assert missing.returncode == 2 and "No such file" in missing.stderr
