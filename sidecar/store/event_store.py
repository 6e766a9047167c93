"""The one entry point to the event store: ``open_event_store(url, config)``.

It builds the exact inserter for the backend and the group-commit writer; as a lifecycle part
its ``start`` creates or upgrades the schema and its ``close`` disposes of the engine, if one
was made. The writer is a part of its own (``store.writer``), started after the schema and
closed before whatever charges its batches, so the app factory places the two apart;
``async with open_event_store(url) as store`` does both in one step (for tools and tests).

On a SQLite file (the default) the start (schema, stored secrets), the ingest hot path and the
health ping go through the stdlib ``sqlite3`` (:mod:`sidecar.store.sqlite_start`,
:class:`~sidecar.store.inserters.SqliteInserter`); SQLAlchemy and its driver are imported only
when something needs the engine: the first read query, retention, or any use on PostgreSQL.
A sidecar that only ingests never loads them (about 20 MB and 0.4 s of start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.store import sqlite_start
from sidecar.store.config import StoreConfig
from sidecar.store.inserters import BatchInserter, make_inserter
from sidecar.store.urls import parse_database_url
from sidecar.store.writer import EventWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class EventStore:
    """The events database of one URL and its writer; :attr:`engine` is created at first use."""

    def __init__(
        self, url: str, config: StoreConfig, *, sql_echo: bool = False,
        on_commit: Callable[[float, int], None] | None = None,
    ) -> None:  # fmt: skip
        parsed = parse_database_url(url)
        self.url = url
        self.config = config
        self.sql_echo = sql_echo
        self.backend = parsed.backend
        self.sqlite_path = parsed.sqlite_path
        if self.sqlite_path:  # the cache and the journal open their files beside it at build
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        self._engine: AsyncEngine | None = None
        self._engine_lock = asyncio.Lock()
        self.writer = EventWriter(
            self.inserter(),
            batch_max_events=config.batch_max_events,
            queue_max_events=config.queue_max_events,
            on_commit=on_commit,
        )

    async def start(self) -> None:
        """Create or upgrade the schema (idempotent: every start runs it)."""
        await self.create_schema()

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy async engine (SQLAlchemy is imported on the first access)."""
        if self._engine is None:
            from sidecar.store.database import create_engine

            self._engine = create_engine(self.url, self.config, sql_echo=self.sql_echo)
        return self._engine

    @property
    def engine_created(self) -> bool:
        return self._engine is not None

    async def reader(self) -> AsyncEngine:
        """The engine for a read query. The first call imports SQLAlchemy and the query
        modules on a worker thread, so the event loop keeps serving while they load."""
        if self._engine is None:
            async with self._engine_lock:
                if self._engine is None:
                    await asyncio.to_thread(_load_read_side)
                    return self.engine
        return self._engine

    def inserter(self) -> BatchInserter:
        """The batch inserter of the ingest path (no engine for a SQLite file)."""
        engine = None if self.sqlite_path else self.engine
        return make_inserter(engine, self.url, self.config.sqlite_synchronous)

    async def create_schema(self) -> None:
        """Create missing tables and apply pending upgrades; safe on every start."""
        if self.sqlite_path:
            await asyncio.to_thread(
                sqlite_start.create_schema, self.sqlite_path, self.config.sqlite_synchronous
            )
            return
        from sidecar.store.database import create_schema

        await create_schema(self.engine)

    async def secret(self, name: str) -> str:
        """The secret stored under ``name`` (:mod:`sidecar.store.secrets`)."""
        if self.sqlite_path:
            return await asyncio.to_thread(sqlite_start.stored_secret, self.sqlite_path, name)
        from sidecar.store.secrets import stored_secret

        return await stored_secret(self.engine, name)

    async def ping(self) -> float:
        """One trivial query's round trip, in milliseconds."""
        if self.sqlite_path:
            return await asyncio.to_thread(sqlite_start.ping, self.sqlite_path)
        from sidecar.store.database import ping

        return await ping(self.engine)

    async def close(self) -> None:
        """Dispose of the engine if one was created."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def __aenter__(self) -> EventStore:
        """Schema, then the writer: ready to write (for tools and tests)."""
        await self.start()
        await self.writer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        """Commit what the writer holds, then dispose of the engine."""
        try:
            await self.writer.close()
        finally:
            await self.close()


def _load_read_side() -> None:
    import sidecar.store.database
    import sidecar.store.queries
    import sidecar.store.runs
    import sidecar.store.series  # noqa: F401


def open_event_store(
    url: str, config: StoreConfig | None = None, *, sql_echo: bool = False,
    on_commit: Callable[[float, int], None] | None = None,
) -> EventStore:  # fmt: skip
    """The store at ``url`` with ``config``'s connection, batching and queue settings; nothing
    is opened until :meth:`EventStore.start` (schema) and ``writer.start()``. Raises
    DatabaseUrlError for a URL it cannot open; ``sql_echo``: statement parameters appear in
    SQLAlchemy's error messages."""
    return EventStore(url, config or StoreConfig(), sql_echo=sql_echo, on_commit=on_commit)


__all__ = ["EventStore", "open_event_store"]
