"""The OTLP/HTTP routes (``/v1/traces``, ``/v1/metrics``, ``/v1/logs``), loaded on first use.

The receiver (:mod:`sidecar.api.otlp_receiver`) needs protobuf and the OTLP message classes,
several MB of import; a sidecar fed only through ``/v1/events`` never loads them. The
first OTLP request imports them on a worker thread (the event loop keeps serving) and every
request after it goes straight to the receiver.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from sidecar.ingest import Ingest
from sidecar.telemetry.prometheus import PrometheusMetrics

if TYPE_CHECKING:
    from sidecar.events.otlp_map import RecentCalls

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PATHS = ("/v1/traces", "/v1/metrics", "/v1/logs")


def routes(
    ingest: Ingest,
    metrics: PrometheusMetrics,
    max_body_bytes: int,
    recent: RecentCalls | None = None,
) -> list[web.RouteDef]:
    """The OTLP/HTTP routes; ``recent`` drops twins of LLM calls across export requests."""
    handlers: dict[str, Handler] = {}
    lock = asyncio.Lock()

    async def load() -> None:
        async with lock:
            if handlers:
                return
            receiver = await asyncio.to_thread(importlib.import_module, "sidecar.api.otlp_receiver")
            for route in receiver.routes(ingest, metrics, max_body_bytes, recent):
                handlers[route.path] = route.handler

    def lazy(path: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not handlers:
                await load()
            return await handlers[path](request)

        return handle

    return [web.post(path, lazy(path)) for path in PATHS]
