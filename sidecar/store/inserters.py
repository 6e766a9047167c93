"""Batch inserters: the one database statement of the ingest hot path, per backend.

Both insert a batch of rows in one transaction and return the ids that were new, so a resent
event is stored once and reported as a duplicate.

- SQLite: the stdlib ``sqlite3`` driver on one dedicated thread, many rows per statement
  (:mod:`sidecar.store.sqlite_bulk`: ``executemany`` takes the GIL back once per row, and beside
  busy Python threads fell to about 1/200 of its pace; SQLAlchemy + aiosqlite costs about 50x
  more per statement; SQLAlchemy stays for the queries and is not imported by a sidecar that
  only ingests).
- PostgreSQL: :mod:`sidecar.store.asyncpg_inserter` (one statement of column arrays per
  group, on the engine's asyncpg connection); an in-memory SQLite:
  :mod:`sidecar.store.sqlalchemy_inserter`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sidecar.store.columns import EVENT_COLUMNS
from sidecar.store.rows import Row, lacks_value
from sidecar.store.sqlite_bulk import insert_rows
from sidecar.store.sqlite_connection import connect_sqlite
from sidecar.store.urls import parse_database_url

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


ONE_STATEMENT_ROWS = 1024
"""The most event rows one statement carries (22 values each: 22,528 of SQLite's 32,766
variables); its prepared statements of 1 to 1,024 rows hold about 7 MB (measured)."""


WRITER_CACHE_KIB = 8192
"""The event writer's page cache: its unique index on random ids takes a page per row from
anywhere in the index, and at SQLite's default 2 MB the pages of a table past 100k rows no
longer fit, so the rows/s fell by a third from the first 50k rows to the fifth; 8 MB kept
1.1-1.3x the default's rows/s at 100-250k rows (measured, the stdlib driver alone)."""


class BatchInserter(Protocol):
    async def insert(self, rows: Sequence[Row]) -> set[str]: ...

    async def close(self) -> None: ...


@runtime_checkable
class ThreadBoundInserter(BatchInserter, Protocol):
    """An inserter whose connection lives on one thread of its own: ``submit`` runs a job
    there (in submission order) and ``insert_here`` inserts from inside such a job."""

    def submit(self, job: Callable[[], None]) -> Future[None]: ...

    def insert_here(self, rows: Sequence[Row]) -> set[str]: ...


class SqliteInserter:
    """The single SQLite writer: its own connection on its own thread."""

    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None
        columns = ", ".join(EVENT_COLUMNS)
        self._insert_head = f"INSERT OR IGNORE INTO events ({columns})"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(
                self._path, synchronous=self._synchronous, cache_kib=WRITER_CACHE_KIB
            )
        return self._conn

    def _insert(self, rows: Sequence[Row]) -> set[str]:
        """Insert the rows (each key once) and return the keys that were new.

        No probe before the insert: a key already stored is skipped by ``INSERT OR IGNORE``
        (1.2-1.4x the rows/s of ``ON CONFLICT (id) DO NOTHING`` in statements of many rows,
        measured). The ``id`` unique index is the only constraint it can skip: the other ones
        are ``NOT NULL`` columns, which :func:`~sidecar.store.rows.lacks_value` checks first
        (an ``IntegrityError``, as the constraint would raise), and a value the driver cannot
        bind still fails loudly. Up to :data:`ONE_STATEMENT_ROWS` rows are one statement, its
        own transaction (the last row
        repeated up to the statement's size, which ``OR IGNORE`` skips), so the thread
        takes the GIL back once per commit, not once per statement; more rows are chunks of
        that size in one ``BEGIN IMMEDIATE`` transaction. Only when fewer rows were inserted
        than sent are the new keys read back: the ``n`` rows up to the last ``seq`` inserted,
        as each insert takes the largest ``seq`` plus one while the write lock is held."""
        if lacks_value(rows):  # what INSERT OR IGNORE would skip as if it were a duplicate
            raise sqlite3.IntegrityError("NOT NULL constraint failed: a row lacks a value")
        conn = self._connect()
        changes = conn.total_changes
        if len(rows) <= ONE_STATEMENT_ROWS:
            last = self._insert_rows(conn, rows)
            return self._inserted(conn, rows, conn.total_changes - changes, last)
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = self._insert_rows(conn, rows)
            inserted = self._inserted(conn, rows, conn.total_changes - changes, last)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return inserted

    def _insert_rows(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> int | None:
        return insert_rows(
            conn,
            self._insert_head,
            rows,
            max_rows=ONE_STATEMENT_ROWS,
            repeat_last=True,
        )

    @staticmethod
    def _inserted(
        conn: sqlite3.Connection, rows: Sequence[Row], added: int, last: int | None
    ) -> set[str]:
        if added == len(rows):
            return {row[0] for row in rows}
        if added == 0 or last is None:
            return set()
        found = conn.execute(
            "SELECT id FROM events WHERE seq > ? AND seq <= ?", (last - added, last)
        )
        return {key for (key,) in found}

    async def insert(self, rows: Sequence[Row]) -> set[str]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._insert, rows)

    def submit(self, job: Callable[[], None]) -> Future[None]:
        """Run ``job`` on the writer thread, after the jobs submitted before it."""
        return self._executor.submit(job)

    def insert_here(self, rows: Sequence[Row]) -> set[str]:
        """:meth:`insert`, called on the writer thread (from a :meth:`submit` job)."""
        return self._insert(rows)

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
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
        from sidecar.store.asyncpg_inserter import AsyncpgInserter

        return AsyncpgInserter(engine)
    from sidecar.store.sqlalchemy_inserter import SqlAlchemyInserter

    return SqlAlchemyInserter(engine)
