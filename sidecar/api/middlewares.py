"""Request middlewares: JSON errors, authentication and roles, rate limits, timeouts.

- Errors: anything raised becomes a contract-v1 JSON error; only our own bugs are 500. A
  value breaking :mod:`sidecar.validation` is a 422 naming its field; a store outage on any
  route a 503 with ``Retry-After`` (:mod:`sidecar.api.outage`).
- Auth: ``Authorization: Bearer <token>`` resolves through :class:`TokenRegistry` (digests
  only) to a principal with a tenant and a role; a route its role does not grant is 403.
  ``/health``, ``/ready`` and ``/openapi.json`` never need a token (probes), nor do the console's
  static files (``/``, ``/ui/...``); ``/metrics`` does unless opened by config.
- Rate limit: a token bucket per principal (per client address when auth is off), refilled on
  the monotonic clock (a wall-clock jump neither blocks nor frees anyone); over it, 429
  ``rate_limited`` with ``Retry-After`` in whole seconds. The table of buckets is bounded
  (least recently seen evicted).
- Timeout: a handler running longer than ``request_timeout_s`` answers 503 ``timeout`` with
  ``Retry-After: 1``; an event batch cut off this way was not acknowledged and is safe to resend
  (event ids make the retry idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from sidecar.api.config import ProtectionConfig
from sidecar.api.errors import (
    ApiError,
    Mask,
    error_body,
    error_response,
    from_http_exception,
    unmasked,
)
from sidecar.api.json import json_response
from sidecar.api.log_lines import Pseudonym, request_line
from sidecar.api.outage import outage_error
from sidecar.api.principals import OPEN, PRINCIPAL, Principal, TokenRegistry, needed_role
from sidecar.validation import InvalidText

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPEN_PATHS = frozenset({"/health", "/ready", "/openapi.json"})
# The console's static files hold no data (it calls /v1 with the user's token): no token needed.
CONSOLE_PATHS = frozenset({"/", "/ui"})
CONSOLE_PREFIX = "/ui/"


def needs_no_token(path: str) -> bool:
    return path in OPEN_PATHS or path in CONSOLE_PATHS or path.startswith(CONSOLE_PREFIX)


def _anonymous(value: str) -> str:
    return "[ID]"


def error_middleware(mask: Mask = unmasked, pseudonym: Pseudonym | None = None) -> Middleware:
    """Every error as a JSON body; ``mask`` (the app's redactor) runs over its strings. A 500's
    log line names the route with its variable parts pseudonymised by ``pseudonym``
    (:mod:`sidecar.api.log_lines`), never the raw path or query."""
    name = pseudonym or _anonymous

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc, mask)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return from_http_exception(exc)
        except InvalidText as exc:
            return error_response(ApiError(422, "invalid_parameter", str(exc), exc.field), mask)
        except Exception as exc:
            outage = outage_error(exc)
            if outage is not None:
                log.warning(
                    "store unavailable on %s: %s", request_line(request, name), type(exc).__name__
                )
                return error_response(outage, mask)
            log.exception("unhandled error on %s", request_line(request, name))
            return json_response(error_body("internal", "internal error"), status=500)

    return middleware


def auth_middleware(registry: TokenRegistry, *, metrics_public: bool) -> Middleware:
    """Resolve the caller and check its role for the route (see the module docstring)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not registry.enabled or needs_no_token(request.path):
            return await handler(request)
        if request.path == "/metrics" and metrics_public:
            return await handler(request)
        who = registry.resolve(request.headers.get("Authorization", ""))
        if who is None:
            raise ApiError(
                401,
                "unauthorized",
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request[PRINCIPAL] = who
        if request.match_info.http_exception is None:  # unknown routes fall through to 404/405
            needed = needed_role(request)
            if not who.may(needed):
                raise ApiError(403, "forbidden", f"this route needs the {needed} role")
            if request.path == "/metrics":
                who.require_all_tenants("/metrics")
        return await handler(request)

    return middleware


@dataclass
class ProtectionStats:
    """Plain counters the telemetry layer exports."""

    rate_limited: int = 0
    timeouts: int = 0
    buckets: int = 0
    buckets_evicted: int = 0


class _Bucket:
    __slots__ = ("level", "stamp")

    def __init__(self, level: float, stamp: float) -> None:
        self.level = level
        self.stamp = stamp


class RateLimiter:
    """Token buckets per caller key, bounded to ``max_clients`` keys (LRU eviction)."""

    def __init__(
        self,
        per_s: float,
        burst: int,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_s = per_s
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """0.0 when a request may pass now, else the seconds until it may."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
                self.evicted += 1
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.stamp)
            bucket.level = min(self.burst, bucket.level + elapsed * self.per_s)
            bucket.stamp = now
        if bucket.level >= 1.0:
            bucket.level -= 1.0
            return 0.0
        return (1.0 - bucket.level) / self.per_s


def protection_middleware(config: ProtectionConfig, stats: ProtectionStats) -> Middleware:
    """Per-caller rate limit and a request timeout (probes are exempt from both)."""
    limiter = (
        RateLimiter(config.rate_limit_per_s, config.rate_limit_burst, config.rate_limit_max_clients)
        if config.rate_limit_per_s > 0
        else None
    )
    timeout = config.request_timeout_s

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        if limiter is not None:
            who: Principal = request.get(PRINCIPAL, OPEN)
            key = who.name if who is not OPEN else f"addr:{request.remote}"
            wait = limiter.take(key)
            stats.buckets, stats.buckets_evicted = len(limiter), limiter.evicted
            if wait > 0:
                stats.rate_limited += 1
                raise ApiError(
                    429,
                    "rate_limited",
                    "too many requests from this token",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
        try:
            async with asyncio.timeout(timeout):
                return await handler(request)
        except TimeoutError:
            stats.timeouts += 1
            raise ApiError(
                503,
                "timeout",
                f"request took longer than {timeout} s",
                headers={"Retry-After": "1"},
            ) from None

    return middleware
