"""The batch inserter for PostgreSQL (and in-memory SQLite): one ``INSERT .. ON CONFLICT DO
NOTHING RETURNING id`` per batch through the async engine; the per-statement overhead is
amortised over the whole group commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.rows import Row
from sidecar.store.tables import EVENT_COLUMNS, events


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
