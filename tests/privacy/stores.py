"""Everything a store holds, as text to search: every row of every table, and the raw files.

Rows are read with SQL (so a value split across SQLite overflow pages is still found whole) and
the SQLite files (database, ``-wal``, ``-shm``) are read as bytes too (so freed pages and
uncheckpointed writes are searched as well).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg


def sqlite_rows(path: Path) -> str:
    """Every row of every table of the SQLite database at ``path``, one line per row."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return "\n".join(
            f"{table}: {row!r}"
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')
        )
    finally:
        db.close()


def sqlite_files(path: Path) -> bytes:
    """The raw bytes of the database file and its ``-wal`` / ``-shm`` / ``-journal`` files."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


async def postgres_rows(dsn: str) -> str:
    """Every row of every table outside the system schemas, as PostgreSQL's text form."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'"
        )
        lines = []
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            rows = await conn.fetch(f"SELECT t::text AS row FROM {name} AS t")
            lines += [f"{name}: {row['row']}" for row in rows]
        return "\n".join(lines)
    finally:
        await conn.close()
