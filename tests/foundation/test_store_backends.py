"""The store on both backends: schema creation is idempotent, writes group-commit, duplicates
are ignored, and queries agree."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sidecar.events.schema import LlmCall, ToolCall
from sidecar.store import (
    EventFilter,
    RowsRefused,
    StoreConfig,
    aggregate,
    event_row,
    list_events,
)
from sidecar.store.event_store import open_event_store


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


def llm(i: int, **fields: object) -> LlmCall:
    base: dict[str, object] = dict(
        id=f"e{i}",
        ts=100.0 + i,
        request_id=f"r{i % 4}",
        user_id=f"u{i % 2}",
        model="m",
        provider="p",
        input_tokens=i,
        output_tokens=1,
        start_ts=100.0,
        duration_ms=5.0,
    )
    base.update(fields)
    return LlmCall(**base)  # type: ignore[arg-type]


async def test_concurrent_writes_group_commit_and_dedupe(db_url: str) -> None:
    store = open_event_store(db_url, StoreConfig())
    await store.start()
    await store.start()  # a restart runs it again: no error, no change
    engine, writer = store.engine, store.writer
    await writer.start()
    try:
        batches = [[event_row(llm(i * 10 + j)) for j in range(10)] for i in range(30)]
        results = await asyncio.gather(*(writer.write(b) for b in batches))
        assert sum(len(r) for r in results) == 300
        assert writer.stats.commits < 30  # requests shared commits
        again = await asyncio.gather(writer.write(batches[0]), writer.write(batches[0]))
        assert list(again) == [set(), set()]
        tool = ToolCall(
            id="t1", ts=1.0, request_id="r", tool="x", start_ts=1.0, duration_ms=1.0, status="error"
        )
        assert await writer.write([event_row(tool)]) == {"t1"}
        total = await aggregate(engine, EventFilter(), ["user"])
        assert total["total"]["count"] == 301 and total["total"]["errors"] == 1
        assert sorted(g["count"] for g in total["groups"]) == [1, 150, 150]
        page = await list_events(engine, EventFilter(request_id="r1", until=150.0), limit=5)
        assert [e["id"] for e in page.events] == ["e49", "e45", "e41", "e37", "e33"]
        assert page.next_cursor is not None
    finally:
        await writer.close()
        await engine.dispose()


async def test_a_failed_commit_is_reported_not_acknowledged(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    store = open_event_store(url, StoreConfig())
    await store.start()
    engine, writer = store.engine, store.writer
    await writer.start()
    try:
        bad_row = (*event_row(llm(1))[:1], None, *event_row(llm(1))[2:])  # NOT NULL type
        with pytest.raises(RowsRefused):  # the database refused this request's row
            await writer.write([bad_row])
        assert await writer.write([event_row(llm(2))]) == {"e2"}  # the writer goes on
    finally:
        await writer.close()
        await engine.dispose()


def test_every_sqlite_connection_checkpoints_at_10000_pages(tmp_path: Path) -> None:
    """The writer, the journals, the cache and SQLAlchemy's connections all open through
    ``apply_pragmas``: a commit checkpoints the WAL past 10,000 pages, not SQLite's 1,000."""
    import sqlite3

    from sidecar.store.sqlite_connection import WAL_CHECKPOINT_PAGES, apply_pragmas, connect_sqlite

    conn = connect_sqlite(str(tmp_path / "a.db"))
    other = sqlite3.connect(tmp_path / "b.db")
    assert other.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    apply_pragmas(other, "FULL")
    for c in (conn, other):
        assert c.execute("PRAGMA wal_autocheckpoint").fetchone() == (WAL_CHECKPOINT_PAGES,)
        assert c.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        c.close()
    assert WAL_CHECKPOINT_PAGES == 10_000


async def test_the_event_writer_has_an_8_mb_page_cache_and_other_connections_the_default(
    tmp_path: Path,
) -> None:
    """The event writer's connection (``SqliteInserter``) caches 8 MB of pages
    (``WRITER_CACHE_KIB``); a connection opened without ``cache_kib`` keeps SQLite's 2,000 KiB."""
    from sidecar.store.columns import SQLITE_DDL
    from sidecar.store.inserters import WRITER_CACHE_KIB, SqliteInserter
    from sidecar.store.sqlite_connection import connect_sqlite

    path = str(tmp_path / "events.db")
    plain = connect_sqlite(path)
    for statement in SQLITE_DDL:
        plain.execute(statement)
    assert plain.execute("PRAGMA cache_size").fetchone() == (-2000,)
    inserter = SqliteInserter(path)
    try:
        assert await inserter.insert([event_row(llm(1))]) == {"e1"}
        conn = inserter._connect()  # the connection the insert above used
        assert conn.execute("PRAGMA cache_size").fetchone() == (-WRITER_CACHE_KIB,)
        assert WRITER_CACHE_KIB == 8192
    finally:
        await inserter.close()
        plain.close()
