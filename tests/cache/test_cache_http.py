"""The cache routes over HTTP: store, lookup (exact, fuzzy, guarded miss), scopes, shared
namespaces with PII kept per user, invalidation, and clear 422s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningSidecar, make_settings, start_sidecar


async def post(
    http: aiohttp.ClientSession, url: str, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(url + path, json=body) as response:
        return response.status, await response.json()


async def test_store_lookup_scopes_and_invalidation(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    url = sidecar.url
    a = {"namespace": "qa", "user_id": "alice", "tenant": "acme"}
    assert (
        await post(
            http,
            url,
            "/v1/cache/store",
            {
                **a,
                "key": "What is the capital of France?",
                "value": "Paris",
                "cost_usd": 0.002,
                "tokens": 300,
            },
        )
    )[0] == 200
    status, hit = await post(
        http, url, "/v1/cache/lookup", {**a, "key": "what is the capital of france"}
    )
    assert status == 200 and hit["hit"] and hit["value"] == "Paris" and hit["match"] == "exact"
    _, fuzzy = await post(
        http, url, "/v1/cache/lookup", {**a, "key": "Tell me, what is the capital of Frnace"}
    )
    assert fuzzy["hit"] and fuzzy["match"] == "fuzzy" and fuzzy["saved_cost_usd"] == 0.002
    _, spain = await post(
        http, url, "/v1/cache/lookup", {**a, "key": "What is the capital of Spain?"}
    )
    assert spain["hit"] is False and spain["result"] in ("miss", "rejected_by_guard")
    for other in ({**a, "user_id": "bob"}, {**a, "tenant": "globex"}, {**a, "model": "gpt-4o"}):
        _, miss = await post(
            http, url, "/v1/cache/lookup", {**other, "key": "What is the capital of France?"}
        )
        assert miss["hit"] is False, other
    tool = {"namespace": "tools", "user_id": "alice"}
    await post(
        http,
        url,
        "/v1/cache/store",
        {**tool, "key": {"city": "Paris", "days": 3}, "value": {"forecast": "sun"}},
    )
    _, same = await post(
        http, url, "/v1/cache/lookup", {**tool, "key": {"days": 3, "city": "Paris"}}
    )
    _, other_args = await post(
        http, url, "/v1/cache/lookup", {**tool, "key": {"days": 4, "city": "Paris"}}
    )
    assert same["hit"] and not other_args["hit"]
    async with http.delete(
        url + "/v1/cache/qa", params={"tenant": "acme", "user_id": "alice"}
    ) as response:
        assert (await response.json())["removed"] == 1
    _, gone = await post(
        http, url, "/v1/cache/lookup", {**a, "key": "What is the capital of France?"}
    )
    assert gone["hit"] is False
    async with http.get(url + "/metrics") as response:
        text = await response.text()
    assert 'agent_sidecar_cache_lookups_total{result="fuzzy"} 1.0' in text
    assert 'agent_sidecar_cache_lookups_total{result="exact"} 2.0' in text  # France, tools


async def test_shared_namespace_keeps_pii_values_per_user(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = make_settings(tmp_path, cache={"namespaces": {"faq": {"shared_across_users": True}}})
    running, runner = await start_sidecar(settings)
    try:
        url = running.url
        await post(
            http,
            url,
            "/v1/cache/store",
            {"namespace": "faq", "user_id": "alice", "key": "opening hours", "value": "9 to 5"},
        )
        await post(
            http,
            url,
            "/v1/cache/store",
            {
                "namespace": "faq",
                "user_id": "alice",
                "key": "my account email",
                "value": "It is alice.smith@example.com",
            },
        )
        _, shared = await post(
            http,
            url,
            "/v1/cache/lookup",
            {"namespace": "faq", "user_id": "bob", "key": "opening hours"},
        )
        _, private = await post(
            http,
            url,
            "/v1/cache/lookup",
            {"namespace": "faq", "user_id": "bob", "key": "my account email"},
        )
        _, own = await post(
            http,
            url,
            "/v1/cache/lookup",
            {"namespace": "faq", "user_id": "alice", "key": "my account email"},
        )
        assert shared["hit"] and shared["value"] == "9 to 5"
        assert private["hit"] is False and "alice.smith" not in str(private)
        assert own["hit"] and "alice.smith@example.com" in own["value"]
        status, error = await post(
            http,
            url,
            "/v1/cache/store",
            {"namespace": "faq", "key": "who", "value": "bob@example.com"},
        )
        assert status == 422 and error["error"]["field"] == "user_id"
    finally:
        await runner.cleanup()


async def test_bad_cache_requests_are_422(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    for body, field in (
        ({"key": "x"}, None),
        ({"namespace": "qa"}, None),
        ({"namespace": "qa", "key": ""}, None),
        ({"namespace": "qa", "key": "x", "ttl_s": "soon"}, "ttl_s"),
    ):
        status, error = await post(http, sidecar.url, "/v1/cache/store", body)
        assert status == 422, body
        if field:
            assert error["error"]["field"] == field


async def test_batch_store_and_oversized_keys(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    url = sidecar.url
    base = {"namespace": "qa", "user_id": "alice"}
    entries = [
        {**base, "key": f"What is the capital of {c}?", "value": c}
        for c in ("France", "Spain", "Italy")
    ]
    status, body = await post(http, url, "/v1/cache/store/batch", {"entries": entries})
    assert status == 200 and body == {"stored": 3}
    _, hit = await post(http, url, "/v1/cache/lookup", {**base, "key": "capital of spain"})
    assert hit["hit"] and hit["value"] == "Spain"
    status, error = await post(http, url, "/v1/cache/store/batch", {"entries": []})
    assert status == 422
    status, error = await post(
        http,
        url,
        "/v1/cache/store/batch",
        {"entries": [{**base, "key": "ok", "value": 1}, {**base, "key": "x" * 40_000, "value": 2}]},
    )
    assert status == 422 and error["error"]["field"].endswith("key")
    status, error = await post(http, url, "/v1/cache/lookup", {**base, "key": "y" * 40_000})
    assert status == 422 and error["error"]["field"] == "key"


async def test_the_environment_switch_turns_the_semantic_tier_on(
    tmp_path: Path, http: aiohttp.ClientSession, model_dir: Path
) -> None:
    from sidecar.config import load_settings

    env = {
        "SIDECAR_CACHE__SEMANTIC__ENABLED": "true",
        "SIDECAR_CACHE__SEMANTIC__MODEL_CACHE_DIR": str(model_dir),
        "SIDECAR_DB_URL": f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}",
    }
    settings = load_settings(env=env)
    assert settings.cache.semantic.enabled
    running, runner = await start_sidecar(settings)
    try:
        base = {"namespace": "qa", "user_id": "alice"}
        await post(
            http,
            running.url,
            "/v1/cache/store",
            {**base, "key": "How tall is Mount Everest?", "value": "8849 m"},
        )
        assert running.parts.cache.semantic.wait_idle()
        _, hit = await post(
            http,
            running.url,
            "/v1/cache/lookup",
            {**base, "key": "What is the height of Mount Everest?"},
        )
        assert hit["hit"] and hit["match"] == "semantic" and hit["value"] == "8849 m"
        _, miss = await post(
            http,
            running.url,
            "/v1/cache/lookup",
            {**base, "key": "What is the height of Mount Fuji?"},
        )
        assert not miss["hit"]
    finally:
        await runner.cleanup()


@pytest.mark.postgres
async def test_the_cache_persists_in_postgresql(
    pg_url: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = make_settings(tmp_path, db_url=pg_url)
    base = {"namespace": "qa", "user_id": "alice"}
    running, runner = await start_sidecar(settings)
    try:
        await post(
            http,
            running.url,
            "/v1/cache/store",
            {**base, "key": "What is the capital of France?", "value": "Paris"},
        )
    finally:
        await runner.cleanup()  # flushes
    again, runner = await start_sidecar(settings)
    try:
        _, hit = await post(
            http, again.url, "/v1/cache/lookup", {**base, "key": "what's the capital of france"}
        )
        assert hit["hit"] and hit["value"] == "Paris"
    finally:
        await runner.cleanup()
