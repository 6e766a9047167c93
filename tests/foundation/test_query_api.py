"""The read routes' query contract, over real HTTP on loopback.

Paths: ``GET /v1/events`` (filters ``type``, ``user_id``, ``session_id``, ``request_id``,
``tenant``, ``trace_id``, ``tool``, ``model``, ``status``, ``agent``, ``since``, ``until``;
ordering and paging by ``(ts, id)``) on a real SQLite file and on PostgreSQL, against a model of
the stored events; every GET/DELETE route of the app refuses an unknown parameter with a 400
naming it; empty parameters count as absent on every list route; the ``(ts, id)`` index exists
on a fresh store and after the upgrade of a version-1 store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import random
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from sqlalchemy import text

from sidecar.store.config import StoreConfig
from sidecar.store.database import create_engine, create_schema
from sidecar.store.tables import SCHEMA_VERSION
from tests.conftest import RunningSidecar, make_settings, start_sidecar

TOOLS = ("fetch_url", "web_search", None)
MODELS = ("gpt-4o", "gpt-4o-mini", None)
AGENTS = ("planner", "coder", None)
TENANTS = ("acme", "globex", None)
FILTERS = ("type", "user_id", "tool", "model", "status", "agent", "tenant", "session_id")


def random_events(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Events with few distinct ``ts`` values (ties), posted in an order unrelated to ``ts``."""
    out = []
    for _ in range(count):
        kind = rng.choice(("llm_call", "tool_call"))
        ts = 1_795_000_000.0 + rng.randrange(12) * 0.5
        event: dict[str, Any] = {
            "type": kind,
            "id": uuid.uuid4().hex[: rng.randrange(4, 32)],
            "ts": ts,
            "start_ts": ts,
            "request_id": f"r-{rng.randrange(5)}",
            "duration_ms": 10.0,
            "status": rng.choice(("ok", "error")),
            "user_id": rng.choice(("u-1", "u-2")),
            "session_id": rng.choice(("s-1", "s-2")),
        }
        for name, values in (("agent", AGENTS), ("tenant", TENANTS)):
            if (value := rng.choice(values)) is not None:
                event[name] = value
        if kind == "llm_call":
            event.update(
                model=rng.choice(MODELS[:2]), provider="openai", input_tokens=3, output_tokens=4
            )
        else:
            event["tool"] = rng.choice(TOOLS[:2])
        out.append(event)
    return out


def expected(events: list[dict[str, Any]], where: dict[str, str], order: str) -> list[str]:
    kept = [e for e in events if all(e.get(k) == v for k, v in where.items())]
    kept.sort(key=lambda e: (e["ts"], e["id"]), reverse=order == "desc")
    return [e["id"] for e in kept]


async def page_through(http: aiohttp.ClientSession, url: str, params: dict[str, str]) -> list[str]:
    seen: list[str] = []
    cursor = ""
    for _ in range(1000):
        async with http.get(url + "/v1/events", params={**params, "cursor": cursor}) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.json()
        seen += [e["id"] for e in page["events"]]
        if page["next_cursor"] is None:
            return seen
        cursor = page["next_cursor"]
    raise AssertionError("paging did not end")


