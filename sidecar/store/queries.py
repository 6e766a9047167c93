"""Read-side queries over the stored (already redacted) events.

Events are listed by their own time ``ts`` (ties by event ``id``), newest first by default, on
SQLite and PostgreSQL alike; paging is keyset-based on ``(ts, id)`` (index ``ix_events_ts_id``),
so a page costs an index range scan however deep the caller pages, and events stored while
paging never repeat a page (one stored with a ``ts`` before the cursor appears on a later page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.filters import (
    EQUALITY_FILTERS,
    GROUP_NAMES,
    EventFilter,
    EventPage,
    QueryError,
    decode_cursor,
    decode_event_cursor,
    encode_cursor,
    encode_event_cursor,
)
from sidecar.store.tables import events

__all__ = [
    "EQUALITY_FILTERS",
    "GROUP_COLUMNS",
    "EventFilter",
    "EventPage",
    "QueryError",
    "aggregate",
    "decode_cursor",
    "decode_event_cursor",
    "encode_cursor",
    "encode_event_cursor",
    "list_events",
]

GROUP_COLUMNS = {
    "model": events.c.model,
    "tool": events.c.tool,
    "user": events.c.user_id,
    "agent": events.c.agent,
    "provider": events.c.provider,
    "tenant": events.c.tenant,
    "type": events.c.type,
    "session": events.c.session_id,
}
assert tuple(GROUP_COLUMNS) == GROUP_NAMES
# Grouping by model only makes sense for LLM calls, by tool only for tool calls.
_IMPLIED_TYPE = {"model": "llm_call", "provider": "llm_call", "tool": "tool_call"}
_decode_body = msgspec.json.Decoder().decode


async def list_events(
    engine: AsyncEngine,
    where: EventFilter,
    *,
    limit: int = 100,
    cursor: str | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> EventPage:
    """One page of events by ``(ts, id)``, newest first by default; ``next_cursor`` is None on
    the last page."""
    ts, event_id = events.c.ts, events.c.id
    query = where.apply(select(ts, event_id, events.c.body))
    if cursor is not None:
        at_ts, at_id = decode_event_cursor(cursor)
        if order == "desc":
            query = query.where(or_(ts < at_ts, and_(ts == at_ts, event_id < at_id)))
        else:
            query = query.where(or_(ts > at_ts, and_(ts == at_ts, event_id > at_id)))
    if order == "desc":
        query = query.order_by(ts.desc(), event_id.desc())
    else:
        query = query.order_by(ts.asc(), event_id.asc())
    async with engine.connect() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_event_cursor(rows[-1].ts, rows[-1].id) if more and rows else None
    return EventPage([_decode_body(row.body) for row in rows], next_cursor)


async def aggregate(
    engine: AsyncEngine, where: EventFilter, group_by: Sequence[str] = ()
) -> dict[str, Any]:
    """Counts, error counts, token and cost sums, in total and per group."""
    if len(set(group_by)) != len(group_by):
        raise QueryError("group_by", "group_by must not repeat a field")
    for name in group_by:
        if name not in GROUP_COLUMNS:
            raise QueryError(
                "group_by", f"cannot group by {name!r}; use one of {', '.join(GROUP_COLUMNS)}"
            )
    where = implied_type(where, group_by)
    measures = measure_columns()
    keys = [GROUP_COLUMNS[g].label(g) for g in group_by]
    async with engine.connect() as conn:
        total = (await conn.execute(where.apply(select(*measures)))).one()
        groups = []
        if keys:
            query = where.apply(select(*keys, *measures)).group_by(*keys)
            groups = (await conn.execute(query.order_by(func.count().desc()))).all()
    return {
        "total": measures_of(total),
        "groups": [
            {**{g: getattr(row, g) for g in group_by}, **measures_of(row)} for row in groups
        ],
    }


def implied_type(where: EventFilter, group_by: Sequence[str]) -> EventFilter:
    """Grouping by model or provider implies LLM calls, by tool tool calls."""
    implied = {_IMPLIED_TYPE[g] for g in group_by if g in _IMPLIED_TYPE}
    if where.type is None and len(implied) == 1:
        return EventFilter(**{**where.__dict__, "type": implied.pop()})
    return where


def measure_columns() -> list[Any]:
    """count, errors, input_tokens, output_tokens and cost_usd, as labelled SQL aggregates."""
    return [
        func.count().label("count"),
        func.coalesce(func.sum(case((events.c.status == "error", 1), else_=0)), 0).label("errors"),
        func.coalesce(func.sum(events.c.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(events.c.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(events.c.cost_usd), 0.0).label("cost_usd"),
    ]


def measures_of(row: Any) -> dict[str, Any]:
    return {
        "count": int(row.count),
        "errors": int(row.errors),
        "input_tokens": int(row.input_tokens),
        "output_tokens": int(row.output_tokens),
        "cost_usd": round(float(row.cost_usd), 10),
    }
