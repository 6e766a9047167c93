"""Event ids are unique per tenant, on SQLite and PostgreSQL, over real HTTP.

Paths: ``POST /v1/events`` (JSON) and ``POST /v1/traces`` (OTLP JSON, whose ids derive from the
trace and span ids) with tenant-scoped tokens, an admin token naming the tenant in the event,
``GET /v1/aggregate`` and ``/v1/events`` per tenant, reservations settled by ingest
(``/v1/usage``), a resend (still a duplicate), and a store created before ids were per tenant
(its rows upgraded on start, a resend of an old event still a duplicate).

- Tenant A posts an id first; tenant B's event with the same id is stored too (``accepted: 1,
  duplicates: 0``: no existence oracle), each counts only in its own tenant's aggregates, and
  the reservation each carries is settled.
- The same OTLP span sent by two tenants is two events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from sidecar.store import create_engine
from sidecar.store.config import StoreConfig
from tests.conftest import RunningSidecar, llm_event, make_settings, start_sidecar
from tests.hardening.tenants import ADMIN, bearer, tenant_auth

OTLP = {"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
    "name": "chat gpt-4o", "kind": 3, "startTimeUnixNano": "1795000000000000000",
    "endTimeUnixNano": "1795000000400000000", "attributes": [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "3"}},
    ]}]}]}]}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"


async def _start(db_url: str, tmp_path: Path) -> tuple[RunningSidecar, Any]:
    settings = make_settings(tmp_path, db_url=db_url, api_token=ADMIN, auth=tenant_auth())
    return await start_sidecar(settings)


@pytest.fixture
async def sc(db_url: str, tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    running, runner = await _start(db_url, tmp_path)
    try:
        yield running
    finally:
        await runner.cleanup()


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str,
    body: Any = None,
    **kw: Any,
) -> tuple[int, Any]:
    async with http.request(method, url, json=body, headers=bearer(token), **kw) as resp:
        return resp.status, await resp.json()


async def test_equal_ids_of_two_tenants_are_two_events_each_settled(
    sc: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    budget = {"window": "1d", "max_tokens": 100_000}
    for tenant in ("a", "b"):
        put = await call(http, "PUT", sc.url + f"/v1/budgets/tenant/{tenant}", ADMIN, budget)
        assert put[0] == 200, put
    admit = {"request_id": "r-1", "user_id": "u-1", "model": "gpt-4o",
             "input_tokens": 1000, "max_output_tokens": 1000}  # fmt: skip
    tokens = {"a": (11, 1), "b": (22, 2)}
    for tenant in ("a", "b"):
        status, granted = await call(http, "POST", sc.url + "/v1/admit", f"{tenant}-agent", admit)
        assert status == 200, granted
        inp, out = tokens[tenant]
        event = llm_event(id="shared-id-1", reservation_id=granted["reservation_id"],
                          input_tokens=inp, output_tokens=out)  # fmt: skip
        answer = await call(http, "POST", sc.url + "/v1/events", f"{tenant}-agent", [event])
        assert answer == (202, {"accepted": 1, "duplicates": 0}), (tenant, answer)
    for tenant in ("a", "b"):
        _, totals = await call(http, "GET", sc.url + "/v1/aggregate", f"{tenant}-reader")
        inp, out = tokens[tenant]
        assert (totals["total"]["count"], totals["total"]["input_tokens"]) == (1, inp)
        _, listed = await call(http, "GET", sc.url + "/v1/events", f"{tenant}-reader")
        assert [(e["id"], e["input_tokens"]) for e in listed["events"]] == [("shared-id-1", inp)]
        _, usage = await call(http, "GET", sc.url + f"/v1/usage/tenant/{tenant}", ADMIN)
        assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, inp + out), usage
    _, everything = await call(http, "GET", sc.url + "/v1/aggregate", ADMIN,
                               params={"group_by": "tenant"})  # fmt: skip
    assert sorted((g["tenant"], g["count"]) for g in everything["groups"]) == [("a", 1), ("b", 1)]
    resent = llm_event(id="shared-id-1", input_tokens=11, output_tokens=1)
    assert await call(http, "POST", sc.url + "/v1/events", "a-agent", [resent]) == (
        202, {"accepted": 0, "duplicates": 1})  # fmt: skip
    named = llm_event(id="shared-id-1", tenant="c")
    assert await call(http, "POST", sc.url + "/v1/events", ADMIN, [named]) == (
        202, {"accepted": 1, "duplicates": 0})  # fmt: skip
    plain = llm_event(id="shared-id-1")
    assert (await call(http, "POST", sc.url + "/v1/events", ADMIN, [plain]))[1]["accepted"] == 1
    assert (await call(http, "POST", sc.url + "/v1/events", ADMIN, [plain]))[1] == {
        "accepted": 0, "duplicates": 1}  # fmt: skip


async def test_the_same_otlp_span_from_two_tenants_is_two_events(
    sc: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    for tenant in ("a", "b"):
        async with http.post(
            sc.url + "/v1/traces",
            data=json.dumps(OTLP),
            headers={**bearer(f"{tenant}-agent"), "Content-Type": "application/json"},
        ) as resp:
            assert resp.status == 200, await resp.text()
    for tenant in ("a", "b"):
        _, totals = await call(http, "GET", sc.url + "/v1/aggregate", f"{tenant}-reader")
        assert (totals["total"]["count"], totals["total"]["input_tokens"]) == (1, 7), tenant


async def test_a_store_from_before_is_upgraded_and_resends_stay_duplicates(
    db_url: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    old = llm_event(id="old-1", tenant="acme")
    running, runner = await _start(db_url, tmp_path)
    try:
        assert (await call(http, "POST", running.url + "/v1/events", ADMIN, [old]))[0] == 202
    finally:
        await runner.cleanup()
    engine = create_engine(db_url, StoreConfig())
    try:  # turn the store back into schema 2: ids as they were stored then, plain
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE events SET id = 'old-1' WHERE tenant = 'acme'"))
            await conn.execute(
                text("UPDATE sidecar_schema SET version = 2 WHERE component = 'events'")
            )
    finally:
        await engine.dispose()
    running, runner = await _start(db_url, tmp_path)
    try:
        assert await call(http, "POST", running.url + "/v1/events", ADMIN, [old]) == (
            202, {"accepted": 0, "duplicates": 1})  # fmt: skip
        other = llm_event(id="old-1", tenant="zeta")
        assert (await call(http, "POST", running.url + "/v1/events", ADMIN, [other]))[1] == {
            "accepted": 1, "duplicates": 0}  # fmt: skip
    finally:
        await runner.cleanup()
