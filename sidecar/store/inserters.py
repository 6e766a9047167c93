"""Batch inserters: the one database statement of the ingest hot path, per backend.

Both insert a batch of rows in one transaction and return the ids that were new, so a resent
event is stored once and reported as a duplicate.

- SQLite: the stdlib ``sqlite3`` driver on one dedicated thread, one ``executemany`` per batch
  (SQLAlchemy + aiosqlite costs about 50x more per statement here, docs/benchmarks.md; the
  ORM stays for the schema and the queries). ``BEGIN IMMEDIATE`` takes the write lock before
  probing which ids exist, so the probe and the insert see the same table even with another
  process on the file; a plain ``INSERT`` (not ``OR IGNORE``, which would also skip rows
  breaking other constraints) then fails loudly.
- PostgreSQL (or anything else SQLAlchemy speaks): one ``INSERT .. ON CONFLICT DO NOTHING
  RETURNING id`` per batch through the async engine; the per-statement overhead is amortised
  over the whole group commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.rows import Row
from sidecar.store.sqlite_connection import connect_sqlite
from sidecar.store.tables import EVENT_COLUMNS, events

_ID_CHUNK = 900  # ids per ``IN (...)`` probe, well under SQLite's variable limit


class BatchInserter(Protocol):
    async def insert(self, rows: Sequence[Row]) -> set[str]: ...

    async def close(self) -> None: ...


class SqliteInserter:
    """The single SQLite writer: its own connection on its own thread."""

    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None
        columns = ", ".join(EVENT_COLUMNS)
        marks = ", ".join("?" for _ in EVENT_COLUMNS)
        self._insert_sql = f"INSERT INTO events ({columns}) VALUES ({marks})"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(self._path, synchronous=self._synchronous)
        return self._conn

    def _insert(self, rows: Sequence[Row]) -> set[str]:
        conn = self._connect()
        ids = [row[0] for row in rows]
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing: set[str] = set()
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = ids[start:start + _ID_CHUNK]
                marks = ",".join("?" * len(chunk))
                existing.update(
                    r[0] for r in conn.execute(f"SELECT id FROM events WHERE id IN ({marks})",
                                               chunk)
                )
            fresh = [row for row in rows if row[0] not in existing]
            conn.executemany(self._insert_sql, fresh)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return {row[0] for row in fresh}

    async def insert(self, rows: Sequence[Row]) -> set[str]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._insert, rows)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


class SqlAlchemyInserter:
    """``INSERT .. ON CONFLICT (id) DO NOTHING RETURNING id`` through the async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite_dialect
        self._statement = (
            dialect.insert(events)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(events.c.id)
        )

    async def insert(self, rows: Sequence[Row]) -> set[str]:
        params = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows]
        async with self._engine.begin() as conn:
            result = await conn.execute(self._statement, params)
            return {row[0] for row in result}

    async def close(self) -> None:
        return None


def make_inserter(engine: AsyncEngine, url: str, synchronous: str = "FULL") -> BatchInserter:
    """The fastest exact inserter for the engine's backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return SqliteInserter(parsed.database, synchronous)
    return SqlAlchemyInserter(engine)
