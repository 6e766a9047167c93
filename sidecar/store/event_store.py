"""The one entry point to the event store: ``open_event_store(url, config)``.

It builds the engine, the exact inserter for the backend and the group-commit writer; as a
lifecycle part its ``start`` creates or upgrades the schema and its ``close`` disposes of the
engine. The writer is a part of its own (``store.writer``), started after the schema and
closed before whatever charges its batches, so the app factory places the two apart;
``async with open_event_store(url) as store`` does both in one step (for tools and tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.config import StoreConfig
from sidecar.store.database import create_engine, create_schema
from sidecar.store.inserters import make_inserter
from sidecar.store.writer import EventWriter


@dataclass
class EventStore:
    """The engine and the writer of one database."""

    url: str
    engine: AsyncEngine
    writer: EventWriter

    async def start(self) -> None:
        """Create or upgrade the schema (idempotent: every start runs it)."""
        await create_schema(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

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


def open_event_store(
    url: str, config: StoreConfig | None = None, *, sql_echo: bool = False,
    on_commit: Callable[[float, int], None] | None = None,
) -> EventStore:  # fmt: skip
    """The store at ``url`` with ``config``'s connection, batching and queue settings; nothing
    is opened until :meth:`EventStore.start` (schema) and ``writer.start()``."""
    config = config or StoreConfig()
    engine = create_engine(url, config, sql_echo=sql_echo)
    writer = EventWriter(
        make_inserter(engine, url, config.sqlite_synchronous),
        batch_max_events=config.batch_max_events,
        queue_max_events=config.queue_max_events,
        on_commit=on_commit,
    )
    return EventStore(url, engine, writer)


__all__ = ["EventStore", "open_event_store"]
