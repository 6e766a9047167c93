"""The fleet table on the shared PostgreSQL: one row per (replica, window) of encoded sketches.

``sidecar_fleet_sketches(replica_id, window, updated_at, format, events, body)``, primary key
(replica_id, window). A replica writes all its windows in one
``INSERT .. ON CONFLICT DO UPDATE`` (one statement, one round trip per interval, whatever the
number of windows); ``updated_at`` is the database's ``clock_timestamp()`` and a read returns
each row's age by the same clock, so replicas' clock skew never makes data look fresh or old.
A query reads the rows of one window (one per replica). The table is created on first use under
an advisory lock, so replicas starting together do not race. Rows of replicas gone for longer
than the longest window are purged by whichever replica is publishing.

The body is opaque here (:mod:`sidecar.analytics.codec` writes and reads it); ``format`` and
``events`` are stored beside it for operators reading the table by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, TypeVar

from sidecar.analytics.codec import FORMAT
from sidecar.analytics.fleet import FleetStoreUnavailable, PublishedWindow, ReplicaRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from sidecar.store.event_store import EventStore

TABLE = "sidecar_fleet_sketches"

_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    replica_id varchar(128) NOT NULL,
    "window" varchar(16) NOT NULL,
    updated_at timestamptz NOT NULL,
    format smallint NOT NULL,
    events bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (replica_id, "window")
)"""
_UPSERT_HEAD = (
    f'INSERT INTO {TABLE} (replica_id, "window", updated_at, format, events, body) VALUES '
)
_UPSERT_TAIL = (
    ' ON CONFLICT (replica_id, "window") DO UPDATE SET updated_at = excluded.updated_at, '
    "format = excluded.format, events = excluded.events, body = excluded.body"
)
_READ = (
    f"SELECT replica_id, EXTRACT(EPOCH FROM clock_timestamp() - updated_at) AS age_s, body "
    f'FROM {TABLE} WHERE "window" = :window'
)
_PURGE = f"DELETE FROM {TABLE} WHERE updated_at < clock_timestamp() - make_interval(secs => :age)"

T = TypeVar("T")


class PostgresFleetStore:
    """:class:`~sidecar.analytics.fleet.FleetStore` on the sidecar's PostgreSQL engine."""

    def __init__(self, engine: AsyncEngine, timeout_s: float = 5.0) -> None:
        from sqlalchemy import text  # here: the module loads without SQLAlchemy

        if engine.dialect.name != "postgresql":
            raise ValueError("fleet stats need PostgreSQL (the database every replica shares)")
        self._text = text
        self._engine = engine
        self._timeout_s = timeout_s
        self._upserts: dict[int, str] = {}

    async def _run(self, work: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(work, self._timeout_s)
        except Exception as exc:  # any driver failure (asyncpg raises its own on connect)
            raise FleetStoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def start(self) -> None:
        async def create() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(
                    self._text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": TABLE}
                )
                await conn.execute(self._text(_DDL))

        await self._run(create())

    def _upsert(self, n: int) -> str:
        sql = self._upserts.get(n)
        if sql is None:
            rows = ", ".join(f"(:r, :w{i}, clock_timestamp(), :f, :e{i}, :b{i})" for i in range(n))
            sql = self._upserts[n] = _UPSERT_HEAD + rows + _UPSERT_TAIL
        return sql

    async def publish(self, replica_id: str, windows: Sequence[PublishedWindow]) -> None:
        if not windows:
            return
        params: dict[str, object] = {"r": replica_id, "f": FORMAT}
        for i, w in enumerate(windows):
            params[f"w{i}"], params[f"e{i}"], params[f"b{i}"] = w.window, w.count, w.payload

        async def upsert() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(self._text(self._upsert(len(windows))), params)

        await self._run(upsert())

    async def read(self, window: str) -> list[ReplicaRow]:
        async def select() -> list[ReplicaRow]:
            async with self._engine.connect() as conn:
                result = await conn.execute(self._text(_READ), {"window": window})
                return [ReplicaRow(r[0], float(r[1]), bytes(r[2])) for r in result]

        return await self._run(select())

    async def purge(self, older_than_s: float) -> int:
        async def delete() -> int:
            async with self._engine.begin() as conn:
                result = await conn.execute(self._text(_PURGE), {"age": older_than_s})
                return int(result.rowcount or 0)

        return await self._run(delete())


def open_fleet_store(store: EventStore, enabled: bool) -> PostgresFleetStore | None:
    """The fleet store when the database is shared (PostgreSQL) and fleet stats are on."""
    if not enabled or not store.is_postgres:
        return None
    return PostgresFleetStore(store.engine)
