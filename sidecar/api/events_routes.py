"""``POST /v1/events`` (one object, a JSON array or NDJSON) and the store queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.ingest_prelude import IngestPrelude
from sidecar.api.json import json_response
from sidecar.api.params import int_param, time_param
from sidecar.api.principals import Principal, principal
from sidecar.api.tenancy import confine_events
from sidecar.events.decode import JSON_TYPES, NDJSON_TYPES, DecodeFailure, decode_events
from sidecar.ingest import Ingest
from sidecar.store import EventFilter, QueryError
from sidecar.store.event_store import EventStore
from sidecar.telemetry.prometheus import PrometheusMetrics

MAX_PAGE = 1000
_EVENT_TYPES = JSON_TYPES | NDJSON_TYPES
_EVENT_HINT = "application/json (an object or an array) or application/x-ndjson"


def routes(
    ingest: Ingest,
    store: EventStore,
    metrics: PrometheusMetrics,
    max_body_bytes: int,
    mask_id: Callable[[str | None], str | None] = lambda value: value,
) -> list[web.RouteDef]:
    """``mask_id``: query filters on ids are masked as stored ids are (PII → pseudonym)."""
    prelude = IngestPrelude("/v1/events", metrics, max_body_bytes)

    async def post_events(request: web.Request) -> web.Response:
        body = await prelude.read(request, _EVENT_TYPES, _EVENT_HINT)
        try:
            batch = await prelude.decode(body, decode_events)
        except DecodeFailure as exc:
            raise prelude.refuse(
                request,
                ApiError(
                    exc.status, exc.code, exc.message, exc.field, line=exc.line, index=exc.index
                ),
            ) from None
        confine_events(principal(request), batch.events)
        result = await prelude.ingest(request, ingest, batch.events)
        if batch.unknown_field_events:
            metrics.events_unknown_fields(batch.unknown_field_events)
        return json_response(
            {"accepted": result.accepted, "duplicates": result.duplicates}, status=202
        )

    async def get_events(request: web.Request) -> web.Response:
        query = request.query
        limit = int_param(query, "limit", default=100, low=1, high=MAX_PAGE)
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(422, "invalid_parameter", "order must be asc or desc", "order")
        engine = await store.reader()
        from sidecar.store.queries import list_events  # loaded by reader(): SQLAlchemy

        try:
            page = await list_events(
                engine,
                _filter(query, principal(request), mask_id),
                limit=limit,
                cursor=query.get("cursor"),
                order=order,  # type: ignore[arg-type]
            )
        except QueryError as exc:
            raise ApiError(422, "invalid_parameter", str(exc), exc.field) from None
        return json_response({"events": page.events, "next_cursor": page.next_cursor})

    async def get_aggregate(request: web.Request) -> web.Response:
        query = request.query
        group_by = [g for g in query.get("group_by", "").split(",") if g]
        engine = await store.reader()
        from sidecar.store.queries import aggregate  # loaded by reader(): SQLAlchemy

        try:
            result = await aggregate(engine, _filter(query, principal(request), mask_id), group_by)
        except QueryError as exc:
            raise ApiError(422, "invalid_parameter", str(exc), exc.field) from None
        return json_response(result)

    return [
        web.post("/v1/events", post_events),
        web.get("/v1/events", get_events),
        web.get("/v1/aggregate", get_aggregate),
    ]


def _filter(query: Any, who: Principal, mask_id: Callable[[str | None], str | None]) -> EventFilter:
    """The query's filters; a tenant-scoped caller only ever sees its own tenant, and ids
    holding PII are looked up by the pseudonym they are stored under."""
    type_ = query.get("type")
    if type_ is not None and type_ not in ("llm_call", "tool_call", "run"):
        raise ApiError(422, "invalid_parameter", "type must be llm_call, tool_call or run", "type")
    return EventFilter(
        type=type_,
        user_id=mask_id(query.get("user_id")),
        session_id=mask_id(query.get("session_id")),
        request_id=mask_id(query.get("request_id")),
        tenant=who.own_tenant(query.get("tenant")),
        trace_id=query.get("trace_id"),
        since=time_param(query, "since"),
        until=time_param(query, "until"),
    )
