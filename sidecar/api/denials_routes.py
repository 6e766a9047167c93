"""``GET /v1/budgets/denials``: the most recent admission denials of this sidecar process.

Newest first, at most ``limit`` (default 50, at most 500); each with ``reason``, ``limit`` (the
budget or per-request limit that denied), ``retry_after_s``, the request, user, tenant and
model. A tenant-scoped reader sees its tenant's only; a tenantless one every tenant's, or one
tenant's with ``tenant``.
"""

from __future__ import annotations

from aiohttp import web

from sidecar.api.json import json_response
from sidecar.api.params import int_param, only_known, text_param
from sidecar.api.principals import principal
from sidecar.budgets.denials import DenialLog


def routes(denials: DenialLog) -> list[web.RouteDef]:
    async def recent(request: web.Request) -> web.Response:
        query = request.query
        only_known(query, ("limit", "tenant"))
        who = principal(request)
        asked = text_param(query, "tenant")
        tenant = who.own_tenant(asked)
        limit = int_param(query, "limit", default=50, low=1, high=500)
        entries = denials.recent(tenant, all_tenants=tenant is None, limit=limit)
        return json_response(
            {
                "denials": entries,
                "total": denials.total if who.tenant is None and asked is None else None,
            }
        )

    return [web.get("/v1/budgets/denials", recent)]
