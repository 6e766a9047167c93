"""Probes and scrape: ``/health``, ``/ready``, ``/metrics``.

``/health`` reports the parts and their latency (200 healthy, 503 not); ``/ready`` answers
whether this sidecar can take traffic now (the database is reachable), for Kubernetes. A 503
carries ``Retry-After: 1``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from sidecar.api.json import json_response

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def _retry(healthy: bool) -> dict[str, str] | None:
    """A 503 probe answer says when to look again, like every other 503."""
    return None if healthy else {"Retry-After": "1"}


def routes(
    checks: dict[str, HealthCheck], registry: CollectorRegistry, *, version: str
) -> list[web.RouteDef]:
    started = time.time()

    async def run_checks() -> tuple[bool, dict[str, Any]]:
        names = list(checks)
        results = await asyncio.gather(*(checks[n]() for n in names))
        parts = dict(zip(names, results, strict=True))
        healthy = all(part.get("healthy", part.get("connected", True)) for part in parts.values())
        return healthy, parts

    async def health(_request: web.Request) -> web.Response:
        healthy, parts = await run_checks()
        body = {
            "healthy": healthy,
            **parts,
            "version": version,
            "uptime_s": round(time.time() - started, 3),
            "checked_at": time.time(),
        }
        return json_response(body, status=200 if healthy else 503, headers=_retry(healthy))

    async def ready(_request: web.Request) -> web.Response:
        healthy, parts = await run_checks()
        return json_response(
            {"ready": healthy, **parts}, status=200 if healthy else 503, headers=_retry(healthy)
        )

    async def metrics(_request: web.Request) -> web.Response:
        output = await asyncio.get_running_loop().run_in_executor(None, generate_latest, registry)
        response = web.Response(body=output)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return [
        web.get("/health", health),
        web.get("/ready", ready),
        web.get("/metrics", metrics),
    ]
