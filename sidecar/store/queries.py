"""Read-side queries over the stored (already redacted) events.

Events are listed by their own time ``ts`` (ties by event ``id``), newest first by default, on
SQLite and PostgreSQL alike; paging is keyset-based on ``(ts, id)`` (index ``ix_events_ts_id``),
so a page costs an index range scan however deep the caller pages, and events stored while
paging never repeat a page (one stored with a ``ts`` before the cursor appears on a later page).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.tables import KEY_CHARS, events

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
# Grouping by model only makes sense for LLM calls, by tool only for tool calls.
_IMPLIED_TYPE = {"model": "llm_call", "provider": "llm_call", "tool": "tool_call"}
_decode_body = msgspec.json.Decoder().decode


class QueryError(ValueError):
    """A query parameter is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# The filters that compare a column with a value (``since``/``until`` bound ``ts``).
EQUALITY_FILTERS: tuple[str, ...] = ("type", "user_id", "session_id", "request_id", "tenant")
EQUALITY_FILTERS += ("trace_id", "tool", "model", "status", "agent")


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    tenant: str | None = None
    trace_id: str | None = None
    since: float | None = None
    until: float | None = None
    tool: str | None = None
    model: str | None = None
    status: str | None = None
    agent: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        for name in EQUALITY_FILTERS:
            value = getattr(self, name)
            if value is not None:
                query = query.where(events.c[name] == value)
        if self.since is not None:
            query = query.where(events.c.ts >= self.since)
        if self.until is not None:
            query = query.where(events.c.ts < self.until)
        return query


@dataclass(frozen=True)
class EventPage:
    events: list[Any]
    next_cursor: str | None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


_MAX_CURSOR_CHARS = 64
_MAX_SEQ = 2**63 - 1


def decode_cursor(cursor: str) -> int:
    """The ``seq`` a cursor of :func:`encode_cursor` holds; anything else (not base64, not
    ``s<digits>``, a value of 2^63 or more) is a :class:`QueryError` naming ``cursor``."""
    try:
        if len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        digits = raw[1:]
        if not raw.startswith("s") or not digits.isdigit() or not digits.isascii():
            raise ValueError(raw)
        seq = int(digits)
        if seq > _MAX_SEQ:
            raise ValueError(raw)
        return seq
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise QueryError("cursor", "cursor is not one this server issued") from None


def encode_event_cursor(ts: float, event_id: str) -> str:
    """The position after an event, as an opaque token: its ``ts`` (exact) and ``id``."""
    raw = msgspec.json.encode(["t", ts, event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_event_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, ts, event_id = msgspec.json.decode(raw)
        if tag != "t" or not isinstance(event_id, str) or isinstance(ts, bool):
            raise ValueError(raw)
        if len(event_id) > KEY_CHARS or "\x00" in event_id:
            raise ValueError(raw)
        ts = float(ts)
        if not math.isfinite(ts):
            raise ValueError(raw)
        return ts, event_id
    except (ValueError, TypeError, binascii.Error, msgspec.DecodeError, OverflowError):
        raise QueryError("cursor", "cursor is not one this server issued") from None


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
