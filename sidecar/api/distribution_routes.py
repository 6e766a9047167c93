"""``GET /v1/stats/distribution``: a latency quantile curve per series (all tenants).

Same windows and ``group_by`` fields as ``/v1/stats``; ``metric`` is ``ttft_ms`` (default),
``duration_ms``, ``tpot_ms`` or ``steps``. Each series carries its value at 101 quantiles
from 1 % to 99.9 %, within the sketches' relative accuracy.
"""

from __future__ import annotations

from aiohttp import web

from sidecar.analytics import Analytics
from sidecar.analytics.distribution import distribution
from sidecar.api.errors import ApiError
from sidecar.api.json import json_response
from sidecar.api.params import group_by_param, only_known, text_param
from sidecar.api.principals import principal


def routes(analytics: Analytics) -> list[web.RouteDef]:
    async def get_distribution(request: web.Request) -> web.Response:
        principal(request).require_all_tenants("/v1/stats/distribution")
        query = request.query
        only_known(query, ("window", "group_by", "metric"))
        group_by = group_by_param(query)
        try:
            body = distribution(
                analytics,
                text_param(query, "window") or "5m",
                group_by,
                text_param(query, "metric") or "ttft_ms",
            )
        except ValueError as exc:
            named = str(exc).split(":", 1)[0].strip()
            field = named if named in ("window", "group_by", "metric") else None
            raise ApiError(422, "invalid_parameter", str(exc), field) from None
        return json_response(body)

    return [web.get("/v1/stats/distribution", get_distribution)]
