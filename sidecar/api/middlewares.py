"""Request middlewares: JSON errors for everything, and bearer-token authentication.

The token compare is constant-time (:func:`hmac.compare_digest`). ``/health``, ``/ready`` and
``/openapi.json`` never need a token (probes); ``/metrics`` does unless opened by config.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from sidecar.api.errors import ApiError, error_body, error_response, from_http_exception
from sidecar.api.json import json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_PATHS = frozenset({"/health", "/ready", "/openapi.json"})


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return from_http_exception(exc)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response(error_body("internal", "internal error"), status=500)


def auth_middleware(
    token: str | None, *, metrics_public: bool
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Require ``Authorization: Bearer <token>`` when a token is configured."""
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is None or request.path in OPEN_PATHS:
            return await handler(request)
        if request.path == "/metrics" and metrics_public:
            return await handler(request)
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise ApiError(
                401, "unauthorized", "missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await handler(request)

    return middleware
