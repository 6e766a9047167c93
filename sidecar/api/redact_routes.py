"""``POST /v1/redact``: the redactor as a service, ``{"text"}`` → masked text and findings.

Offsets in ``findings`` refer to the input text (code points). ``mode`` optionally overrides the
configured masking (``label``, ``hash`` or ``partial``). A text longer than 64 KiB is redacted in a
worker thread, so a 4 MB text does not hold the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import msgspec
from aiohttp import web

from sidecar.api.json import json_response, parse_json_body
from sidecar.redact import Redactor

OFF_LOOP_CHARS = 64 * 1024


class RedactBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: str
    mode: Literal["label", "hash", "partial"] | None = None


def routes(redactor: Redactor) -> list[web.RouteDef]:
    async def redact(request: web.Request) -> web.Response:
        body: RedactBody = parse_json_body(await request.read(), RedactBody)
        if len(body.text) > OFF_LOOP_CHARS:
            result = await asyncio.to_thread(redactor.redact, body.text, body.mode)
        else:
            result = redactor.redact(body.text, body.mode)
        return json_response(
            {
                "text": result.text,
                "findings": [
                    {"type": f.type, "start": f.start, "end": f.end} for f in result.findings
                ],
            }
        )

    return [web.post("/v1/redact", redact)]
