"""``POST /v1/redact``: the redactor as a service, ``{"text"}`` → masked text and findings, or
a batch ``{"texts": [...]}`` → ``{"results": [...]}`` in the same order.

Offsets in ``findings`` refer to the input text (code points). ``mode`` optionally overrides the
configured masking (``label``, ``hash`` or ``partial``). A batch holds at most
:data:`MAX_TEXTS` texts (422 naming ``texts``) of at most :data:`MAX_BATCH_CHARS` characters
in all (413 naming ``texts``); the body limit (``max_body_bytes``) applies to both forms. One
request of 1,000 texts costs one request's overhead instead of 1,000, and one pre-filter scan
(``Redactor.redact_many``); a large batch is redacted
on a worker thread of its own, one batch after another, as a single text longer than 64 Ki
characters is on a worker thread, so the event loop keeps serving other requests meanwhile.
One thread for the batches, not one each: four batches redacted at once took turns on the
interpreter lock every millisecond and went at about 8 MB/s, one after another at 12-13 MB/s
(350-byte texts, 4 senders, measured).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import msgspec
from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response, parse_json_body
from sidecar.redact import Redactor

MAX_TEXTS = 1000
MAX_BATCH_CHARS = 1024 * 1024
_ON_THREAD_CHARS = 64 * 1024  # a batch above this is redacted off the event loop
_BATCHES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redact-batch")  # see above

Mode = Literal["label", "hash", "partial"]


class RedactBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One text."""

    text: str
    mode: Mode | None = None


class RedactBatchBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A batch of texts, answered in the same order."""

    texts: list[str]
    mode: Mode | None = None


_encode = msgspec.json.Encoder().encode  # RedactionResult is the answer's shape as it is


def routes(redactor: Redactor) -> list[web.RouteDef]:
    def batch(texts: Sequence[str], mode: Mode | None) -> bytes:
        return _encode({"results": redactor.redact_many(texts, mode)})

    async def redact(request: web.Request) -> web.Response:
        raw = await request.read()
        # A key "texts" cannot occur inside a JSON string (its quotes would be escaped).
        if b'"texts"' not in raw:
            one: RedactBody = parse_json_body(raw, RedactBody)
            if len(one.text) > _ON_THREAD_CHARS:
                return json_response(await asyncio.to_thread(redactor.redact, one.text, one.mode))
            return json_response(redactor.redact(one.text, one.mode))
        body: RedactBatchBody = parse_json_body(raw, RedactBatchBody)
        texts = body.texts
        if len(texts) > MAX_TEXTS:
            raise ApiError(
                422,
                "invalid_request",
                f"texts holds {len(texts)} texts; at most {MAX_TEXTS}",
                "texts",
            )
        size = sum(map(len, texts))
        if size > MAX_BATCH_CHARS:
            raise ApiError(
                413,
                "batch_too_large",
                f"texts hold {size} characters; at most {MAX_BATCH_CHARS}",
                "texts",
            )
        if size > _ON_THREAD_CHARS:
            loop = asyncio.get_running_loop()
            encoded = await loop.run_in_executor(_BATCHES, batch, texts, body.mode)
        else:
            encoded = batch(texts, body.mode)
        return web.Response(body=encoded, content_type="application/json")

    return [web.post("/v1/redact", redact)]
