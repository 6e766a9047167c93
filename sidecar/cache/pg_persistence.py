"""Cache persistence in PostgreSQL, for sidecars whose store is PostgreSQL.

Same contract as :class:`~sidecar.cache.persistence.SqliteCachePersistence` (one transaction per
flush, invalidations at once, embeddings with their entries), in a table
``sidecar_cache_entries`` the sidecar creates. Each replica loads the table at start, so a
restarted replica starts warm with every replica's flushed entries; replicas do not see each
other's stores while running. Keys are stored as UTF-8 bytes, so any text round-trips.

The cache calls it from worker threads through a synchronous interface; the calls run on a
private event loop thread with one asyncpg connection (``asyncpg`` comes with the
``postgres`` extra).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from sidecar.cache.persistence import PersistedEntry

T = TypeVar("T")
_FIELDS = tuple(PersistedEntry.__struct_fields__)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sidecar_cache_entries (
    id TEXT PRIMARY KEY, tenant TEXT, namespace TEXT NOT NULL, model TEXT, user_id TEXT,
    key BYTEA NOT NULL, key_is_json BOOLEAN NOT NULL, value_json BYTEA NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
    contains_pii BOOLEAN NOT NULL, cost_usd DOUBLE PRECISION, tokens BIGINT,
    embedding BYTEA, embedding_model TEXT
);
CREATE INDEX IF NOT EXISTS sidecar_cache_entries_created ON sidecar_cache_entries (created_at);
"""
_UPSERT = (
    f"INSERT INTO sidecar_cache_entries ({', '.join(_FIELDS)}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(_FIELDS)))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{f} = EXCLUDED.{f}" for f in _FIELDS if f != "id")
)
TIMEOUT_S = 30.0


class PostgresCachePersistence:
    """:class:`~sidecar.cache.persistence.CachePersistence` on PostgreSQL (asyncpg)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="cache-postgres", daemon=True
        )
        self._thread.start()
        self._conn: Any = None  # connected on first use (the app loads in its startup)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT_S)

    async def _connect(self) -> None:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn)
            await self._conn.execute(_SCHEMA)

    def load_all(self) -> Iterator[PersistedEntry]:
        rows = self._call(self._load())
        for row in rows:
            values = dict(zip(_FIELDS, row, strict=True))
            values["key"] = bytes(values["key"]).decode()
            values["value_json"] = bytes(values["value_json"])
            if values["embedding"] is not None:
                values["embedding"] = bytes(values["embedding"])
            yield PersistedEntry(**values)

    async def _load(self) -> list[Any]:
        await self._connect()
        return list(
            await self._conn.fetch(
                f"SELECT {', '.join(_FIELDS)} FROM sidecar_cache_entries ORDER BY created_at"
            )
        )

    def upsert(self, entries: Sequence[PersistedEntry]) -> None:
        rows = [
            tuple(e.key.encode() if f == "key" else getattr(e, f) for f in _FIELDS) for e in entries
        ]
        self._call(self._write(_UPSERT, rows))

    def delete(self, ids: Sequence[str]) -> None:
        self._call(self._delete(list(ids)))

    async def _write(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        await self._connect()
        async with self._conn.transaction():
            await self._conn.executemany(statement, rows)

    async def _delete(self, ids: list[str]) -> None:
        await self._connect()
        await self._conn.execute(
            "DELETE FROM sidecar_cache_entries WHERE id = ANY($1::text[])", ids
        )

    def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            self._call(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
