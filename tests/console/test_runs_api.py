"""``GET /v1/runs`` and ``GET /v1/runs/{request_id}`` over real HTTP, SQLite and PostgreSQL.

Paths covered: the list route (filters user_id, session_id, tenant, since/until; paging with
limit and cursor, also while events keep arriving), the timeline route (start order, the
tenant query, 404, 409 for a request id of several tenants, ids holding PII looked up by their
pseudonym), tenant-scoped and role-scoped tokens, unknown and hostile query parameters.

The list is checked against a model of what was sent, after every step of a seeded random
driver: each run appears exactly once over all pages, with its figures.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from tests.conftest import RunningSidecar, make_settings, start_sidecar
from tests.console.helpers import event, get, post_events
from tests.hardening.tenants import ADMIN, bearer, secret, tenant_auth


@pytest.fixture
async def sc(store_url: str | None, tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    extra: dict[str, Any] = {"db_url": store_url} if store_url else {}
    settings = make_settings(tmp_path, api_token=ADMIN, auth=tenant_auth(), **extra)
    running, runner = await start_sidecar(settings)
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


@dataclass
class RunModel:
    """What the driver sent for one (tenant, request_id)."""

    tenant: str | None
    request_id: str
    user_id: str
    llm: int = 0
    tool: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    finished: bool = False
    ts: list[float] = field(default_factory=list)


class Driver:
    """Seeded random traffic over a few tenants, users and request ids."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.runs: dict[tuple[str | None, str], RunModel] = {}
        self.clock = 1_795_000_000.0

    def batch(self, size: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(size):
            self.clock += self.rng.uniform(0.01, 2.0)
            tenant = self.rng.choice([None, "a", "b"])
            if self.runs and self.rng.random() < 0.7:
                key = self.rng.choice(list(self.runs))
                model = self.runs[key]
                if model.finished:
                    continue
            else:
                request_id = f"r-{len(self.runs):04d}"
                if self.rng.random() < 0.1 and self.runs:  # the same request id in two tenants
                    request_id = self.rng.choice(list(self.runs))[1]
                key = (tenant, request_id)
                if key in self.runs:
                    continue
                model = self.runs[key] = RunModel(tenant, request_id, self.rng.choice(["u1", "u2"]))
            kind = self.rng.choices(["llm_call", "tool_call", "run"], [6, 3, 1])[0]
            status = "error" if self.rng.random() < 0.1 else "ok"
            fields: dict[str, Any] = {
                "tenant": model.tenant,
                "user_id": model.user_id,
                "status": status,
                "agent": "bot",
            }
            if kind == "llm_call":
                fields.update(
                    input_tokens=self.rng.randint(0, 900), output_tokens=self.rng.randint(0, 300)
                )
                model.llm += 1
                model.input_tokens += fields["input_tokens"]
                model.output_tokens += fields["output_tokens"]
            elif kind == "tool_call":
                model.tool += 1
            else:
                model.finished = True
            if kind != "run" and status == "error":
                model.errors += 1
            model.ts.append(self.clock)
            out.append(event(kind, model.request_id, self.clock, **fields))
        return out


async def page_all(
    http: aiohttp.ClientSession,
    base: str,
    limit: int,
    token: str = ADMIN,
    between: Any = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        status, page = await get(
            http,
            base,
            "/v1/runs",
            secret(token) if token != ADMIN else token,
            limit=limit,
            cursor=cursor,
            **filters,
        )
        assert status == 200, page
        listed.extend(page["runs"])
        cursor = page["next_cursor"]
        if cursor is None:
            return listed
        if between is not None:
            await between()
    raise AssertionError("paging did not end")


def check_against(
    model: dict[tuple[str | None, str], RunModel],
    listed: list[dict[str, Any]],
    keys: set[tuple[str | None, str]],
    matches: Any = lambda ts: True,
) -> None:
    """Each run once, with its figures, ordered by its newest matching event (this driver
    sends events in ``ts`` order, so arrival order is ``ts`` order)."""
    seen = [(r["tenant"], r["request_id"]) for r in listed]
    assert len(seen) == len(set(seen)), "a run was listed twice"
    assert set(seen) == keys
    for run in listed:
        want = model[(run["tenant"], run["request_id"])]
        got = (
            run["llm_calls"],
            run["tool_calls"],
            run["errors"],
            run["input_tokens"],
            run["output_tokens"],
            run["finished"],
            run["events"],
            run["user_id"],
        )
        assert got == (
            want.llm,
            want.tool,
            want.errors,
            want.input_tokens,
            want.output_tokens,
            want.finished,
            len(want.ts),
            want.user_id,
        ), run["request_id"]
    newest = [max(t for t in model[k].ts if matches(t)) for k in seen]
    assert newest == sorted(newest, reverse=True), "not newest first"


@pytest.mark.parametrize("seed", [1, 2])
async def test_paging_lists_every_run_once_with_its_figures(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
    seed: int,
) -> None:
    driver = Driver(seed)
    for _ in range(6):
        await post_events(http, sc.url, driver.batch(driver.rng.randint(20, 120)), ADMIN)
        limit = driver.rng.choice([1, 3, 7, 50, 200])
        listed = await page_all(http, sc.url, limit)
        check_against(driver.runs, listed, {k for k, m in driver.runs.items() if m.ts})
        mine = await page_all(http, sc.url, limit, token="a-reader")
        check_against(driver.runs, mine, {k for k, m in driver.runs.items() if m.tenant == "a"})
        window = sorted(t for m in driver.runs.values() for t in m.ts)
        since, until = window[len(window) // 3], window[2 * len(window) // 3]
        ranged = await page_all(http, sc.url, limit, since=since, until=until, user_id="u1")
        check_against(
            driver.runs,
            ranged,
            {
                k
                for k, m in driver.runs.items()
                if m.user_id == "u1" and any(since <= t < until for t in m.ts)
            },
            lambda t, low=since, high=until: low <= t < high,
        )


async def test_runs_gaining_events_while_paging_are_never_listed_twice(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    driver = Driver(7)
    await post_events(http, sc.url, driver.batch(300), ADMIN)
    before = {k for k, m in driver.runs.items() if m.ts}
    touched: set[tuple[str | None, str]] = set()

    async def more() -> None:
        batch = driver.batch(15)
        touched.update((e.get("tenant"), e["request_id"]) for e in batch)
        await post_events(http, sc.url, batch, ADMIN)

    listed = await page_all(http, sc.url, 4, between=more)
    seen = [(r["tenant"], r["request_id"]) for r in listed]
    assert len(seen) == len(set(seen))
    assert before - touched <= set(seen), "a run untouched while paging was skipped"


async def test_timeline_lists_a_runs_events_in_start_order(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    t = 1_795_100_000.0
    events = [
        event("tool_call", "req-t", t + 3, start_ts=t + 2.5, tenant="a"),
        event("llm_call", "req-t", t + 2, start_ts=t + 0.2, tenant="a"),
        event("run", "req-t", t + 4, start_ts=t, tenant="a"),
        event("llm_call", "req-t", t + 9, tenant="b"),
    ]
    await post_events(http, sc.url, events, ADMIN)
    status, body = await get(http, sc.url, "/v1/runs/req-t", ADMIN, tenant="a")
    assert status == 200, body
    assert [e["type"] for e in body["events"]] == ["run", "llm_call", "tool_call"]
    assert body["run"]["llm_calls"] == 1 and body["run"]["finished"] and not body["truncated"]
    status, body = await get(http, sc.url, "/v1/runs/req-t", ADMIN)
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        409,
        "ambiguous_run",
        "tenant",
    )
    status, body = await get(http, sc.url, "/v1/runs/req-t", None)
    assert status == 401
    async with http.get(sc.url + "/v1/runs/req-t", headers=bearer("b-reader")) as response:
        mine = await response.json()
    assert response.status == 200 and [e["tenant"] for e in mine["events"]] == ["b"]
    async with http.get(sc.url + "/v1/runs/req-t?tenant=a", headers=bearer("b-reader")) as resp:
        assert resp.status == 403
    async with http.get(sc.url + "/v1/runs/req-t", headers=bearer("a-agent")) as response:
        assert response.status == 403
    status, body = await get(http, sc.url, "/v1/runs/no-such-run", ADMIN)
    assert (status, body["error"]["code"]) == (404, "unknown_run")


async def test_request_ids_holding_pii_are_found_by_their_pseudonym(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    rid = "ticket-for-jane.doe@example.com"
    await post_events(http, sc.url, [event("llm_call", rid, 1_795_200_000.0)], ADMIN)
    status, page = await get(http, sc.url, "/v1/runs", ADMIN)
    [run] = page["runs"]
    assert "jane.doe" not in run["request_id"]
    for asked in (rid, run["request_id"]):
        status, body = await get(http, sc.url, f"/v1/runs/{quote(asked)}", ADMIN)
        assert status == 200, body
        assert body["run"]["request_id"] == run["request_id"]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("limit=0", 422, "limit"),
        ("limit=201", 422, "limit"),
        ("limit=1e308", 422, "limit"),
        ("limit=9223372036854775808", 422, "limit"),
        ("since=NaN", 422, "since"),
        ("until=nope", 422, "until"),
        ("cursor=bogus", 422, "cursor"),
        ("user_id=" + "x" * 300, 422, "user_id"),
        ("user_id=a%00b", 422, "user_id"),
        ("tenant=a%1Fb", 422, "tenant"),
        ("colour=red", 400, "colour"),
        ("limit=5&limit=6", 400, "limit"),
    ],
)
async def test_bad_list_parameters_are_named(
    local: RunningSidecar,
    http: aiohttp.ClientSession,
    query: str,
    status: int,
    field: str,
) -> None:
    async with http.get(
        f"{local.url}/v1/runs?{query}", headers={"Authorization": f"Bearer {ADMIN}"}
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["field"]) == (status, field), body


async def test_empty_parameters_count_as_absent_and_empty_store_lists_nothing(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    status, page = await get(http, sc.url, "/v1/runs", ADMIN, limit="", user_id="", cursor="")
    assert (status, page) == (200, {"runs": [], "next_cursor": None})
    async with http.get(
        sc.url + "/v1/runs/%00", headers={"Authorization": f"Bearer {ADMIN}"}
    ) as response:
        assert response.status == 422


async def test_request_ids_with_url_characters_open_their_run(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    rid = "team/req 1?x=1#frag%2F"
    await post_events(http, sc.url, [event("llm_call", rid, 1_795_300_000.0)], ADMIN)
    url = URL(f"{sc.url}/v1/runs/{quote(rid, safe='')}", encoded=True)
    async with http.get(url, headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        body = await response.json()
    assert response.status == 200, body
    assert body["run"]["request_id"] == rid and len(body["events"]) == 1
