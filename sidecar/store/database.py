"""Opening the database: engine, connection settings, schema creation and upgrades.

SQLite runs in WAL mode with ``synchronous=FULL`` by default, so a committed batch survives a
kill -9 and a power cut; PostgreSQL commits are durable as configured on the server. The schema
is created on start; upgrades are additive and applied on start by :func:`create_schema`
(version kept in ``sidecar_schema``), so a new release never needs a manual step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sidecar.store.columns import SCHEMA_VERSION, UPGRADES
from sidecar.store.config import StoreConfig
from sidecar.store.sqlite_connection import apply_pragmas
from sidecar.store.tables import metadata, schema_meta
from sidecar.store.urls import parse_database_url


def is_sqlite(url: str) -> bool:
    return parse_database_url(url, check_driver=False).is_sqlite


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    return parse_database_url(url, check_driver=False).sqlite_path


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://``, ``postgres://`` and ``sqlite:///`` URLs and pick the
    async drivers (:mod:`sidecar.store.urls`)."""
    return parse_database_url(url).url


def create_engine(url: str, config: StoreConfig, *, sql_echo: bool = False) -> AsyncEngine:
    """An async engine with the connection settings each backend needs. Statement parameters
    are left out of its error messages (they hold stored values) unless ``sql_echo``."""
    parsed = parse_database_url(url)
    url = parsed.url
    if parsed.is_sqlite:
        if parsed.sqlite_path:
            Path(parsed.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            pool_size=config.pool_size,
            connect_args={"timeout": 30},
            hide_parameters=not sql_echo,
        )
        synchronous = config.sqlite_synchronous

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            apply_pragmas(dbapi_connection, synchronous)

        return engine
    return create_async_engine(
        url,
        pool_size=config.pool_size,
        max_overflow=config.pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=not sql_echo,
    )


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables and apply pending upgrades; safe to run on every start."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        current = (
            await conn.execute(
                select(schema_meta.c.version).where(schema_meta.c.component == "events")
            )
        ).scalar()
        if current is None:
            await conn.execute(
                schema_meta.insert().values(component="events", version=SCHEMA_VERSION)
            )
            return
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in UPGRADES.get(version, []):
                if isinstance(statement, tuple):
                    backend, statement = statement
                    if backend != conn.dialect.name:
                        continue
                await conn.execute(text(statement))
        if current < SCHEMA_VERSION:
            await conn.execute(
                schema_meta.update()
                .where(schema_meta.c.component == "events")
                .values(version=SCHEMA_VERSION)
            )


async def ping(engine: AsyncEngine) -> float:
    """Round-trip one trivial query; returns its latency in milliseconds."""
    start = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return (time.perf_counter() - start) * 1000.0
