"""Fast JSON responses (msgspec) with the right content type."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from sidecar.events.field_errors import field_names, locate
from sidecar.validation import TOO_LONG, long_text_field

_encoder = msgspec.json.Encoder()


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_encoder.encode(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def parse_json_body(body: bytes, target: type[Any]) -> Any:
    """Decode a request body into ``target`` or raise the contract's 400/422."""
    from sidecar.api.errors import ApiError

    if not body.strip():
        raise ApiError(400, "empty_body", "request body is empty")
    try:
        value = msgspec.json.decode(body, type=target)
    except msgspec.ValidationError as exc:
        located = locate(exc, field_names(target))
        field = located.field
        if located.index is not None:
            field = f"[{located.index}]" + (f".{field}" if field else "")
        raise ApiError(422, "invalid_request", located.message, field) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        message = "body is not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise ApiError(400, "malformed_json", message) from None
    if isinstance(value, msgspec.Struct):
        long_field = long_text_field(value)
        if long_field is not None:
            raise ApiError(
                422, "invalid_request", f"{long_field} {TOO_LONG}",
                long_field,
            )  # fmt: skip
    return value
