"""The composition root: builds every part from the settings and wires them together.

Parts never import each other sideways; this module is the one place that knows them all.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar import __version__
from sidecar.analytics import Analytics
from sidecar.api import events_routes, health_routes, stats_routes, traces_routes
from sidecar.api.middlewares import auth_middleware, error_middleware
from sidecar.config import Settings
from sidecar.ingest import Ingest
from sidecar.store import EventWriter, create_engine, create_schema, ping
from sidecar.store.retention import Retention
from sidecar.telemetry.otlp_export import SpanExporterSink
from sidecar.telemetry.prometheus import PrometheusMetrics
from sidecar.telemetry.span_ids import TraceIdTransform
from sidecar.telemetry.stats_collector import StatsCollector

log = logging.getLogger(__name__)


@dataclass
class Components:
    """Everything the app factory built, for the routes, the CLI and the tests."""

    settings: Settings
    registry: CollectorRegistry
    engine: AsyncEngine
    writer: EventWriter
    ingest: Ingest
    metrics: PrometheusMetrics
    analytics: Analytics
    component_stats: StatsCollector
    spans: SpanExporterSink | None = None
    extras: dict[str, Any] = field(default_factory=dict)


COMPONENTS = web.AppKey("components", Components)


def build_components(settings: Settings) -> Components:
    registry = CollectorRegistry()
    engine = create_engine(settings.db_url, settings.store)
    analytics = Analytics(settings.analytics)
    metrics = PrometheusMetrics(registry, settings.metrics, analytics)
    writer = EventWriter(
        engine,
        batch_max_events=settings.store.batch_max_events,
        queue_max_events=settings.store.queue_max_events,
        on_commit=metrics.store_write,
    )
    metrics.watch_ingest_queue_depth(lambda: writer.stats.queued_events)
    component_stats = StatsCollector(registry)
    ingest = Ingest(
        writer,
        transforms=[TraceIdTransform()],
        sinks=[analytics, metrics] if settings.analytics.enabled else [metrics],
        capture_content=settings.capture_content,
    )
    parts = Components(
        settings, registry, engine, writer, ingest, metrics, analytics, component_stats
    )
    _add_span_export(parts)
    return parts


def _add_span_export(parts: Components) -> None:
    """GenAI spans over OTLP (when enabled): built from stored, already redacted events."""
    settings = parts.settings
    if not settings.traces.enabled:
        return
    config = msgspec.structs.replace(
        settings.traces,
        capture_content=settings.capture_content,
    )
    parts.spans = spans = SpanExporterSink.from_config(config)
    parts.ingest.add_sink(spans)
    parts.component_stats.counter(
        "agent_sidecar_spans_exported", "GenAI spans the OTLP collector accepted.",
        lambda: spans.stats()["exported"],
    )
    parts.component_stats.counter(
        "agent_sidecar_spans_dropped", "GenAI spans dropped, by reason.",
        lambda: {"queue_full": spans.stats()["dropped_queue_full"],
                 "export_failed": spans.stats()["export_failed"]},
        labels=("reason",),
    )
    parts.component_stats.gauge(
        "agent_sidecar_spans_queued", "GenAI spans waiting for export.",
        lambda: spans.stats()["queued"],
    )


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
            parts.metrics.set_store_up(False)
            return {"connected": False, "error": type(exc).__name__}
        parts.metrics.set_store_up(True)
        return {"connected": True, "latency_ms": round(latency, 3)}

    app.add_routes(
        health_routes.routes({"database": database_check}, parts.registry, version=__version__)
    )
    app.add_routes(
        events_routes.routes(parts.ingest, parts.engine, parts.metrics, settings.max_body_bytes)
    )
    app.add_routes(stats_routes.routes(parts.analytics))
    app.add_routes(traces_routes.routes(parts.ingest, settings.max_body_bytes))

    async def open_store(_app: web.Application) -> None:
        await create_schema(parts.engine)
        await parts.writer.start()
        parts.metrics.set_store_up(True)

    async def close_store(_app: web.Application) -> None:
        await parts.writer.close()
        if parts.spans is not None:
            await asyncio.to_thread(parts.spans.shutdown)
        await parts.engine.dispose()

    retention = parts.extras["retention"] = Retention(parts.engine, settings.store.retention)

    async def start_retention(_app: web.Application) -> None:
        retention.start()

    async def stop_retention(_app: web.Application) -> None:
        await retention.close()

    app.on_startup.append(open_store)
    app.on_startup.append(start_retention)
    app.on_cleanup.append(stop_retention)
    app.on_cleanup.append(close_store)
    return app
