"""An id holding PII (a user id that is an e-mail address) is keyed by one pseudonym
everywhere: events, admits, budgets, usage, cache scopes and query filters. The raw address is
stored nowhere, and callers can still use the raw id in every request."""

from __future__ import annotations

import glob
from pathlib import Path

import aiohttp

from tests.conftest import llm_event, make_settings, start_sidecar

RAW = "zed.canary@example.com"


async def test_pii_user_ids_are_pseudonymised_consistently(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    sidecar, runner = await start_sidecar(make_settings(tmp_path))
    try:
        await _exercise(sidecar.url, http)
    finally:
        await runner.cleanup()  # flushes the writer, the budget journal and the cache
    db = sidecar.settings.db_url.split("///", 1)[1]
    for path in glob.glob(db + "*"):
        with open(path, "rb") as handle:
            assert RAW.encode() not in handle.read(), path


async def _exercise(url: str, http: aiohttp.ClientSession) -> None:
    async with http.put(
        f"{url}/v1/budgets/user/{RAW}", json={"window": "1d", "max_tokens": 5000}
    ) as response:
        assert response.status == 200
        assert RAW not in await response.text()
    async with http.post(
        url + "/v1/admit",
        json={
            "request_id": "r-1",
            "user_id": RAW,
            "model": "gpt-4o",
            "input_tokens": 1000,
            "max_output_tokens": 1000,
        },
    ) as response:
        grant = await response.json()
    assert grant["allowed"] is True
    async with http.post(
        url + "/v1/events",
        json=[
            llm_event(
                user_id=RAW,
                reservation_id=grant["reservation_id"],
                input_tokens=300,
                output_tokens=200,
            )
        ],
    ) as response:
        assert response.status == 202
    async with http.get(f"{url}/v1/usage/user/{RAW}") as response:
        usage = await response.json()
    assert usage["tokens_used"] == 500 and usage["tokens_reserved"] == 0
    async with http.get(url + "/v1/events", params={"user_id": RAW}) as response:
        [event] = (await response.json())["events"]
    assert event["user_id"].startswith("[ID:") and RAW not in str(event)
    async with http.post(
        url + "/v1/cache/store",
        json={"namespace": "qa", "user_id": RAW, "key": "hours?", "value": "9-5"},
    ) as response:
        assert response.status == 200
    async with http.post(
        url + "/v1/cache/lookup", json={"namespace": "qa", "user_id": RAW, "key": "hours?"}
    ) as response:
        assert (await response.json())["hit"] is True
