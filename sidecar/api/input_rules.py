"""The edge check of every request's path segments and query values (:mod:`sidecar.validation`).

Before any handler runs: each path parameter (a budget id, a namespace, a request id) is an id
(1..256 bytes in UTF-8, no control character) and each query value at most 1,024 bytes with
no control character; anything else is a 422 ``invalid_parameter`` naming the parameter
(a parameter *name* a route does not know is its 400 ``unknown_parameter``). The
console's asset path and the cache's ``key`` / ``key_json`` (content, not identifiers: the
cache bounds them) are exempt. Per-parameter rules (ids at most 256 characters, numbers in
range, unique ``group_by`` values) stay with the routes, in :mod:`sidecar.api.params`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from sidecar.api.errors import ApiError
from sidecar.validation import MAX_CURSOR_CHARS, MAX_QUERY_CHARS, text_problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_PARAMS = frozenset({"key", "key_json"})
LONG_PARAMS = {"cursor": MAX_CURSOR_CHARS}
FREE_PATH_PARAMS = frozenset({"path"})  # /ui/{path}: matched against the bundle, never stored


def check_request(request: web.Request) -> None:
    """Raise the 422 of the first path segment or query value breaking the rules."""
    for name, value in request.match_info.items():
        if name in FREE_PATH_PARAMS:
            continue
        problem = text_problem(value) if value else "must not be empty"
        if problem is not None:
            raise ApiError(422, "invalid_parameter", f"{name} {problem}", name)
    for name, value in request.query.items():
        if name in CONTENT_PARAMS:
            continue
        problem = text_problem(value, max_chars=LONG_PARAMS.get(name, MAX_QUERY_CHARS))
        if problem is not None:
            raise ApiError(422, "invalid_parameter", f"{name} {problem}", name)


def input_middleware() -> Middleware:
    """:func:`check_request` before every handler of a matched route."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is None:
            check_request(request)
        return await handler(request)

    return middleware
