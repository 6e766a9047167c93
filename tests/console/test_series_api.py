"""``GET /v1/series`` over real HTTP, SQLite and PostgreSQL.

Paths covered: totals per bucket for every bucket size the console uses (10 s .. 1 d), the
split by group with ``top`` and ``_other``, the type, user and tenant filters, tenant-scoped
tokens, defaults, and every parameter's bad values. Invariants, on seeded random traffic: the
buckets add up to ``/v1/aggregate`` over the same range; every bucket equals ``/v1/aggregate``
over its own bounds; groups plus ``_other`` add up to the total in every bucket.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningSidecar, make_settings, start_sidecar
from tests.console.helpers import event, get, post_events
from tests.hardening.tenants import ADMIN, bearer, tenant_auth

FIELDS = ("count", "errors", "input_tokens", "output_tokens")
START = 1_795_000_000.0


@pytest.fixture
async def sc(store_url: str | None, tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    extra: dict[str, Any] = {"db_url": store_url} if store_url else {}
    running, runner = await start_sidecar(
        make_settings(tmp_path, api_token=ADMIN, auth=tenant_auth(), **extra)
    )
    try:
        yield running
    finally:
        await runner.cleanup()


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    """SQLite only: parameter checks happen before any query."""
    running, runner = await start_sidecar(
        make_settings(tmp_path, api_token=ADMIN, auth=tenant_auth())
    )
    try:
        yield running
    finally:
        await runner.cleanup()


def traffic(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        ts = START + rng.uniform(0, 3 * 86_400)
        kind = rng.choices(["llm_call", "tool_call", "run"], [6, 3, 1])[0]
        fields: dict[str, Any] = {
            "tenant": rng.choice([None, "a", "b"]),
            "user_id": f"u{rng.randint(0, 14)}",
            "status": "error" if rng.random() < 0.1 else "ok",
        }
        if kind == "llm_call":
            fields.update(
                model=rng.choice(
                    [
                        "gpt-4o",
                        "gpt-4o-mini",
                        "claude-sonnet-4-5",
                        "gemini-2.5-flash",
                        "no-such-model",
                    ]
                ),
                input_tokens=rng.randint(0, 5000),
                output_tokens=rng.randint(0, 900),
            )
        out.append(event(kind, f"r{i % 97}", ts, **fields))
    return out


async def aggregate(http: aiohttp.ClientSession, url: str, **params: Any) -> dict[str, Any]:
    status, body = await get(http, url, "/v1/aggregate", ADMIN, **params)
    assert status == 200, body
    return body


def close(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[f] == b[f] for f in FIELDS) and math.isclose(
        a["cost_usd"], b["cost_usd"], rel_tol=1e-9, abs_tol=1e-9
    )


@pytest.mark.parametrize("bucket", ["10s", "1m", "1h", "1d"])
async def test_buckets_add_up_to_the_aggregate(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
    bucket: str,
) -> None:
    await post_events(http, sc.url, traffic(3, 1500), ADMIN)
    rng = random.Random(bucket)
    span = {"10s": 2_000, "1m": 20_000, "1h": 3 * 86_400, "1d": 3 * 86_400}[bucket]
    for _ in range(3):
        since = START + rng.uniform(0, 3 * 86_400 - span)
        until = since + span
        status, series = await get(
            http, sc.url, "/v1/series", ADMIN, since=since, until=until, bucket=bucket
        )
        assert status == 200, series
        size = series["bucket_s"]
        assert len(series["buckets"]) == len(series["total"]) <= 1000
        assert all(b % size == 0 for b in series["buckets"])
        summed = {f: sum(p[f] for p in series["total"]) for f in (*FIELDS, "cost_usd")}
        assert close(summed, (await aggregate(http, sc.url, since=since, until=until))["total"])
        for i in rng.sample(range(len(series["buckets"])), 3):
            low = max(since, series["buckets"][i])
            high = min(until, series["buckets"][i] + size)
            one = (await aggregate(http, sc.url, since=low, until=high))["total"]
            assert close(series["total"][i], one), (bucket, i)


@pytest.mark.parametrize(
    ("group_by", "top"), [("model", 2), ("user", 5), ("type", 3), ("tenant", 1)]
)
async def test_groups_and_other_add_up_to_the_total(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
    group_by: str,
    top: int,
) -> None:
    await post_events(http, sc.url, traffic(5, 800), ADMIN)
    since, until = START, START + 3 * 86_400
    status, series = await get(
        http,
        sc.url,
        "/v1/series",
        ADMIN,
        since=since,
        until=until,
        bucket="6h",
        group_by=group_by,
        top=top,
    )
    assert status == 200, series
    named = [s for s in series["series"] if s["key"] != "_other"]
    assert len(named) <= top
    for i, total in enumerate(series["total"]):
        parts = [s["points"][i] for s in series["series"]]
        assert close({f: sum(p[f] for p in parts) for f in (*FIELDS, "cost_usd")}, total)
    groups = (await aggregate(http, sc.url, since=since, until=until, group_by=group_by))["groups"]
    column = {"user": "user"}.get(group_by, group_by)
    ranked = sorted(groups, key=lambda g: (-g["cost_usd"], -g["count"]))
    threshold = ranked[min(top, len(ranked)) - 1]["cost_usd"]
    assert all(
        g[column] in {s["key"] for s in named} for g in ranked if g["cost_usd"] > threshold
    ), "a costlier group was left out"


async def test_filters_and_tenant_scoped_tokens(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    await post_events(http, sc.url, traffic(8, 600), ADMIN)
    since, until = START, START + 3 * 86_400
    params = {"since": str(since), "until": str(until), "bucket": "1d"}
    async with http.get(sc.url + "/v1/series", params=params, headers=bearer("a-reader")) as r:
        mine = await r.json()
    agg_a = await aggregate(http, sc.url, since=since, until=until, tenant="a")
    assert sum(p["count"] for p in mine["total"]) == agg_a["total"]["count"]
    async with http.get(
        sc.url + "/v1/series", params={**params, "tenant": "b"}, headers=bearer("a-reader")
    ) as r:
        assert r.status == 403
    _, typed = await get(
        http, sc.url, "/v1/series", ADMIN, type="tool_call", user_id="u3", **params
    )
    agg = await aggregate(http, sc.url, since=since, until=until, type="tool_call", user_id="u3")
    assert sum(p["count"] for p in typed["total"]) == agg["total"]["count"] > 0


async def test_defaults_cover_the_last_day_by_the_hour(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    now = time.time()
    await post_events(http, sc.url, [event("llm_call", "r-now", now - 60)], ADMIN)
    status, series = await get(http, sc.url, "/v1/series", ADMIN)
    assert status == 200 and series["bucket_s"] == 3600 and series["group_by"] is None
    assert 24 <= len(series["buckets"]) <= 25
    assert series["until"] - series["since"] == pytest.approx(86_400)
    assert sum(p["count"] for p in series["total"]) == 1


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("bucket=0s", 422, "bucket"),
        ("bucket=5s", 422, "bucket"),
        ("bucket=1w", 422, "bucket"),
        ("bucket=10s&since=0&until=1000000", 422, "bucket"),
        ("since=10&until=5", 422, "until"),
        ("group_by=session_id", 422, "group_by"),
        ("top=0", 422, "top"),
        ("top=51", 422, "top"),
        ("type=event", 422, "type"),
        ("since=inf", 422, "since"),
        ("until=1e999", 422, "until"),
        ("user_id=%0a", 422, "user_id"),
        ("window=5m", 400, "window"),
        ("bucket=1h&bucket=1d", 400, "bucket"),
    ],
)
async def test_bad_parameters_are_named(
    local: RunningSidecar,
    http: aiohttp.ClientSession,
    query: str,
    status: int,
    field: str,
) -> None:
    async with http.get(
        f"{local.url}/v1/series?{query}", headers={"Authorization": f"Bearer {ADMIN}"}
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["field"]) == (status, field), body
