"""GET /v1/stats over HTTP: 20,000 llm_call events with known samples, percentiles within 1%."""

from __future__ import annotations

import random

import aiohttp
import msgspec

from tests.conftest import RunningSidecar, llm_event


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


async def test_stats_percentiles_match_exact_values_within_one_percent(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    rng = random.Random(11)
    ttfts: list[float] = []
    durations: list[float] = []
    batch = []
    for i in range(20_000):
        ttft = rng.lognormvariate(5.5, 0.6)
        duration = ttft + rng.lognormvariate(7.0, 0.8)
        ttfts.append(ttft)
        durations.append(duration)
        batch.append(
            llm_event(
                ttft_ms=ttft,
                duration_ms=duration,
                output_tokens=50,
                model="gpt-4o" if i % 2 else "gpt-4o-mini",
            )
        )
        if len(batch) == 2000:
            async with http.post(
                sidecar.url + "/v1/events",
                data=msgspec.json.encode(batch),
                headers={"Content-Type": "application/json"},
            ) as response:
                assert response.status == 202
            batch = []
    async with http.get(sidecar.url + "/v1/stats?window=5m") as response:
        assert response.status == 200
        body = await response.json()
    [series] = body["series"]
    assert series["count"] == 20_000 and series["key"]["operation"] == "chat"
    for name, samples in (("ttft_ms", ttfts), ("duration_ms", durations)):
        for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)):
            want = exact(samples, q)
            assert abs(series[name][label] - want) <= 0.01 * want, (name, label)
    async with http.get(sidecar.url + "/v1/stats?window=1m&group_by=model") as response:
        by_model = (await response.json())["series"]
    assert sorted(s["key"]["model"] for s in by_model) == ["gpt-4o", "gpt-4o-mini"]
    assert sum(s["count"] for s in by_model) == 20_000


async def test_stats_rejects_bad_parameters_with_422(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    for query, field in (("window=7y", "window"), ("group_by=user_id", "group_by")):
        async with http.get(sidecar.url + "/v1/stats?" + query) as response:
            assert response.status == 422
            assert (await response.json())["error"]["field"] == field