async def check_against_model(sidecar: RunningSidecar, http: aiohttp.ClientSession) -> None:
    rng = random.Random(15)
    events = random_events(rng, 160)
    async with http.post(
        sidecar.url + "/v1/events",
        data=msgspec.json.encode(events),
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 202
    values: dict[str, tuple[Any, ...]] = {
        "type": ("llm_call", "tool_call"),
        "user_id": ("u-1", "u-2"),
        "tool": TOOLS[:2],
        "model": MODELS[:2],
        "status": ("ok", "error"),
        "agent": AGENTS[:2],
        "tenant": TENANTS[:2],
        "session_id": ("s-1", "s-2"),
    }
    for _ in range(40):
        names = rng.sample(FILTERS, rng.randrange(0, 4))
        where = {name: rng.choice(values[name]) for name in names}
        order = rng.choice(("asc", "desc"))
        params = {**where, "order": order, "limit": str(rng.randrange(1, 12))}
        assert await page_through(http, sidecar.url, params) == expected(events, where, order), (
            params
        )
    # The runbook's queries, and a time range with the default order (newest first).
    got = await page_through(http, sidecar.url, {"type": "tool_call", "tool": "fetch_url"})
    assert got == expected(events, {"type": "tool_call", "tool": "fetch_url"}, "desc")
    window = {"since": "1795000001", "until": "1795000004"}
    want = [
        e
        for e in expected(events, {}, "desc")
        if 1_795_000_001 <= next(x["ts"] for x in events if x["id"] == e) < 1_795_000_004
    ]
    assert await page_through(http, sidecar.url, window) == want


async def test_filters_order_and_paging_follow_the_model_on_sqlite(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    await check_against_model(sidecar, http)


async def test_filters_order_and_paging_follow_the_model_on_postgres(
    tmp_path: Path, pg_url: str, http: aiohttp.ClientSession
) -> None:
    running, runner = await start_sidecar(make_settings(tmp_path, db_url=pg_url))
    try:
        await check_against_model(running, http)
    finally:
        await runner.cleanup()


async def test_events_are_listed_by_their_time_not_their_arrival(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    november, december = 1_795_000_000.0, 1_796_000_000.0
    batch = [
        {
            "type": "tool_call",
            "id": name,
            "ts": ts,
            "start_ts": ts,
            "request_id": "r",
            "tool": "t",
            "duration_ms": 1.0,
        }
        for name, ts in (("dec-1", december), ("nov", november), ("dec-2", december))
    ]
    for event in batch:  # one request each: arrival order is dec-1, nov, dec-2
        async with http.post(sidecar.url + "/v1/events", json=event) as response:
            assert response.status == 202
    assert await page_through(http, sidecar.url, {"limit": "1"}) == ["dec-2", "dec-1", "nov"]
    assert await page_through(http, sidecar.url, {"order": "asc"}) == ["nov", "dec-1", "dec-2"]


def _routes_with_query(sidecar: RunningSidecar) -> list[tuple[str, str]]:
    """Every GET and DELETE route under /v1 of the app, path parameters filled in."""
    out = []
    for route in sidecar.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method in ("GET", "DELETE") and path and path.startswith("/v1/"):
            out.append((route.method, re.sub(r"\{[^}]+\}", "x", path)))
    return out


async def test_every_route_refuses_an_unknown_parameter_naming_it(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    routes = _routes_with_query(sidecar)
    assert {
        ("GET", "/v1/events"),
        ("GET", "/v1/aggregate"),
        ("GET", "/v1/runs"),
        ("GET", "/v1/budgets"),
        ("GET", "/v1/budgets/denials"),
        ("GET", "/v1/stats"),
    } <= set(routes)
    for method, path in routes:
        for name in ("colour", "tool_name", "limit\x01"):
            async with http.request(method, sidecar.url + path, params={name: "1"}) as response:
                assert response.status == 400, (method, path, name)
                error = (await response.json())["error"]
            assert error["code"] == "unknown_parameter", (method, path)
            assert error["field"] == name.replace("\x01", "?"), (method, path)


EVENT_FILTERS: tuple[str, ...] = ("type", "user_id", "session_id", "request_id", "tenant")
EVENT_FILTERS += ("trace_id", "tool", "model", "status", "agent", "since", "until")
LIST_ROUTES = {
    "/v1/events": (*EVENT_FILTERS, "limit", "cursor", "order"),
    "/v1/aggregate": (*EVENT_FILTERS, "group_by"),
    "/v1/runs": ("user_id", "session_id", "tenant", "since", "until", "limit", "cursor"),
    "/v1/series": ("since", "until", "bucket", "group_by", "top", "type", "user_id", "tenant"),
    "/v1/budgets/denials": ("limit", "tenant"),
    "/v1/stats": ("window", "group_by", "scope"),
    "/v1/stats/distribution": ("window", "group_by", "metric"),
}


async def test_empty_parameters_mean_absent(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    events = random_events(random.Random(3), 20)
    async with http.post(sidecar.url + "/v1/events", json=events) as response:
        assert response.status == 202
    for path, names in LIST_ROUTES.items():
        empty = "&".join(f"{name}=" for name in names)
        async with http.get(f"{sidecar.url}{path}?{empty}") as response:
            assert response.status == 200, (path, await response.text())
            with_empty = await response.json()
        async with http.get(sidecar.url + path) as response:
            assert response.status == 200
            without = await response.json()
        for answer in (with_empty, without):  # windows ending "now"
            for name in ("until", "since", "generated_at"):
                answer.pop(name, None)
        if path != "/v1/series":
            assert with_empty == without, path


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_url"))


async def test_the_ts_id_index_exists_fresh_and_after_an_upgrade(store_url: str) -> None:
    engine = create_engine(store_url, StoreConfig())
    try:
        await create_schema(engine)
        assert "ix_events_ts_id" in await _indexes(engine)
        async with engine.begin() as conn:  # as version 1 left it
            await conn.execute(text("DROP INDEX ix_events_ts_id"))
            await conn.execute(text("CREATE INDEX ix_events_ts ON events (ts)"))
            await conn.execute(text("UPDATE sidecar_schema SET version = 1"))
        await create_schema(engine)
        indexes = await _indexes(engine)
        assert "ix_events_ts_id" in indexes and "ix_events_ts" not in indexes
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version FROM sidecar_schema"))).scalar()
        assert version == SCHEMA_VERSION
    finally:
        await engine.dispose()


async def _indexes(engine: Any) -> set[str]:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = await conn.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))
        else:
            rows = await conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
            )
        return {row[0] for row in rows}


async def test_sqlite_pages_through_the_ts_id_index(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    path = sidecar.settings.db_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT ts, id, body FROM events"
            " WHERE ts < 5 OR (ts = 5 AND id < 'a') ORDER BY ts DESC, id DESC LIMIT 101"
        ).fetchall()
    assert "ix_events_ts_id" in " ".join(str(row) for row in plan)
    assert "TEMP B-TREE" not in " ".join(str(row) for row in plan)
