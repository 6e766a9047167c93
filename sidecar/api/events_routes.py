"""``POST /v1/events`` (one object, a JSON array or NDJSON) and the store queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.ingest_prelude import IngestPrelude
from sidecar.api.json import json_response
from sidecar.api.params import (
    cursor_param,
    group_by_param,
    int_param,
    only_known,
    text_param,
    time_param,
)
from sidecar.api.principals import Principal, principal
from sidecar.api.tenancy import confine_events
from sidecar.events.decode import JSON_TYPES, NDJSON_TYPES, DecodeError, decode_events
from sidecar.ingest import Ingest
from sidecar.store.event_store import EventStore
from sidecar.store.filters import EQUALITY_FILTERS, EventFilter, QueryError
from sidecar.telemetry.prometheus import PrometheusMetrics

MAX_PAGE = 1000
# The filters both read routes take; a parameter outside a route's list is a 400 naming it.
FILTER_PARAMS = (*EQUALITY_FILTERS, "since", "until")
LIST_PARAMS = (*FILTER_PARAMS, "limit", "cursor", "order")
AGGREGATE_PARAMS = (*FILTER_PARAMS, "group_by")
_TYPES = ("llm_call", "tool_call", "run")
_STATUSES = ("ok", "error")
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
        except DecodeError as exc:
            raise prelude.refuse(
                request,
                ApiError(
                    exc.status, exc.code, exc.message, exc.field, line=exc.line, index=exc.index
                ),
            ) from None
        confine_events(principal(request), batch.events)
        result = await prelude.ingest(request, ingest, batch.events, body)
        if batch.unknown_field_events:
            metrics.events_unknown_fields(batch.unknown_field_events)
        return json_response(
            {"accepted": result.accepted, "duplicates": result.duplicates}, status=202
        )

    async def get_events(request: web.Request) -> web.Response:
        query = request.query
        only_known(query, LIST_PARAMS)
        limit = int_param(query, "limit", default=100, low=1, high=MAX_PAGE)
        order = text_param(query, "order") or "desc"
        if order not in ("asc", "desc"):
            raise ApiError(422, "invalid_parameter", "order must be asc or desc", "order")
        engine = await store.reader()
        from sidecar.store.queries import list_events  # loaded by reader(): SQLAlchemy

        try:
            page = await list_events(
                engine,
                _filter(query, principal(request), mask_id),
                limit=limit,
                cursor=cursor_param(query),
                order=order,  # type: ignore[arg-type]
            )
        except QueryError as exc:
            raise ApiError(422, "invalid_parameter", str(exc), exc.field) from None
        return json_response({"events": page.events, "next_cursor": page.next_cursor})

    async def get_aggregate(request: web.Request) -> web.Response:
        query = request.query
        only_known(query, AGGREGATE_PARAMS)
        group_by = group_by_param(query)
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
    """The query's filters (an empty one is absent); a tenant-scoped caller only ever sees its
    own tenant, and ids holding PII are looked up by the pseudonym they are stored under."""
    type_ = _choice(query, "type", _TYPES)
    return EventFilter(
        type=type_,
        user_id=mask_id(text_param(query, "user_id")),
        session_id=mask_id(text_param(query, "session_id")),
        request_id=mask_id(text_param(query, "request_id")),
        tenant=mask_id(who.own_tenant(text_param(query, "tenant"))),
        trace_id=text_param(query, "trace_id"),
        tool=mask_id(text_param(query, "tool")),
        model=mask_id(text_param(query, "model")),
        status=_choice(query, "status", _STATUSES),
        agent=mask_id(text_param(query, "agent")),
        since=time_param(query, "since"),
        until=time_param(query, "until"),
    )


def _choice(query: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    value = text_param(query, name)
    if value is not None and value not in allowed:
        raise ApiError(422, "invalid_parameter", f"{name} must be {' or '.join(allowed)}", name)
    return value
