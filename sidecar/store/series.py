"""Time-bucketed figures from the store: count, errors, tokens and cost per bucket and group.

Buckets are aligned on multiples of the bucket size since the Unix epoch (so hours and days
start at UTC hour and midnight), every bucket of ``[since, until)`` is present (empty ones are
zero), and at most :data:`MAX_BUCKETS` are returned. With a ``group_by``, the ``top`` groups by
cost (then count) each get a series and everything else is summed into ``_other``, so the
answer stays small however many users or models there are; the groups and ``_other`` add up to
``total`` in every bucket. Two statements at most: the ranking, then one grouped scan.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sqlalchemy import Integer, case, cast, false, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.queries import (
    GROUP_COLUMNS,
    EventFilter,
    QueryError,
    implied_type,
    measure_columns,
    measures_of,
)
from sidecar.store.tables import events

MAX_BUCKETS = 1000
OTHER = "_other"
_FIELDS = ("count", "errors", "input_tokens", "output_tokens", "cost_usd")


def _zero() -> dict[str, Any]:
    return {"count": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}


async def bucketed(
    engine: AsyncEngine,
    where: EventFilter,
    *,
    since: float,
    until: float,
    bucket_s: int,
    group_by: str | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Figures per bucket of ``bucket_s`` seconds over ``[since, until)``."""
    if group_by is not None and group_by not in GROUP_COLUMNS:
        raise QueryError(
            "group_by", f"cannot group by {group_by!r}; use one of {', '.join(GROUP_COLUMNS)}"
        )
    if until <= since:
        raise QueryError("until", "until must be after since")
    first = math.floor(since / bucket_s) * bucket_s
    count = max(1, math.ceil((until - first) / bucket_s))
    if count > MAX_BUCKETS:
        raise QueryError(
            "bucket", f"{count} buckets of {bucket_s} s: at most {MAX_BUCKETS}; use a larger one"
        )
    starts = [first + i * bucket_s for i in range(count)]
    where = implied_type(replace(where, since=since, until=until), [group_by] if group_by else [])
    slot = _bucket_index(engine, first, bucket_s)
    measures = measure_columns()
    total: list[dict[str, Any]] = [_zero() for _ in starts]
    series: list[dict[str, Any]] = []
    async with engine.connect() as conn:
        if group_by is None:
            query = where.apply(select(slot, *measures)).group_by(slot)
            _fill(total, (await conn.execute(query)).all())
        else:
            column = GROUP_COLUMNS[group_by]
            ranking = (
                where.apply(select(column.label("key")))
                .group_by(column)
                .order_by(
                    func.coalesce(func.sum(events.c.cost_usd), 0.0).desc(),
                    func.count().desc(),
                    column,
                )
                .limit(top)
            )
            leaders = [row.key for row in (await conn.execute(ranking)).all()]
            chosen = _in_or_null(column, leaders) if leaders else false()
            leading = case((chosen, 1), else_=0).label("leading")
            keyed = case((chosen, column)).label("key")
            query = where.apply(select(leading, keyed, slot, *measures)).group_by(
                leading, keyed, slot
            )
            by_key: dict[Any, list[dict[str, Any]]] = {
                k: [_zero() for _ in starts] for k in leaders
            }
            other = [_zero() for _ in starts]
            for row in (await conn.execute(query)).all():
                _fill(by_key[row.key] if row.leading else other, [row])
            series = [{"key": k, "points": points} for k, points in by_key.items()]
            if any(p["count"] for p in other):
                series.append({"key": OTHER, "points": other})
            total = [_sum([s["points"][i] for s in series]) for i in range(len(starts))]
    return {
        "since": since,
        "until": until,
        "bucket_s": bucket_s,
        "group_by": group_by,
        "buckets": starts,
        "total": total,
        "series": series,
    }


def _bucket_index(engine: AsyncEngine, first: float, bucket_s: int) -> Any:
    """The bucket number of each row's ``ts`` (floor, on both backends)."""
    offset = (events.c.ts - first) / bucket_s
    if engine.dialect.name == "sqlite":
        expression = cast(offset, Integer)  # truncates; offset >= 0 within the range
    else:
        expression = cast(func.floor(offset), Integer)
    return expression.label("slot")


def _in_or_null(column: Any, keys: list[Any]) -> Any:
    named = [k for k in keys if k is not None]
    condition = column.in_(named) if named else None
    if None in keys:
        condition = column.is_(None) if condition is None else condition | column.is_(None)
    return condition


def _fill(points: list[dict[str, Any]], rows: Any) -> None:
    for row in rows:
        index = int(row.slot)
        if 0 <= index < len(points):
            points[index] = measures_of(row)


def _sum(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out = {f: sum(p[f] for p in parts) for f in _FIELDS}
    out["cost_usd"] = round(out["cost_usd"], 10)
    return out
