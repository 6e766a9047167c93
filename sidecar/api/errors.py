"""JSON errors of contract v1: ``{"error": {"code", "message", "field"?}}``.

Anything a client sent gets a 4xx with a body naming the problem; a 500 means a bug of ours and
never carries internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sidecar.api.json import json_response

Mask = Callable[[str], str]


def unmasked(text: str) -> str:
    return text


class ApiError(Exception):
    """Raised by handlers; rendered by :func:`error_middleware`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
        self.extra = extra


def error_body(
    code: str, message: str, field: str | None = None, *, mask: Mask = unmasked, **extra: Any
) -> dict[str, Any]:
    """The error object; string values pass ``mask`` (the app's redactor), because messages
    may quote what the client sent (``'bob@example.com'`` becomes ``'[EMAIL]'``)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    error.update({k: v for k, v in extra.items() if v is not None})
    return {"error": {k: mask(v) if isinstance(v, str) else v for k, v in error.items()}}


def error_response(error: ApiError, mask: Mask = unmasked) -> web.Response:
    return json_response(
        error_body(error.code, error.message, error.field, mask=mask, **error.extra),
        status=error.status,
        headers=error.headers,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def from_http_exception(exc: web.HTTPException) -> web.Response:
    """aiohttp's own 4xx (no route, wrong method, body over the limit) as JSON errors."""
    code = _HTTP_CODES.get(exc.status, "http_error")
    message = exc.reason if exc.status != 413 else "request body is larger than the limit"
    headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
    return json_response(error_body(code, message), status=exc.status, headers=headers)
