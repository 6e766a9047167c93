"""``GET /v1/runs`` (recent runs, paged) and ``GET /v1/runs/{request_id}`` (one run's timeline).

A run is the stored events of one request id (per tenant). The list gives each run's figures
(LLM and tool calls, errors, tokens, cost, start, duration, status); the timeline adds its
events in start order with the stored, redacted content (present only under
``capture_content``). A tenant-scoped reader sees only its tenant's runs; ids holding PII are
looked up by the pseudonym they are stored under.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response
from sidecar.api.params import cursor_param, int_param, only_known, text_param, time_param
from sidecar.api.principals import principal
from sidecar.store import EventFilter, QueryError
from sidecar.store.event_store import EventStore

MAX_PAGE = 200
LIST_PARAMS = ("user_id", "session_id", "tenant", "since", "until", "limit", "cursor")


def routes(
    store: EventStore,
    mask_id: Callable[[str | None], str | None] = lambda value: value,
) -> list[web.RouteDef]:
    async def runs(request: web.Request) -> web.Response:
        query = request.query
        only_known(query, LIST_PARAMS)
        where = EventFilter(
            user_id=mask_id(text_param(query, "user_id")),
            session_id=mask_id(text_param(query, "session_id")),
            tenant=mask_id(principal(request).own_tenant(text_param(query, "tenant"))),
            since=time_param(query, "since"),
            until=time_param(query, "until"),
        )
        limit = int_param(query, "limit", default=50, low=1, high=MAX_PAGE)
        engine = await store.reader()
        from sidecar.store.runs import list_runs  # loaded by reader(): SQLAlchemy

        try:
            page = await list_runs(engine, where, limit=limit, cursor=cursor_param(query))
        except QueryError as exc:
            raise ApiError(422, "invalid_parameter", str(exc), exc.field) from None
        return json_response({"runs": page.runs, "next_cursor": page.next_cursor})

    async def run(request: web.Request) -> web.Response:
        only_known(request.query, ("tenant",))
        request_id = mask_id(
            text_param({"request_id": request.match_info["request_id"]}, "request_id")
        )
        if request_id is None:
            raise ApiError(422, "invalid_parameter", "request_id must not be empty", "request_id")
        engine = await store.reader()
        from sidecar.store.runs import get_run, run_tenants  # loaded by reader(): SQLAlchemy

        who = principal(request)
        asked = text_param(request.query, "tenant")
        tenant = mask_id(who.own_tenant(asked))
        if tenant is None and who.tenant is None and asked is None:
            found = await run_tenants(engine, request_id, None)
            if len(found) > 1:
                raise ApiError(
                    409,
                    "ambiguous_run",
                    "runs of several tenants have this request id: name the tenant",
                    "tenant",
                )
            tenant = found[0] if found else None
        timeline = await get_run(engine, tenant, request_id)
        if timeline is None:
            raise ApiError(
                404, "unknown_run", "no stored events have this request id", "request_id"
            )
        return json_response(
            {"run": timeline.run, "events": timeline.events, "truncated": timeline.truncated}
        )

    return [
        web.get("/v1/runs", runs),
        web.get("/v1/runs/{request_id}", run),
    ]
