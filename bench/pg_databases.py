"""Fresh PostgreSQL databases for the benchmarks, each dropped when the bench process exits."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import uuid

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
_created: list[str] = []


def fresh_database() -> str | None:
    """The URL of a new, empty database on the local PostgreSQL (dropped at exit), or None
    when PostgreSQL is not reachable."""
    import asyncpg

    name = f"sidecar_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> bool:
        try:
            conn = await asyncpg.connect(ADMIN_DSN, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return True

    if not asyncio.run(create()):
        return None
    if not _created:
        atexit.register(_drop_created)
    _created.append(name)
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    """Drop the database of ``url`` now (closing what is still connected to it)."""
    import asyncpg

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=3)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())
    if name in _created:
        _created.remove(name)


def _drop_created() -> None:
    for name in list(_created):
        with contextlib.suppress(OSError):
            drop_database(f"postgresql://postgres@127.0.0.1:5432/{name}")
