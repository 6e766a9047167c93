"""Tenant isolation and roles over real HTTP: tenant A can read, settle, invalidate or exhaust
nothing of tenant B, and each role reaches only its routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from sidecar.config import masked
from tests.conftest import RunningSidecar, llm_event
from tests.hardening.tenants import ADMIN, TOKENS, bearer, secret, tenant_sidecar


@pytest.fixture
async def sc(tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    async with tenant_sidecar(tmp_path) as running:
        yield running


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None,
    body: Any = None,
    **kw: Any,
) -> tuple[int, Any]:
    headers = bearer(token) if token else {}
    async with http.request(method, url, json=body, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


async def test_tokens_are_kept_only_as_digests(sc: RunningSidecar) -> None:
    text = msgspec.json.encode(sc.settings.auth).decode()
    assert not any(secret(tok) in text for tok in TOKENS)
    assert all(t["sha256"] == "***" for t in masked(sc.settings)["auth"]["tokens"])


@pytest.mark.parametrize(
    ("method", "path", "token", "status"),
    [
        ("GET", "/v1/events", None, 401),
        ("GET", "/v1/events", "wrong-token-123", 401),
        ("GET", "/v1/events", "a-agent", 403),
        ("POST", "/v1/events", "a-reader", 403),
        ("POST", "/v1/admit", "a-reader", 403),
        ("POST", "/v1/cache/lookup", "a-reader", 403),
        ("PUT", "/v1/budgets/tenant/a", "a-agent", 403),
        ("PUT", "/v1/budgets/tenant/a", "a-reader", 403),
        ("GET", "/v1/stats", "a-reader", 403),
        ("GET", "/metrics", "a-reader", 403),
        ("GET", "/v1/usage/global/all", "a-reader", 403),
        ("GET", "/v1/usage/tenant/b", "a-reader", 403),
        ("PUT", "/v1/budgets/global/all", "a-admin", 403),
        ("PUT", "/v1/budgets/tenant/b", "a-admin", 403),
    ],
)
async def test_roles_and_tenants_gate_routes(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None,
    status: int,
) -> None:
    body = {"window": "1d", "max_tokens": 10} if method == "PUT" else None
    got, answer = await call(http, method, sc.url + path, token, body)
    assert got == status, answer
    assert answer["error"]["code"]


async def test_events_are_stamped_and_queries_confined(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    url = sc.url + "/v1/events"
    assert (await call(http, "POST", url, "a-agent", [llm_event(), llm_event()]))[0] == 202
    assert (await call(http, "POST", url, "b-agent", [llm_event(tenant="b")]))[0] == 202
    status, answer = await call(http, "POST", url, "b-agent", [llm_event(tenant="a")])
    assert (status, answer["error"]["code"]) == (403, "tenant_mismatch")

    _, mine = await call(http, "GET", url, "b-reader")
    assert [e["tenant"] for e in mine["events"]] == ["b"]
    status, _ = await call(http, "GET", url + "?tenant=a", "b-reader")
    assert status == 403
    _, everyone = await call(http, "GET", url, ADMIN)
    assert sorted(e["tenant"] for e in everyone["events"]) == ["a", "a", "b"]
    _, total = await call(http, "GET", sc.url + "/v1/aggregate?group_by=tenant", "a-reader")
    assert total["total"]["count"] == 2
    assert [g["tenant"] for g in total["groups"]] == ["a"]


async def test_cache_entries_never_cross_tenants(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    entry = {"namespace": "faq", "key": "what is the refund policy?", "value": "30 days"}
    assert (await call(http, "POST", sc.url + "/v1/cache/store", "a-agent", entry))[0] == 200
    lookup = {"namespace": "faq", "key": "what is the refund policy?"}
    _, hit = await call(http, "POST", sc.url + "/v1/cache/lookup", "a-agent", lookup)
    assert hit["hit"] is True
    _, miss = await call(http, "POST", sc.url + "/v1/cache/lookup", "b-agent", lookup)
    assert miss["hit"] is False
    status, _ = await call(
        http, "POST", sc.url + "/v1/cache/lookup", "b-agent", {**lookup, "tenant": "a"}
    )
    assert status == 403
    _, removed = await call(http, "DELETE", sc.url + "/v1/cache/faq?all_users=true", "b-agent")
    assert removed["removed"] == 0
    _, still = await call(http, "POST", sc.url + "/v1/cache/lookup", "a-agent", lookup)
    assert still["hit"] is True


async def test_reservations_settle_only_for_their_tenant(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    budget = {"window": "1d", "max_tokens": 10_000}
    assert (await call(http, "PUT", sc.url + "/v1/budgets/tenant/a", ADMIN, budget))[0] == 200
    admit = {
        "request_id": "r-1",
        "user_id": "u-1",
        "model": "gpt-4o",
        "input_tokens": 1000,
        "max_output_tokens": 1000,
    }
    _, granted = await call(http, "POST", sc.url + "/v1/admit", "a-agent", admit)
    rid = granted["reservation_id"]

    status, answer = await call(
        http,
        "POST",
        sc.url + "/v1/budgets/settle",
        "b-agent",
        {"reservation_id": rid, "input_tokens": 1},
    )
    assert (status, answer["error"]["code"]) == (404, "unknown_reservation")
    event = llm_event(reservation_id=rid, input_tokens=5, output_tokens=5)
    assert (await call(http, "POST", sc.url + "/v1/events", "b-agent", [event]))[0] == 202
    _, usage = await call(http, "GET", sc.url + "/v1/usage/tenant/a", "a-reader")
    assert (usage["tokens_reserved"], usage["tokens_used"]) == (2000, 0)

    _, settled = await call(
        http,
        "POST",
        sc.url + "/v1/budgets/settle",
        "a-agent",
        {"reservation_id": rid, "input_tokens": 300, "output_tokens": 100},
    )
    assert settled == {"settled": True}
    _, usage = await call(http, "GET", sc.url + "/v1/usage/tenant/a", "a-reader")
    assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, 400)


async def test_one_tenant_cannot_exhaust_another(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    """Same user id and request id in both tenants: budgets and step limits stay separate."""
    for scope, id_ in (("user", "a:u-1"), ("user", "b:u-1"), ("tenant", "b")):
        put = {"window": "1d", "max_tokens": 3000}
        status, _ = await call(http, "PUT", sc.url + f"/v1/budgets/{scope}/{id_}", ADMIN, put)
        assert status == 200
    admit = {
        "request_id": "r-1",
        "user_id": "u-1",
        "model": "gpt-4o",
        "input_tokens": 500,
        "max_output_tokens": 500,
    }
    answers = [
        (await call(http, "POST", sc.url + "/v1/admit", "a-agent", admit))[0] for _ in range(6)
    ]
    assert answers == [200, 200, 200, 429, 429, 429]
    status, _ = await call(http, "POST", sc.url + "/v1/admit", "b-agent", admit)
    assert status == 200
    _, usage = await call(http, "GET", sc.url + "/v1/usage/user/u-1", "b-reader")
    assert usage["tokens_reserved"] == 1000
    _, usage_b = await call(http, "GET", sc.url + "/v1/usage/tenant/b", "b-reader")
    assert usage_b["tokens_reserved"] == 1000

    steps = sc.settings.limits.max_steps_per_request
    assert steps is not None
    tool = {"request_id": "r-steps", "kind": "tool", "tool": "search"}
    for i in range(steps):
        await call(http, "POST", sc.url + "/v1/admit", "a-agent", {**tool, "args": {"i": i}})
    status, denied = await call(http, "POST", sc.url + "/v1/admit", "a-agent", tool)
    assert status == 429, denied
    status, _ = await call(http, "POST", sc.url + "/v1/admit", "b-agent", tool)
    assert status == 200


async def test_tenant_sees_only_its_budgets(
    sc: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    for scope, id_ in (("tenant", "a"), ("tenant", "b"), ("user", "a:u-1"), ("global", "all")):
        put = {"window": "1d", "max_tokens": 3000}
        status, _ = await call(http, "PUT", sc.url + f"/v1/budgets/{scope}/{id_}", ADMIN, put)
        assert status == 200
    _, listed = await call(http, "GET", sc.url + "/v1/budgets", "a-reader")
    assert sorted((p["scope"], p["id"]) for p in listed["policies"]) == [
        ("tenant", "a"),
        ("user", "a:u-1"),
    ]
    put = {"window": "1d", "max_tokens": 50}
    assert (await call(http, "PUT", sc.url + "/v1/budgets/user/u-9", "a-admin", put))[0] == 200
    _, listed = await call(http, "GET", sc.url + "/v1/budgets", ADMIN)
    assert ("user", "a:u-9") in {(p["scope"], p["id"]) for p in listed["policies"]}
