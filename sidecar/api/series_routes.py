"""``GET /v1/series``: count, errors, tokens and cost per time bucket, in total and per group.

``since`` defaults to 24 hours before ``until`` (default: now), ``bucket`` to ``1h``; at most
1,000 buckets. ``group_by`` (model, agent, user, tool, provider, tenant or type) splits the
figures into the ``top`` groups by cost (default 10, at most 50) plus ``_other``. A
tenant-scoped reader sees only its tenant.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response
from sidecar.api.params import duration_param, int_param, only_known, text_param, time_param
from sidecar.api.principals import principal
from sidecar.store import EventFilter, QueryError
from sidecar.store.event_store import EventStore

PARAMS = ("since", "until", "bucket", "group_by", "top", "type", "user_id", "tenant")
DAY = 86_400


def routes(
    store: EventStore,
    mask_id: Callable[[str | None], str | None] = lambda value: value,
) -> list[web.RouteDef]:
    async def series(request: web.Request) -> web.Response:
        query = request.query
        only_known(query, PARAMS)
        until = time_param(query, "until") or time.time()
        since = time_param(query, "since")
        since = until - DAY if since is None else since
        type_ = text_param(query, "type")
        if type_ is not None and type_ not in ("llm_call", "tool_call", "run"):
            raise ApiError(
                422, "invalid_parameter", "type must be llm_call, tool_call or run", "type"
            )
        where = EventFilter(
            type=type_,
            user_id=mask_id(text_param(query, "user_id")),
            tenant=mask_id(principal(request).own_tenant(text_param(query, "tenant"))),
        )
        engine = await store.reader()
        from sidecar.store.series import bucketed  # loaded by reader(): SQLAlchemy

        try:
            body = await bucketed(
                engine,
                where,
                since=since,
                until=until,
                bucket_s=duration_param(query, "bucket", default="1h", low_s=10, high_s=31 * DAY),
                group_by=text_param(query, "group_by"),
                top=int_param(query, "top", default=10, low=1, high=50),
            )
        except QueryError as exc:
            raise ApiError(422, "invalid_parameter", str(exc), exc.field) from None
        return json_response(body)

    return [web.get("/v1/series", series)]
