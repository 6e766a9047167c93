"""The storage floor of durable ingest: what the storage engine alone does with the same rows.

SQLite: the stdlib ``sqlite3`` ``executemany`` of the very rows the sidecar stores (the same
events through :func:`sidecar.store.rows.event_row`) into the same schema and indexes
(:data:`sidecar.store.columns.SQLITE_DDL`), in WAL mode with the same ``synchronous`` level, one
transaction per ``commit_rows`` rows (the size of the sidecar's group commits in the run).
PostgreSQL: asyncpg's ``COPY`` and ``executemany`` of the same rows into the table the sidecar
creates. Nothing else runs: no HTTP, no JSON, no duplicate probe, no Python per event.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from sidecar.events.decode import decode_events
from sidecar.store.columns import EVENT_COLUMNS, SQLITE_DDL
from sidecar.store.rows import Row, event_row
from sidecar.store.sqlite_connection import connect_sqlite


def rows_of(bodies: list[bytes]) -> list[Row]:
    """The rows the sidecar would store for these NDJSON bodies (no transforms: the floor)."""
    rows: list[Row] = []
    for body in bodies:
        for event in decode_events(body, "application/x-ndjson").events:
            rows.append(event_row(event))
    return rows


def sqlite_floor(path: Path, rows: list[Row], synchronous: str, commit_rows: int) -> float:
    """Rows per second of ``executemany`` into a fresh file with the sidecar's schema."""
    conn = connect_sqlite(str(path), synchronous=synchronous)
    try:
        for statement in SQLITE_DDL:
            conn.execute(statement)
        sql = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
               f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})")  # fmt: skip
        started = time.perf_counter()
        for start in range(0, len(rows), commit_rows):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[start : start + commit_rows])
            conn.execute("COMMIT")
        return len(rows) / (time.perf_counter() - started)
    finally:
        conn.close()


def postgres_floor(dsn: str, rows: list[Row], commit_rows: int) -> dict[str, float]:
    """Rows per second of COPY and of executemany into the sidecar's ``events`` table (created
    by the sidecar's own schema code), one transaction per ``commit_rows`` rows."""
    import asyncpg

    from sidecar.store.config import StoreConfig
    from sidecar.store.event_store import open_event_store

    async def run() -> dict[str, float]:
        store = open_event_store(dsn, StoreConfig())
        await store.create_schema()
        await store.close()
        conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            figures = {}
            for label in ("copy", "executemany"):
                await conn.execute("TRUNCATE events")
                started = time.perf_counter()
                for start in range(0, len(rows), commit_rows):
                    chunk: list[Any] = rows[start : start + commit_rows]
                    async with conn.transaction():
                        if label == "copy":
                            await conn.copy_records_to_table(
                                "events", records=chunk, columns=list(EVENT_COLUMNS)
                            )
                        else:
                            await conn.executemany(_PG_INSERT, chunk)
                figures[label] = len(rows) / (time.perf_counter() - started)
            return figures
        finally:
            await conn.close()

    return asyncio.run(run())


_PG_INSERT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(EVENT_COLUMNS)))})"
)
