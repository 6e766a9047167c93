"""The batch inserter for PostgreSQL: one statement per group commit, its rows sent as arrays.

``INSERT INTO events (...) SELECT * FROM unnest($1::VARCHAR(520)[], ...) ON CONFLICT (id) DO
NOTHING RETURNING id``, one array per column, through the engine's own asyncpg connection
(its pool, its TLS and its timeouts): asyncpg encodes the 22 arrays in binary and the server
parses one prepared statement, however many rows the group holds. Measured on PostgreSQL 15
over loopback, 1,000-row groups: 19-25k rows/s, against 5-12k through SQLAlchemy's
``insertmanyvalues`` (rows as parameter dicts, a bind processor per value).

A single statement is its own transaction: all of the group or none of it. A value the
database refuses fails the statement with its SQLSTATE (class 22 or 23), a value asyncpg cannot
encode (an integer past BIGINT) with ``asyncpg.DataError``; both are refusals to the writer,
which then commits each request of the group alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.rows import Row
from sidecar.store.tables import EVENT_COLUMNS, events


def unnest_insert() -> str:
    """The statement: the events' columns from one array parameter each, typed as declared."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(
        f"${i}::{events.c[name].type.compile(dialect=dialect)}[]"
        for i, name in enumerate(EVENT_COLUMNS, start=1)
    )
    return (
        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT (id) DO NOTHING RETURNING id"
    )


class AsyncpgInserter:
    """:func:`unnest_insert` on a connection of the engine's pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._statement = unnest_insert()

    async def insert(self, rows: Sequence[Row]) -> set[str]:
        if not rows:
            return set()
        columns = list(zip(*rows, strict=True))
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            stored = await driver.fetch(self._statement, *columns)
        return {record[0] for record in stored}

    async def close(self) -> None:
        return None
