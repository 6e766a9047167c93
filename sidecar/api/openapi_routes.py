"""``GET /openapi.json``: the contract as OpenAPI 3.1 (no token needed, like the probes).

The document is built at the first request (on a worker thread) and kept: the start does not
pay for the schema generation."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from sidecar.api.json import json_response


def routes() -> list[web.RouteDef]:
    built: list[dict[str, Any]] = []

    async def openapi(_request: web.Request) -> web.Response:
        if not built:
            document = await asyncio.to_thread(_build)
            if not built:
                built.append(document)
        return json_response(built[0])

    return [web.get("/openapi.json", openapi)]


def _build() -> dict[str, Any]:
    from sidecar.api.openapi import build_document

    return build_document()
