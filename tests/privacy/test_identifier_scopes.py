"""Tenant, namespace, model and budget ids holding PII are stored under their pseudonym only,
and callers keep using the raw ids.

Paths covered, on SQLite (database file and ``-wal``) and PostgreSQL (every table):
- ``PUT/GET/DELETE /v1/budgets/{scope}/{id}`` and ``GET /v1/usage/{scope}/{id}`` with an
  e-mail as tenant id and as ``model`` (body and query), ``GET /v1/budgets``;
- a policy of the configuration file whose tenant id is an e-mail: it applies to admits and
  events naming that tenant (it is keyed by the pseudonym too);
- ``POST /v1/admit`` with e-mail tenant, model and request id; the event that settles the
  reservation (tenant and model masked by the event redactor) meets the same budget;
- ``GET /v1/events``, ``/v1/aggregate``, ``/v1/runs``, ``/v1/series`` filtered by the raw tenant;
- ``POST /v1/cache/store`` / ``lookup`` with e-mail tenant, namespace and model; ``DELETE
  /v1/cache/{namespace}`` with the raw namespace and tenant;
- after a restart (SQLite): usage, the configured policy and the cache entry are found again
  with the raw ids.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import llm_event, make_settings, start_sidecar

from .stores import postgres_rows, sqlite_files, sqlite_rows


def _ids() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        name: f"{name[:3]}{tag}@example.com"
        for name in ("tenant", "config_tenant", "model", "namespace", "request")
    }


def _config(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "budgets": {
            "policies": [
                {"scope": "tenant", "id": ids["config_tenant"], "window": "1d", "max_tokens": 1500}
            ]
        }
    }


async def _exercise(url: str, ids: dict[str, str]) -> None:
    tenant, model = ids["tenant"], ids["model"]
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, expect: int = 200, **kw: Any) -> Any:
            async with http.request(method, url + path, **kw) as r:
                body = await r.json()
                assert r.status == expect, (method, path, r.status, body)
                for raw in ids.values():
                    assert raw not in str(body), (path, body)
                return body

        await call(
            "PUT", f"/v1/budgets/tenant/{tenant}", json={"window": "1d", "max_tokens": 10_000}
        )
        await call(
            "PUT",
            f"/v1/budgets/tenant/{tenant}",
            json={"window": "1d", "max_tokens": 5000, "model": model},
        )
        listed = await call("GET", "/v1/budgets")
        mine = [p for p in listed["policies"] if p["scope"] == "tenant"]
        assert all(p["id"].startswith("[ID:") for p in mine) and len(mine) == 3, mine
        grant = await call(
            "POST",
            "/v1/admit",
            json={
                "request_id": ids["request"],
                "tenant": tenant,
                "model": model,
                "input_tokens": 1000,
                "max_output_tokens": 1000,
            },
        )
        assert grant["allowed"] is True
        usage = await call("GET", f"/v1/usage/tenant/{tenant}", params={"model": model})
        assert usage["tokens_reserved"] == 2000, usage
        await call(
            "POST",
            "/v1/events",
            expect=202,
            json=[
                llm_event(
                    tenant=tenant,
                    model=model,
                    request_id=ids["request"],
                    reservation_id=grant["reservation_id"],
                    input_tokens=300,
                    output_tokens=200,
                )
            ],
        )
        usage = await call("GET", f"/v1/usage/tenant/{tenant}", params={"model": model})
        assert (usage["tokens_used"], usage["tokens_reserved"]) == (500, 0), usage
        usage = await call("GET", f"/v1/usage/tenant/{tenant}")
        assert usage["tokens_used"] == 500, usage
        await call("DELETE", f"/v1/budgets/tenant/{tenant}", params={"model": model})
        await call("GET", f"/v1/usage/tenant/{tenant}", params={"model": model}, expect=404)

        # The configured policy of an e-mail tenant applies (keyed by the same pseudonym).
        cfg = ids["config_tenant"]
        first = await call(
            "POST",
            "/v1/admit",
            json={
                "request_id": "r-cfg-1",
                "tenant": cfg,
                "input_tokens": 1000,
                "max_output_tokens": 0,
            },
        )
        assert first["allowed"] is True
        await call(
            "POST",
            "/v1/admit",
            expect=429,
            json={
                "request_id": "r-cfg-2",
                "tenant": cfg,
                "input_tokens": 1000,
                "max_output_tokens": 0,
            },
        )
        usage = await call("GET", f"/v1/usage/tenant/{cfg}")
        assert usage["tokens_reserved"] == 1000, usage

        events = await call("GET", "/v1/events", params={"tenant": tenant})
        assert len(events["events"]) == 1
        assert events["events"][0]["tenant"].startswith("[ID:")
        agg = await call("GET", "/v1/aggregate", params={"tenant": tenant, "group_by": "model"})
        assert sum(g["count"] for g in agg["groups"]) == 1, agg
        events = await call("GET", "/v1/events", params={"model": model})
        assert len(events["events"]) == 1
        series = await call(
            "GET",
            "/v1/series",
            params={"tenant": tenant, "since": "1794990000", "until": "1795010000", "bucket": "1d"},
        )
        assert series["total"][0]["count"] == 1, series

        scope = {"tenant": tenant, "namespace": ids["namespace"], "model": model}
        await call(
            "POST",
            "/v1/cache/store",
            json={**scope, "key": "opening hours?", "value": "nine to five"},
        )
        hit = await call("POST", "/v1/cache/lookup", json={**scope, "key": "opening hours?"})
        assert hit["hit"] is True and hit["value"] == "nine to five"
        miss = await call(
            "POST",
            "/v1/cache/lookup",
            json={**scope, "tenant": "someone-else", "key": "opening hours?"},
        )
        assert miss["hit"] is False
        await call("POST", "/v1/cache/store", json={**scope, "key": "kept?", "value": "yes"})
        removed = await call(
            "DELETE",
            f"/v1/cache/{ids['namespace']}",
            params={"tenant": tenant, "model": model, "key": "opening hours?"},
        )
        assert removed["removed"] == 1, removed


def _assert_absent(where: str, data: str | bytes, ids: dict[str, str]) -> None:
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    for name, raw in ids.items():
        assert raw.split("@")[0] not in text, f"the raw {name} id is in {where}"


async def test_pii_scope_ids_are_stored_as_pseudonyms_on_sqlite(tmp_path: Path) -> None:
    ids = _ids()
    sidecar, runner = await start_sidecar(make_settings(tmp_path, **_config(ids)))
    try:
        await _exercise(sidecar.url, ids)
    finally:
        await runner.cleanup()  # flushes the writer, the budget journal and the cache
    again, runner = await start_sidecar(make_settings(tmp_path, **_config(ids)))
    try:  # after a restart the raw ids still reach the same budgets (the key is kept)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{again.url}/v1/usage/tenant/{ids['tenant']}") as r:
                assert (await r.json())["tokens_used"] == 500
            async with http.get(f"{again.url}/v1/usage/tenant/{ids['config_tenant']}") as r:
                assert (await r.json())["tokens_reserved"] == 1000
            async with http.post(f"{again.url}/v1/cache/lookup", json={
                    "tenant": ids["tenant"], "namespace": ids["namespace"],
                    "model": ids["model"], "key": "kept?"}) as r:  # fmt: skip
                assert (await r.json())["hit"] is True
    finally:
        await runner.cleanup()
    db = tmp_path / "sidecar.db"
    rows = sqlite_rows(db)
    assert "[ID:" in rows and "kept?" in rows  # the rows are there, under pseudonyms
    _assert_absent("the SQLite rows", rows, ids)
    _assert_absent("the SQLite files", sqlite_files(db), ids)


async def test_pii_scope_ids_are_stored_as_pseudonyms_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    ids = _ids()
    sidecar, runner = await start_sidecar(make_settings(tmp_path, db_url=pg_url, **_config(ids)))
    try:
        await _exercise(sidecar.url, ids)
    finally:
        await runner.cleanup()
    rows = await postgres_rows(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    assert "[ID:" in rows and "sidecar_cache_entries" in rows
    _assert_absent("the PostgreSQL tables", rows, ids)
