"""``GET /v1/stats?scope=...`` over HTTP on an in-process sidecar.

Paths: SQLite (no shared database: this replica alone, ``shared_store: false``), PostgreSQL
with a second in-process replica, the database gone mid-run (503 with Retry-After, never a
500), bad and hostile ``scope`` and ``window`` values (422 naming the field), the publishing
counters on ``/metrics``, and the analytics core importing neither aiohttp nor SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import PG_ADMIN_DSN, RunningSidecar, llm_event, make_settings, start_sidecar


async def test_sqlite_fleet_scope_is_this_replica_alone_and_says_so(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.post(sidecar.url + "/v1/events", json=[llm_event() for _ in range(7)]) as r:
        assert r.status == 202
    async with http.get(sidecar.url + "/v1/stats?scope=fleet&window=5m") as response:
        assert response.status == 200
        body = await response.json()
    assert body["scope"] == "fleet" and body["shared_store"] is False
    assert "this replica alone" in body["note"]
    [me] = body["replicas"]
    assert me["self"] is True and me["count"] == 7 and me["state"] == "fresh"
    async with http.get(sidecar.url + "/v1/stats?window=5m") as response:
        local = await response.json()
    assert local["scope"] == "local"
    assert local["series"] == body["series"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scope=world", "scope"),
        ("scope=fleet%00", "scope"),
        ("scope=" + "f" * 8000, "scope"),  # (a 64 KB query line is aiohttp's 400)
        ("scope=FLEET", "scope"),
        ("scope=fleet&window=15m", "window"),  # valid locally, not a published window
        ("scope=fleet&window=all", "window"),
        ("scope=fleet&window=1e308", "window"),
        ("scope=fleet&group_by=user_id", "group_by"),
    ],
)
async def test_bad_scope_and_window_are_422_naming_the_field(
    sidecar: RunningSidecar, http: aiohttp.ClientSession, query: str, field: str
) -> None:
    async with http.get(sidecar.url + "/v1/stats?" + query) as response:
        assert response.status == 422, await response.text()
        assert (await response.json())["error"]["field"] == field


async def test_empty_scope_is_the_default(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.get(sidecar.url + "/v1/stats?scope=") as response:
        assert response.status == 200
        assert (await response.json())["scope"] == "local"


@pytest.mark.postgres
async def test_postgres_fleet_query_merges_and_503s_when_the_database_is_gone(
    pg_url: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    fleet = {"publish_interval_s": 0.2, "replica_id": "one"}
    # (budgets off: this test drops the database under the sidecar, which the ledger's own
    # tests cover for the ledger)
    common = {"db_url": pg_url, "budgets": {"enabled": False}}
    first, runner1 = await start_sidecar(make_settings(tmp_path, **common, fleet=fleet))
    second, runner2 = await start_sidecar(
        make_settings(tmp_path, **common, fleet={**fleet, "replica_id": "two"})
    )
    try:
        for target, n in ((first, 3), (second, 5)):
            async with http.post(
                target.url + "/v1/events", json=[llm_event() for _ in range(n)]
            ) as response:
                assert response.status == 202
        deadline = time.monotonic() + 30
        while True:
            async with http.get(first.url + "/v1/stats?scope=fleet&window=1m") as response:
                body = await response.json()
            if sum(s["count"] for s in body["series"]) == 8:
                break
            assert time.monotonic() < deadline, body
            await asyncio.sleep(0.05)
        assert [(r["id"], r["count"]) for r in body["replicas"]] == [("one", 3), ("two", 5)]
        async with http.get(first.url + "/metrics") as response:
            text = await response.text()
        assert "agent_sidecar_fleet_publishes_total" in text
        assert "agent_sidecar_fleet_publish_bytes" in text

        name = pg_url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        async with http.get(first.url + "/v1/stats?scope=fleet&window=1m") as response:
            assert response.status == 503, await response.text()
            assert response.headers["Retry-After"]
            assert (await response.json())["error"]["code"] == "store_unavailable"
        async with http.get(first.url + "/v1/stats?window=1m") as response:
            assert response.status == 200  # the local view needs no database
        failures = first.parts.fleet.counters.publish_failures
        deadline = time.monotonic() + 30
        while first.parts.fleet.counters.publish_failures == failures:
            assert time.monotonic() < deadline, "a failed publish must be counted"
            await asyncio.sleep(0.05)
    finally:
        await runner2.cleanup()
        await runner1.cleanup()


def test_analytics_core_imports_neither_aiohttp_nor_sqlalchemy() -> None:
    code = (
        "import sys, sidecar.analytics, sidecar.analytics.fleet, sidecar.analytics.codec\n"
        "bad = [m for m in ('aiohttp', 'sqlalchemy') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
