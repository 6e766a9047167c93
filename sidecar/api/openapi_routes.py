"""``GET /openapi.json``: the contract as OpenAPI 3.1 (no token needed, like the probes)."""

from __future__ import annotations

from aiohttp import web

from sidecar.api.json import json_response
from sidecar.api.openapi import build_document


def routes() -> list[web.RouteDef]:
    document = build_document()

    async def openapi(_request: web.Request) -> web.Response:
        return json_response(document)

    return [web.get("/openapi.json", openapi)]
