"""``GET /v1/stats``: percentiles over sliding windows, of this sidecar or of the whole fleet.

``scope=local`` (the default) reads this sidecar's in-memory sketches; ``scope=fleet`` merges
every replica's published sketches from the shared PostgreSQL (:mod:`sidecar.analytics.fleet`),
or answers with this replica alone (``shared_store: false``) when there is no shared database.
"""

from __future__ import annotations

from aiohttp import web

from sidecar.analytics import Analytics
from sidecar.analytics.fleet import Fleet, FleetStoreUnavailable
from sidecar.api.errors import ApiError
from sidecar.api.json import json_response
from sidecar.api.params import group_by_param, only_known, text_param
from sidecar.api.principals import principal

SCOPES = ("local", "fleet")


def routes(analytics: Analytics, fleet: Fleet) -> list[web.RouteDef]:
    async def get_stats(request: web.Request) -> web.Response:
        principal(request).require_all_tenants("/v1/stats")
        query = request.query
        only_known(query, ("window", "group_by", "scope"))
        window = text_param(query, "window") or "5m"
        group_by = group_by_param(query)
        scope = text_param(query, "scope") or "local"
        if scope not in SCOPES:
            raise ApiError(
                422,
                "invalid_parameter",
                f"scope: expected 'local' or 'fleet', got {scope[:64]!r}",
                "scope",
            )
        try:
            if scope == "fleet":
                body = await fleet.stats(window, group_by)
            else:
                body = analytics.stats(window, group_by)
        except ValueError as exc:
            named = str(exc).split(":", 1)[0].strip()
            field = named if named in ("window", "group_by") else None
            raise ApiError(422, "invalid_parameter", str(exc), field) from None
        except FleetStoreUnavailable:
            raise ApiError(
                503,
                "store_unavailable",
                "the shared database holding the fleet's sketches did not answer",
                headers={"Retry-After": "5"},
            ) from None
        return json_response(body)

    return [web.get("/v1/stats", get_stats)]
