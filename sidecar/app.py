"""The composition root: builds every part from the settings and wires them together.

Parts never import each other sideways; this module is the one place that knows them all.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar import __version__
from sidecar.api import events_routes, health_routes
from sidecar.api.middlewares import auth_middleware, error_middleware
from sidecar.config import Settings
from sidecar.ingest import Ingest
from sidecar.store import EventWriter, create_engine, create_schema, ping
from sidecar.telemetry.ingest_metrics import IngestMetrics

log = logging.getLogger(__name__)


@dataclass
class Components:
    """Everything the app factory built, for the routes, the CLI and the tests."""

    settings: Settings
    registry: CollectorRegistry
    engine: AsyncEngine
    writer: EventWriter
    ingest: Ingest
    ingest_metrics: IngestMetrics
    extras: dict[str, Any] = field(default_factory=dict)


COMPONENTS = web.AppKey("components", Components)


def build_components(settings: Settings) -> Components:
    registry = CollectorRegistry()
    engine = create_engine(settings.db_url, settings.store)
    ingest_metrics = IngestMetrics(registry)
    writer = EventWriter(
        engine,
        batch_max_events=settings.store.batch_max_events,
        queue_max_events=settings.store.queue_max_events,
        on_commit=ingest_metrics.on_commit,
    )
    ingest = Ingest(writer, capture_content=settings.capture_content)
    ingest_metrics.queue_depth.set_function(lambda: writer.stats.queued_events)
    return Components(settings, registry, engine, writer, ingest, ingest_metrics)


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application for ``settings``; starting it opens the store."""
    parts = build_components(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            error_middleware,
            auth_middleware(settings.api_token, metrics_public=settings.metrics_public),
        ],
    )
    app[COMPONENTS] = parts

    async def database_check() -> dict[str, Any]:
        try:
            latency = await asyncio.wait_for(
                ping(parts.engine), timeout=settings.store.health_timeout_s
            )
        except Exception as exc:  # any failure to reach the database means "not connected"
            parts.ingest_metrics.store_up.set(0)
            return {"connected": False, "error": type(exc).__name__}
        parts.ingest_metrics.store_up.set(1)
        return {"connected": True, "latency_ms": round(latency, 3)}

    app.add_routes(
        health_routes.routes({"database": database_check}, parts.registry, version=__version__)
    )
    app.add_routes(
        events_routes.routes(
            parts.ingest, parts.engine, parts.ingest_metrics, settings.max_body_bytes
        )
    )

    async def open_store(_app: web.Application) -> None:
        await create_schema(parts.engine)
        await parts.writer.start()
        parts.ingest_metrics.store_up.set(1)

    async def close_store(_app: web.Application) -> None:
        await parts.writer.close()
        await parts.engine.dispose()

    app.on_startup.append(open_store)
    app.on_cleanup.append(close_store)
    return app
