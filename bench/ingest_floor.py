"""The storage floor of durable ingest: the storage engine alone replaying what the sidecar wrote.

The floor takes the very rows the sidecar stored in its run (read back from its database in
arrival order, so the same redacted ids and pseudonyms, the same bodies) and writes them into
a fresh copy of the same schema and indexes, with the same ``synchronous`` level, in the same
rounds (each round into the table the rounds before it filled, as the sidecar's were) and in
transactions of the sidecar's own mean group-commit size in the run. SQLite: the stdlib
``sqlite3`` ``executemany``; PostgreSQL: asyncpg's ``COPY`` and ``executemany``. Nothing else
runs: no HTTP, no JSON, no transforms, no Python per event. The rate is the median round's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sidecar.store.columns import EVENT_COLUMNS, SQLITE_DDL
from sidecar.store.rows import Row
from sidecar.store.sqlite_connection import connect_sqlite

_COLUMNS = ", ".join(EVENT_COLUMNS)
_SELECT = f"SELECT {_COLUMNS} FROM events ORDER BY seq"


def split_rounds(rows: Sequence[Row], rounds: int) -> list[Sequence[Row]]:
    """``rows`` in ``rounds`` consecutive parts of equal size (the last takes the rest)."""
    size = len(rows) // rounds
    return [rows[i * size : (i + 1) * size if i < rounds - 1 else len(rows)] for i in range(rounds)]


def sqlite_rows(path: Path) -> list[Row]:
    """Every row the sidecar stored in the SQLite file at ``path``, in arrival order."""
    conn = sqlite3.connect(str(path))
    try:
        return [tuple(row) for row in conn.execute(_SELECT)]
    finally:
        conn.close()


def sqlite_floor(
    path: Path, rounds: Sequence[Sequence[Row]], synchronous: str, commit_rows: int
) -> float:
    """Rows per second (median round) of ``executemany`` into a fresh file with the sidecar's
    schema, one transaction per ``commit_rows`` rows."""
    conn = connect_sqlite(str(path), synchronous=synchronous)
    try:
        for statement in SQLITE_DDL:
            conn.execute(statement)
        sql = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
        rates = []
        for rows in rounds:
            started = time.perf_counter()
            for start in range(0, len(rows), commit_rows):
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, rows[start : start + commit_rows])
                conn.execute("COMMIT")
            rates.append(len(rows) / (time.perf_counter() - started))
        return statistics.median(rates)
    finally:
        conn.close()


def postgres_rows(dsn: str) -> list[Row]:
    """Every row the sidecar stored in the PostgreSQL database at ``dsn``, in arrival order."""
    import asyncpg

    async def read() -> list[Row]:
        conn = await asyncpg.connect(_plain(dsn))
        try:
            return [tuple(record) for record in await conn.fetch(_SELECT)]
        finally:
            await conn.close()

    return asyncio.run(read())


def postgres_floor(dsn: str, rounds: Sequence[Sequence[Row]], commit_rows: int) -> dict[str, float]:
    """Rows per second (median round) of COPY and of executemany into a fresh ``events`` table
    (created by the sidecar's own schema code) in the database at ``dsn``, one transaction per
    ``commit_rows`` rows."""
    import asyncpg

    from sidecar.store.config import StoreConfig
    from sidecar.store.event_store import open_event_store

    async def run() -> dict[str, float]:
        store = open_event_store(dsn, StoreConfig())
        await store.create_schema()
        await store.close()
        conn = await asyncpg.connect(_plain(dsn))
        try:
            figures = {}
            for label in ("copy", "executemany"):
                await conn.execute("TRUNCATE events")
                rates = []
                for rows in rounds:
                    started = time.perf_counter()
                    for start in range(0, len(rows), commit_rows):
                        chunk: list[Any] = list(rows[start : start + commit_rows])
                        async with conn.transaction():
                            if label == "copy":
                                await conn.copy_records_to_table(
                                    "events", records=chunk, columns=list(EVENT_COLUMNS)
                                )
                            else:
                                await conn.executemany(_PG_INSERT, chunk)
                    rates.append(len(rows) / (time.perf_counter() - started))
                figures[label] = statistics.median(rates)
            return figures
        finally:
            await conn.close()

    return asyncio.run(run())


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://")


_PG_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(EVENT_COLUMNS)))})"
)
