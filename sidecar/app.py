"""The composition root over HTTP: the parts of :mod:`sidecar.components`, the middlewares and
the routes, and the stages started and closed with the application.

This module only wires: the parts, their metrics (``sidecar.telemetry``) and their lifecycles
(:mod:`sidecar.lifecycle`) live with their owners.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sidecar import __version__
from sidecar.api import (
    budget_routes,
    cache_routes,
    denials_routes,
    distribution_routes,
    events_routes,
    health_routes,
    openapi_routes,
    redact_routes,
    runs_routes,
    series_routes,
    stats_routes,
    summary_routes,
    traces_routes,
    ui_routes,
)
from sidecar.api.errors import unmasked
from sidecar.api.input_rules import input_middleware
from sidecar.api.middlewares import auth_middleware, error_middleware, protection_middleware
from sidecar.api.principals import TokenRegistry
from sidecar.components import Components, budget_users, build_components, pii_probe
from sidecar.config import Settings

if TYPE_CHECKING:
    from sidecar.tools import ToolGate

COMPONENTS = web.AppKey("components", Components)
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application for ``settings``; starting it starts every stage.

    Serve it with :func:`sidecar.server.start_runner`, which applies the connection limits."""
    parts = build_components(settings)
    tokens = TokenRegistry.from_config(settings.api_token, settings.auth.tokens)
    redactor = parts.redactor
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            error_middleware(
                redactor.redact_text if settings.redact.enabled else unmasked, redactor.pseudonym
            ),
            auth_middleware(tokens, metrics_public=settings.metrics_public),
            input_middleware(),
            protection_middleware(settings.protection, parts.protection),
        ],
    )
    app[COMPONENTS] = parts
    app.add_routes(_routes(parts))
    app.cleanup_ctx.append(_lifecycle(parts))
    return app


def _routes(parts: Components) -> list[web.RouteDef]:
    settings, mask_id = parts.settings, parts.mask_id
    users = budget_users(settings, mask_id)
    routes = [
        *health_routes.routes(_health_checks(parts), parts.registry, version=__version__),
        *events_routes.routes(
            parts.ingest, parts.store, parts.metrics, settings.max_body_bytes, mask_id
        ),
        *stats_routes.routes(parts.analytics, parts.fleet),
        *traces_routes.routes(parts.ingest, parts.metrics, settings.max_body_bytes),
        *budget_routes.admit_routes(parts.admission, parts.admit_metrics, mask_id, users),
    ]
    if parts.ledger is not None:
        routes += budget_routes.routes(parts.ledger, mask_id, users)
        routes += denials_routes.routes(parts.denials)
    routes += cache_routes.routes(
        parts.cache, pii_probe(parts.redactor), mask_id, parts.namespaces, parts.mask_key
    )
    routes += redact_routes.routes(parts.redactor)
    routes += runs_routes.routes(parts.store, mask_id)
    routes += series_routes.routes(parts.store, mask_id)
    routes += distribution_routes.routes(parts.analytics)
    routes += summary_routes.routes(parts, version=__version__)
    if parts.tools is not None:

        def tool_route_defs(gate: ToolGate) -> list[web.RouteDef]:
            from sidecar.api import tool_routes  # imported by the gate's build

            return tool_routes.routes(
                gate.store,
                gate.approvals,
                wait_max_s=settings.tools.approval_wait_max_s,
                request_timeout_s=settings.protection.request_timeout_s,
                mask_id=mask_id,
            )

        routes += parts.tools.routes(tool_route_defs)
    return [*routes, *openapi_routes.routes(), *ui_routes.routes()]


def _health_checks(parts: Components) -> dict[str, HealthCheck]:
    settings = parts.settings

    async def database() -> dict[str, Any]:
        try:
            latency = await asyncio.wait_for(
                parts.store.ping(), timeout=settings.store.health_timeout_s
            )
        except Exception as exc:  # any failure to reach the database means "not connected"
            parts.metrics.set_store_up(False)
            return {"connected": False, "error": type(exc).__name__}
        parts.metrics.set_store_up(True)
        return {"connected": True, "latency_ms": round(latency, 3)}

    checks: dict[str, HealthCheck] = {"database": database}
    ledger = parts.ledger
    if ledger is not None:

        async def budgets() -> dict[str, Any]:
            return dict(ledger.status())  # "healthy" and the "reason" when it is not

        checks["budgets"] = budgets
    return checks


def _lifecycle(parts: Components) -> Callable[[web.Application], AsyncIterator[None]]:
    """Every stage started in order before the first request, closed in reverse after the last
    (within the deadlines :mod:`sidecar.server` sets on SIGTERM)."""

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await parts.stages.start()
        yield
        await parts.stages.close()

    return lifecycle


__all__ = ["COMPONENTS", "Components", "budget_users", "build_components", "create_app"]
