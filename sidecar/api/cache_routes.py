"""The semantic cache over HTTP: ``POST /v1/cache/store``, ``POST /v1/cache/store/batch``
(``{"entries": [store body, ...]}``, at most 1,000), ``POST /v1/cache/lookup`` (``match`` is
``exact``, ``fuzzy`` or ``semantic``), ``DELETE /v1/cache/{namespace}``.

Lookups and stores never hold the event loop for long: large keys are analysed, and embeddings
computed, in worker threads (:meth:`SemanticCache.lookup_async`).

The scope of an entry is (tenant, namespace, model, user_id); a lookup never crosses scopes. A
value or key in which the redactor finds PII is stored with ``contains_pii`` set, so it stays in
its user's scope even in a namespace shared across users.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response, parse_json_body
from sidecar.api.params import only_known, text_param
from sidecar.api.principals import principal
from sidecar.cache import (
    CacheScope,
    InvalidCacheKeyError,
    PiiScopeError,
    SemanticCache,
    StoreItem,
    ValueNotJSONError,
)
from sidecar.cache.namespace_stats import NamespaceStats
from sidecar.validation import text_problem

T = TypeVar("T")
Name = msgspec.Meta(min_length=1, max_length=256)


class _ScopeFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    namespace: str
    key: Any
    tenant: str | None = None
    user_id: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        for name in ("namespace", "tenant", "user_id", "model"):
            value = getattr(self, name)
            if value is not None and (not value or text_problem(value) is not None):
                raise ValueError(f"{name} must be 1..256 bytes in UTF-8 without control characters")
        if self.key is None or self.key == "":
            raise ValueError("key must be non-empty text or a JSON value")

    def scope(
        self, request: web.Request, mask_id: Callable[[str | None], str | None]
    ) -> CacheScope:
        """The entry's scope; a tenant-scoped caller's tenant is forced; a tenant, namespace,
        model or user id holding PII is keyed (and persisted) by its pseudonym."""
        tenant = mask_id(principal(request).own_tenant(self.tenant))
        namespace = mask_id(self.namespace) or self.namespace
        return CacheScope(tenant, namespace, mask_id(self.model), mask_id(self.user_id))


class StoreBody(_ScopeFields, kw_only=True, forbid_unknown_fields=True):
    value: Any = None
    ttl_s: float | None = None
    cost_usd: float | None = None
    tokens: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ttl_s is not None and not (math.isfinite(self.ttl_s) and self.ttl_s <= 10**8):
            raise ValueError("ttl_s must be a finite number of seconds")
        if self.cost_usd is not None and not (
            math.isfinite(self.cost_usd) and 0 <= self.cost_usd <= 10**6
        ):
            raise ValueError("cost_usd must be within 0..1e6")
        if self.tokens is not None and not 0 <= self.tokens <= 10**9:
            raise ValueError("tokens must be within 0..1e9")


class LookupBody(_ScopeFields, kw_only=True, forbid_unknown_fields=True):
    pass


MAX_BATCH = 1000
INVALIDATE_PARAMS = ("tenant", "all_users", "model", "user_id", "key", "key_json")


class StoreBatchBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    entries: list[StoreBody]

    def __post_init__(self) -> None:
        if not 1 <= len(self.entries) <= MAX_BATCH:
            raise ValueError(f"entries must hold 1..{MAX_BATCH} stores")


def routes(
    cache: SemanticCache, has_pii: Callable[[Any], bool],
    mask_id: Callable[[str | None], str | None] = lambda value: value,
    namespaces: NamespaceStats | None = None,
    mask_key: Callable[[Any], Any] = lambda key: key,
) -> list[web.RouteDef]:  # fmt: skip
    """``mask_id``: tenants, namespaces, models and user ids holding PII are keyed by their
    pseudonym; ``namespaces`` counts each lookup's result under its namespace; ``mask_key``
    replaces each finding in a key by its keyed pseudonym (``[EMAIL:9f2c...]``), at store and
    at lookup alike, so a key matches as before and its PII is kept nowhere. An entry whose key
    held PII stays in its user's scope."""

    def item(request: web.Request, body: StoreBody) -> StoreItem:
        key = mask_key(body.key)
        pii = key != body.key or has_pii(body.value)
        return StoreItem(body.scope(request, mask_id), key, body.value, body.ttl_s, pii,
                         body.cost_usd, body.tokens)  # fmt: skip

    async def store(request: web.Request) -> web.Response:
        body: StoreBody = parse_json_body(await request.read(), StoreBody)
        with _store_errors(""):
            entry = await _off_loop(body.key, lambda: item(request, body))
            await cache.store_async(entry)
        return json_response({"stored": True})

    async def store_batch(request: web.Request) -> web.Response:
        batch: StoreBatchBody = parse_json_body(await request.read(), StoreBatchBody)
        items = await asyncio.to_thread(lambda: [item(request, body) for body in batch.entries])
        with _store_errors("entries."):
            stored = await cache.store_many_async(items)
        return json_response({"stored": sum(stored)})

    async def lookup(request: web.Request) -> web.Response:
        body: LookupBody = parse_json_body(await request.read(), LookupBody)
        key = await _off_loop(body.key, lambda: mask_key(body.key))
        try:
            result = await cache.lookup_async(body.scope(request, mask_id), key)
        except InvalidCacheKeyError as exc:
            raise ApiError(422, "invalid_request", str(exc), "key") from None
        if namespaces is not None:
            namespaces.record(
                mask_id(body.namespace) or body.namespace,
                result.result,
                tokens_saved=result.saved_tokens,
                usd_saved=result.saved_cost_usd,
            )
        answer: dict[str, Any] = {"hit": result.hit, "result": result.result}
        if result.hit:
            answer.update(
                value=result.value,
                match=result.match,
                score=result.score,
                saved_cost_usd=result.saved_cost_usd,
                saved_tokens=result.saved_tokens,
            )
        elif result.guard:
            answer["guard"] = result.guard
        return json_response(answer)

    async def invalidate(request: web.Request) -> web.Response:
        query = request.query
        only_known(query, INVALIDATE_PARAMS)
        namespace = mask_id(request.match_info["namespace"]) or request.match_info["namespace"]
        tenant = mask_id(principal(request).own_tenant(text_param(query, "tenant")))
        if (text_param(query, "all_users") or "").lower() == "true":
            removed = cache.invalidate_namespace(tenant, namespace)
        else:
            scope = CacheScope(
                tenant,
                namespace,
                mask_id(text_param(query, "model")),
                mask_id(text_param(query, "user_id")),
            )
            key: Any = query.get("key") or None
            if key is None and query.get("key_json"):
                try:
                    key = msgspec.json.decode(query["key_json"])
                except msgspec.DecodeError:
                    raise ApiError(
                        422, "invalid_parameter", "key_json is not JSON", "key_json"
                    ) from None
            removed = cache.invalidate(scope, None if key is None else mask_key(key))
        return json_response({"removed": removed})

    return [
        web.post("/v1/cache/store", store),
        web.post("/v1/cache/store/batch", store_batch),
        web.post("/v1/cache/lookup", lookup),
        web.delete("/v1/cache/{namespace}", invalidate),
    ]


_INLINE_KEY = 4096  # characters: a longer key is masked in a worker thread


async def _off_loop(key: Any, work: Callable[[], T]) -> T:
    """``work()`` at once for a short text key, else in a worker thread (the event loop is
    never held by the scan of a long or structured key)."""
    if isinstance(key, str) and len(key) <= _INLINE_KEY:
        return work()
    return await asyncio.to_thread(work)


@contextlib.contextmanager
def _store_errors(prefix: str) -> Iterator[None]:
    """PII without a user, a non-JSON or oversized key or value: 422 naming the field."""
    try:
        yield
    except PiiScopeError as exc:
        raise ApiError(422, "pii_needs_user", str(exc), prefix + "user_id") from None
    except (InvalidCacheKeyError, ValueNotJSONError) as exc:
        field = "key" if isinstance(exc, InvalidCacheKeyError) else "value"
        raise ApiError(422, "invalid_request", str(exc), prefix + field) from None
