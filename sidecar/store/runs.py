"""Runs: the stored events of one agent request, keyed (tenant, request_id), summarised.

A run's figures (calls, errors, tokens, cost, first and last time) cover all of its events; a
filter (user, session, tenant, time) decides which runs are listed: those with at least one
matching event. Runs are listed newest first, at the position of their newest matching event,
and paged by keyset on that event's ``seq``: a page scans at most :data:`SCAN_ROWS` events
(``request_id`` index range plus the ``seq`` order), however large the store, and runs that gain
events while the caller pages are never listed twice. A page may hold fewer runs than asked for
when the scan bound is hit; ``next_cursor`` then continues where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sidecar.store.queries import EventFilter, decode_cursor, encode_cursor
from sidecar.store.tables import events

SCAN_ROWS = 20_000
_CHUNK = 500
_IN_CHUNK = 400  # request ids per ``IN (...)``, under SQLite's variable limit
MAX_RUN_EVENTS = 2_000
_decode_body = msgspec.json.Decoder().decode

RunKey = tuple[str | None, str]


@dataclass(frozen=True)
class RunPage:
    runs: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class RunTimeline:
    run: dict[str, Any]
    events: list[Any]
    truncated: bool


def _condition(where: EventFilter) -> ColumnElement[bool]:
    clause = where.apply(select(events.c.seq)).whereclause
    return true() if clause is None else clause


async def list_runs(
    engine: AsyncEngine,
    where: EventFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> RunPage:
    """One page of runs, newest first; ``next_cursor`` is None after the last one."""
    before = decode_cursor(cursor) if cursor is not None else None
    where = replace(where, type=None, request_id=None)
    matches = _condition(where)
    page: list[dict[str, Any]] = []
    seen: set[RunKey] = set()
    bound, scanned, exhausted = before, 0, False
    async with engine.connect() as conn:
        while len(page) <= limit and scanned < SCAN_ROWS:
            query = where.apply(select(events.c.seq, events.c.tenant, events.c.request_id))
            if bound is not None:
                query = query.where(events.c.seq < bound)
            rows = (await conn.execute(query.order_by(events.c.seq.desc()).limit(_CHUNK))).all()
            fresh: list[RunKey] = []
            for row in rows:
                key = (row.tenant, row.request_id)
                if key not in seen:
                    seen.add(key)
                    fresh.append(key)
            summaries = await _summaries(conn, fresh, matches, where.tenant)
            for key in fresh:
                summary = summaries.get(key)
                # Listed on an earlier page: its newest matching event lies past the cursor.
                if summary is None or (before is not None and summary["_newest"] >= before):
                    continue
                page.append(summary)
            scanned += len(rows)
            if len(rows) < _CHUNK:
                exhausted = True
                break
            bound = rows[-1].seq
    next_cursor: str | None = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = encode_cursor(page[-1]["_newest"])
    elif not exhausted and bound is not None:
        next_cursor = encode_cursor(bound)
    return RunPage([_public(s) for s in page], next_cursor)


async def run_tenants(engine: AsyncEngine, request_id: str, tenant: str | None) -> list[Any]:
    """The tenants that have a run with this request id (at most 2 are looked for)."""
    query = select(events.c.tenant).where(events.c.request_id == request_id)
    if tenant is not None:
        query = query.where(events.c.tenant == tenant)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.distinct().limit(2))).all()
    return [row.tenant for row in rows]


async def get_run(
    engine: AsyncEngine,
    tenant: str | None,
    request_id: str,
    *,
    limit: int = MAX_RUN_EVENTS,
) -> RunTimeline | None:
    """The run's summary and its events in start order (at most ``limit``), or None."""
    key: RunKey = (tenant, request_id)
    tenant_match = events.c.tenant.is_(None) if tenant is None else events.c.tenant == tenant
    query = (
        select(events.c.seq, events.c.body)
        .where(events.c.request_id == request_id, tenant_match)
        .order_by(events.c.seq.asc())
        .limit(limit + 1)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        if not rows:
            return None
        summaries = await _summaries(conn, [key], true(), tenant, exact_tenant=True)
    bodies = [_decode_body(row.body) for row in rows[:limit]]
    bodies.sort(key=_start)
    return RunTimeline(_public(summaries[key]), bodies, len(rows) > limit)


def _start(body: dict[str, Any]) -> float:
    start = body.get("start_ts")
    return float(start) if isinstance(start, int | float) else float(body.get("ts", 0.0))


async def _summaries(
    conn: AsyncConnection,
    keys: list[RunKey],
    matches: ColumnElement[bool],
    tenant: str | None,
    *,
    exact_tenant: bool = False,
) -> dict[RunKey, dict[str, Any]]:
    """Per run: figures over all its events, and ``_newest``, its newest matching ``seq``."""
    out: dict[RunKey, dict[str, Any]] = {}
    wanted = set(keys)
    ids = sorted({request_id for _, request_id in keys})
    c = events.c
    is_run = c.type == "run"
    is_call = c.type != "run"
    columns = [
        c.tenant,
        c.request_id,
        func.max(case((matches, c.seq))).label("newest"),
        func.count().label("events"),
        func.coalesce(func.sum(case((c.type == "llm_call", 1), else_=0)), 0).label("llm_calls"),
        func.coalesce(func.sum(case((c.type == "tool_call", 1), else_=0)), 0).label("tool_calls"),
        func.coalesce(func.sum(case(((c.status == "error") & is_call, 1), else_=0)), 0).label(
            "errors"
        ),
        func.coalesce(func.sum(c.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(c.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(c.cost_usd), 0.0).label("cost_usd"),
        func.min(c.ts - func.coalesce(c.duration_ms, 0.0) / 1000.0).label("started"),
        func.max(c.ts).label("last_ts"),
        func.max(c.agent).label("agent"),
        func.max(c.user_id).label("user_id"),
        func.max(c.session_id).label("session_id"),
        func.max(case((is_run, c.status))).label("run_status"),
        func.max(case((is_run, c.duration_ms))).label("run_duration_ms"),
    ]
    for start in range(0, len(ids), _IN_CHUNK):
        query = select(*columns).where(c.request_id.in_(ids[start : start + _IN_CHUNK]))
        if exact_tenant or tenant is not None:
            query = query.where(c.tenant.is_(None) if tenant is None else c.tenant == tenant)
        for row in (await conn.execute(query.group_by(c.tenant, c.request_id))).all():
            key = (row.tenant, row.request_id)
            if key in wanted and row.newest is not None:
                out[key] = _summary(row)
    return out


def _summary(row: Any) -> dict[str, Any]:
    started = float(row.started)
    if row.run_duration_ms is not None:
        duration = float(row.run_duration_ms)
    else:
        duration = max(0.0, float(row.last_ts) - started) * 1000.0
    return {
        "request_id": row.request_id,
        "tenant": row.tenant,
        "agent": row.agent,
        "user_id": row.user_id,
        "session_id": row.session_id,
        "started_at": round(started, 6),
        "last_event_at": float(row.last_ts),
        "duration_ms": round(duration, 3),
        "finished": row.run_status is not None,
        "status": row.run_status,
        "events": int(row.events),
        "llm_calls": int(row.llm_calls),
        "tool_calls": int(row.tool_calls),
        "errors": int(row.errors),
        "input_tokens": int(row.input_tokens),
        "output_tokens": int(row.output_tokens),
        "cost_usd": round(float(row.cost_usd), 10),
        "_newest": int(row.newest),
    }


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if not k.startswith("_")}
