"""The one POST prelude of the ingest routes (``/v1/events``, ``/v1/traces``, ``/v1/metrics``,
``/v1/logs``): content type, encoding, size, off-loop decoding, error mapping and counting.

Both ingest paths fail alike and count alike:

- **Content type**: a route names the media types it decodes; anything else is 415
  ``unsupported_media_type`` naming ``Content-Type``.
- **Encoding**: ``Content-Encoding: gzip`` or ``deflate`` (or ``identity``) is inflated once, by
  the HTTP server as the body streams in, in bounded chunks; the limit applies to the inflated
  body, so a 1 KB gzip bomb is a 413 after at most ``max_body_bytes``, never an allocation of
  its full size. Other encodings are 415 ``unsupported_encoding``; a corrupt gzip stream 400
  ``malformed_encoding``.
- **Size**: more than ``max_body_bytes`` (by ``Content-Length`` or as read) is 413
  ``body_too_large``.
- **Off the event loop**: a body larger than :data:`OFF_LOOP_BYTES` (256 KiB) is decoded, and
  its events transformed, in a worker thread, so a 4 MB OTLP or NDJSON body does not hold the
  loop (the decoding thread yields the interpreter lock every few milliseconds, except inside
  one C parse call); a smaller one is decoded on the loop (about 2 ms).
- **Store**: ``StoreOverloaded`` is 503 ``overloaded``, ``StoreUnavailable`` 503
  ``store_unavailable``, both with ``Retry-After: 1``; ``RowsRefused`` (a value the database
  refuses, this request's alone) 422 ``invalid_event``.
- **Counting**: every refused request counts in ``agent_sidecar_events_rejected_total{reason}``
  and every stored or duplicate event in ``..._ingested_total`` / ``..._duplicate_total``.
- **Logging**: every 4xx writes one WARNING line with the route, status, code, field (a schema
  path), body size and media type, never the message (it may quote what the client sent).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from sidecar.api.errors import ApiError
from sidecar.events.schema import Event
from sidecar.ingest import OFF_LOOP_BYTES, Ingest, IngestResult
from sidecar.offload import off_loop
from sidecar.store import RowsRefused, StoreOverloaded, StoreUnavailable
from sidecar.telemetry.prometheus import PrometheusMetrics

log = logging.getLogger("sidecar.ingest")

INFLATED_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})
_SAFE_FIELD = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,64}$")
T = TypeVar("T")


@dataclass(frozen=True)
class Body:
    """A request body as decoded by the HTTP layer (inflated) and its media type."""

    data: bytes
    media_type: str


class IngestPrelude:
    """Reads, decodes and ingests for one route; see the module docstring for the rules."""

    def __init__(self, route: str, metrics: PrometheusMetrics, max_body_bytes: int) -> None:
        self.route = route
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def read(self, request: web.Request, accepted: frozenset[str], hint: str) -> Body:
        """The inflated body, or an :class:`ApiError` (415, 413, 400) already counted."""
        media_type = request.content_type.lower()
        if media_type not in accepted:
            raise self.refuse(
                request,
                ApiError(415, "unsupported_media_type", f"send {hint}", "Content-Type"),
                known_media=False,
            )
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in INFLATED_ENCODINGS:
            raise self.refuse(
                request,
                ApiError(
                    415,
                    "unsupported_encoding",
                    "Content-Encoding must be gzip, deflate or identity",
                    "Content-Encoding",
                ),
            )
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise self.refuse(request, self._too_large())
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise self.refuse(request, self._too_large()) from None
        except RequestPayloadError:
            # The stream is broken: end it here (no lingering read of the rest, which would
            # fail again) and close the connection after this answer.
            request.content.feed_eof()
            raise self.refuse(
                request,
                ApiError(
                    400,
                    "malformed_encoding",
                    f"body is not valid {encoding or 'identity'} data",
                    "Content-Encoding",
                    headers={"Connection": "close"},
                ),
            ) from None
        return Body(data, media_type)

    async def decode(self, body: Body, decoder: Callable[[bytes, str], T]) -> T:
        """``decoder(data, media_type)``, in a worker thread when the body is large."""
        if len(body.data) > OFF_LOOP_BYTES:
            return await off_loop(decoder, body.data, body.media_type)
        return decoder(body.data, body.media_type)

    async def ingest(
        self, request: web.Request, ingest: Ingest, events: list[Event], body: Body
    ) -> IngestResult:
        """Run ``events`` (decoded from ``body``) through ingest, mapping store trouble to 503
        and counting the result."""
        try:
            result = await ingest.ingest(events, body_bytes=len(body.data))
        except RowsRefused as exc:
            raise self.refuse(
                request, ApiError(422, "invalid_event", str(exc), exc.field)
            ) from None
        except StoreOverloaded as exc:
            self.metrics.events_rejected("overloaded")
            raise ApiError(503, "overloaded", str(exc), headers={"Retry-After": "1"}) from None
        except StoreUnavailable as exc:
            self.metrics.events_rejected("store_unavailable")
            raise ApiError(
                503, "store_unavailable", str(exc), headers={"Retry-After": "1"}
            ) from None
        self.metrics.events_ingested(result.accepted)
        if result.duplicates:
            self.metrics.events_duplicate(result.duplicates)
        return result

    def refuse(
        self, request: web.Request, error: ApiError, *, known_media: bool = True
    ) -> ApiError:
        """Count and log a refused request; returns ``error`` for the caller to raise."""
        self.metrics.events_rejected(error.code)
        field = error.field if error.field and _SAFE_FIELD.match(error.field) else "-"
        media = request.content_type.lower() if known_media else "other"
        log.warning(
            "POST %s refused: %d %s (field %s, %s bytes, %s)",
            self.route,
            error.status,
            error.code,
            field,
            request.content_length if request.content_length is not None else "?",
            media,
        )
        return error

    def _too_large(self) -> ApiError:
        return ApiError(413, "body_too_large", f"body exceeds {self.max_body_bytes} bytes")


__all__ = ["OFF_LOOP_BYTES", "Body", "IngestPrelude"]
