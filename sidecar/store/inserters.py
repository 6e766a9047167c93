"""Batch inserters: the one database statement of the ingest hot path, per backend.

Both insert a batch of rows in one transaction and return the ids that were new, so a resent
event is stored once and reported as a duplicate.

- SQLite: the stdlib ``sqlite3`` driver on one dedicated thread, many rows per statement
  (:mod:`sidecar.store.sqlite_bulk`: ``executemany`` takes the GIL back once per row, and beside
  busy Python threads fell to about 1/200 of its pace; SQLAlchemy + aiosqlite costs about 50x
  more per statement; SQLAlchemy stays for the queries and is not imported by a sidecar that
  only ingests).
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
from sidecar.store.sqlite_bulk import insert_rows
from sidecar.store.sqlite_connection import connect_sqlite
from sidecar.store.urls import parse_database_url

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


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
        self._insert_head = f"INSERT INTO events ({columns})"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(self._path, synchronous=self._synchronous)
        return self._conn

    def _insert(self, rows: Sequence[Row]) -> set[str]:
        """Insert the rows (each key once) and return the keys that were new.

        No probe before the insert: a key already stored is skipped by ``ON CONFLICT (id) DO
        NOTHING`` (that constraint only: a row breaking another one still fails loudly), and
        only when fewer rows were inserted than sent are the new keys read back: the ``n``
        rows of the largest ``seq``, as each insert takes the largest ``seq`` plus one and
        ``BEGIN IMMEDIATE`` holds the write lock, so no other connection inserts in between."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            changes = conn.total_changes
            insert_rows(conn, self._insert_head, rows, tail="ON CONFLICT (id) DO NOTHING")
            added = conn.total_changes - changes
            if added == len(rows):
                inserted = {row[0] for row in rows}
            else:
                found = conn.execute("SELECT id FROM events ORDER BY seq DESC LIMIT ?", (added,))
                inserted = {key for (key,) in found}
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return inserted

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
