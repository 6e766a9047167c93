"""Batch inserters: the one database statement of the ingest hot path, per backend.

Both insert a batch of rows in one transaction and return the ids that were new, so a resent
event is stored once and reported as a duplicate.

- SQLite: the stdlib ``sqlite3`` driver on one dedicated thread, one ``executemany`` per batch
  (SQLAlchemy + aiosqlite costs about 50x more per statement here; SQLAlchemy stays for the
  queries and is not imported by a sidecar that only ingests). ``BEGIN IMMEDIATE`` takes the
  write lock before probing which ids exist, so the probe and the insert see the same table
  even with another process on the file; a plain ``INSERT`` (not ``OR IGNORE``, which would
  also skip rows breaking other constraints) then fails loudly.
- PostgreSQL (or an in-memory SQLite): :mod:`sidecar.store.sqlalchemy_inserter`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from sidecar.store.columns import EVENT_COLUMNS
from sidecar.store.rows import Row
from sidecar.store.sqlite_connection import connect_sqlite
from sidecar.store.urls import parse_database_url

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

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
                chunk = ids[start : start + _ID_CHUNK]
                marks = ",".join("?" * len(chunk))
                existing.update(
                    r[0]
                    for r in conn.execute(f"SELECT id FROM events WHERE id IN ({marks})", chunk)
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


def make_inserter(engine: AsyncEngine | None, url: str, synchronous: str = "FULL") -> BatchInserter:
    """The fastest exact inserter for the URL's backend: a SQLite file needs no engine (and
    no SQLAlchemy); anything else goes through ``engine``."""
    path = parse_database_url(url, check_driver=False).sqlite_path
    if path is not None:
        return SqliteInserter(path, synchronous)
    if engine is None:
        raise ValueError(f"an engine is needed to insert into {url.split(':', 1)[0]}")
    from sidecar.store.sqlalchemy_inserter import SqlAlchemyInserter

    return SqlAlchemyInserter(engine)
