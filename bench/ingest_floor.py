"""The storage floor of durable ingest: the storage engine alone replaying what the sidecar wrote.

After each round of the sidecar's run, the floor reads back the very rows the sidecar stored in
that round (in arrival order, so the same redacted ids and pseudonyms, the same bodies) and
writes them into its own copy of the same schema and indexes, with the same ``synchronous``
level and connection settings (``connect_sqlite``: WAL, checkpoints at 10,000 pages, the
writer's page cache), in
transactions of the sidecar's own mean group-commit size in that round. Each round
of the floor goes into the table its rounds before filled, as the sidecar's did, and runs right
after the sidecar's round, so a change in the machine's load moves both alike. SQLite: the
stdlib ``sqlite3`` ``executemany``; PostgreSQL: asyncpg's ``COPY`` and ``executemany``, each into
its own database. Nothing else runs: no HTTP, no JSON, no transforms, no Python per event.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from sidecar.store.columns import EVENT_COLUMNS, SQLITE_DDL
from sidecar.store.inserters import WRITER_CACHE_KIB
from sidecar.store.sqlite_connection import connect_sqlite

_COLUMNS = ", ".join(EVENT_COLUMNS)


class Replay(Protocol):
    def round(self, commit_rows: int) -> dict[str, float]:
        """Replay the rows stored since the last round; rows/s per floor."""
        ...


class SqliteReplay:
    """The SQLite floor: ``executemany`` into a fresh file beside the sidecar's."""

    def __init__(self, source: Path, floor: Path, synchronous: str) -> None:
        self.label = f"SQLite {synchronous}: stdlib executemany"
        self._source = source
        self._conn = connect_sqlite(str(floor), synchronous=synchronous, cache_kib=WRITER_CACHE_KIB)
        for statement in SQLITE_DDL:
            self._conn.execute(statement)
        self._last_seq = 0
        marks = ", ".join("?" for _ in EVENT_COLUMNS)
        self._insert = f"INSERT INTO events ({_COLUMNS}) VALUES ({marks})"

    def round(self, commit_rows: int) -> dict[str, float]:
        source = sqlite3.connect(str(self._source))
        try:
            stored = source.execute(
                f"SELECT seq, {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq", (self._last_seq,)
            ).fetchall()
        finally:
            source.close()
        self._last_seq = stored[-1][0]
        rows = [tuple(row[1:]) for row in stored]
        started = time.perf_counter()
        for start in range(0, len(rows), commit_rows):
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(self._insert, rows[start : start + commit_rows])
            self._conn.execute("COMMIT")
        return {self.label: len(rows) / (time.perf_counter() - started)}

    def close(self) -> None:
        self._conn.close()


class PostgresReplay:
    """The PostgreSQL floors: ``COPY`` and ``executemany``, each into its own fresh database
    with the sidecar's schema (created by the sidecar's own schema code)."""

    COPY = "PostgreSQL: COPY"
    EXECUTEMANY = "PostgreSQL: executemany"

    def __init__(self, source: str, copy_floor: str, executemany_floor: str) -> None:
        self._source = source
        self._floors = {self.COPY: copy_floor, self.EXECUTEMANY: executemany_floor}
        self._last_seq = 0
        asyncio.run(self._create())

    async def _create(self) -> None:
        from sidecar.store.config import StoreConfig
        from sidecar.store.event_store import open_event_store

        for dsn in self._floors.values():
            store = open_event_store(dsn, StoreConfig())
            await store.create_schema()
            await store.close()

    def round(self, commit_rows: int) -> dict[str, float]:
        return asyncio.run(self._round(commit_rows))

    async def _round(self, commit_rows: int) -> dict[str, float]:
        import asyncpg

        source = await asyncpg.connect(_plain(self._source))
        try:
            stored = await source.fetch(
                f"SELECT seq, {_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq", self._last_seq
            )
        finally:
            await source.close()
        self._last_seq = stored[-1][0]
        rows = [tuple(record)[1:] for record in stored]
        figures = {}
        for label, dsn in self._floors.items():
            conn = await asyncpg.connect(_plain(dsn))
            try:
                started = time.perf_counter()
                for start in range(0, len(rows), commit_rows):
                    chunk: list[Any] = rows[start : start + commit_rows]
                    async with conn.transaction():
                        if label == self.COPY:
                            await conn.copy_records_to_table(
                                "events", records=chunk, columns=list(EVENT_COLUMNS)
                            )
                        else:
                            await conn.executemany(_PG_INSERT, chunk)
                figures[label] = len(rows) / (time.perf_counter() - started)
            finally:
                await conn.close()
        return figures

    def close(self) -> None:
        pass


def median_ratio(sidecar: Sequence[float], floor: Sequence[float]) -> float:
    """The median over rounds of the sidecar's rate over its floor's in the same round."""
    ratios = sorted(s / f for s, f in zip(sidecar, floor, strict=True))
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://")


_PG_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(EVENT_COLUMNS)))})"
)
