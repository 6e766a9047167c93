"""``GET /v1/stats``: percentiles over sliding windows from the in-memory sketches."""

from __future__ import annotations

from aiohttp import web

from sidecar.analytics import Analytics
from sidecar.api.errors import ApiError
from sidecar.api.json import json_response
from sidecar.api.principals import principal


def routes(analytics: Analytics) -> list[web.RouteDef]:
    async def get_stats(request: web.Request) -> web.Response:
        principal(request).require_all_tenants("/v1/stats")
        window = request.query.get("window", "5m")
        group_by = [g for g in request.query.get("group_by", "").split(",") if g]
        try:
            body = analytics.stats(window, group_by)
        except ValueError as exc:
            named = str(exc).split(":", 1)[0].strip()
            field = named if named in ("window", "group_by") else None
            raise ApiError(422, "invalid_parameter", str(exc), field) from None
        return json_response(body)

    return [web.get("/v1/stats", get_stats)]
