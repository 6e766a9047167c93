"""Protection: per-token rate limit (429 + Retry-After, counted), request timeout (503),
bounded header size, and a rate limiter that ignores wall-clock jumps."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from sidecar.api.middlewares import RateLimiter
from tests.conftest import SidecarProcess, llm_event, make_settings, start_sidecar
from tests.hardening.tenants import ADMIN, bearer, tenant_auth


async def test_rate_limit_is_per_token_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        api_token=ADMIN,
        auth=tenant_auth(),
        protection={"rate_limit_per_s": 1, "rate_limit_burst": 5},
    )
    running, runner = await start_sidecar(settings)
    body = {"text": "hello"}
    try:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(7):
                async with http.post(
                    running.url + "/v1/redact", json=body, headers=bearer("a-agent")
                ) as resp:
                    statuses.append(resp.status)
                    if resp.status == 429:
                        assert int(resp.headers["Retry-After"]) >= 1
                        assert (await resp.json())["error"]["code"] == "rate_limited"
            assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
            async with http.post(
                running.url + "/v1/redact", json=body, headers=bearer("b-agent")
            ) as resp:
                assert resp.status == 200  # another token has its own bucket
            async with http.get(running.url + "/health") as resp:
                assert resp.status == 200  # probes are never limited
            async with http.get(running.url + "/metrics", headers=bearer(ADMIN)) as resp:
                text = await resp.text()
    finally:
        await runner.cleanup()
    assert "agent_sidecar_requests_rate_limited_total 2.0" in text


async def test_slow_handler_times_out_with_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, protection={"request_timeout_s": 1e-6})
    running, runner = await start_sidecar(settings)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(running.url + "/v1/events", json=[llm_event()]) as resp:
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
                assert (await resp.json())["error"]["code"] == "timeout"
    finally:
        await runner.cleanup()


async def test_oversized_headers_are_refused(tmp_path: Path) -> None:
    proc = SidecarProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
        env={"SIDECAR_PROTECTION__MAX_HEADER_BYTES": "1024"},
    ).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(proc.url + "/health", headers={"X-Pad": "x" * 4096}) as resp:
                assert resp.status in (400, 431)
            async with http.get(proc.url + "/health") as resp:
                assert resp.status == 200
    finally:
        proc.stop()


def test_rate_limiter_ignores_clock_jumps_and_stays_bounded() -> None:
    now = [1000.0]
    limiter = RateLimiter(per_s=10, burst=2, max_clients=3, clock=lambda: now[0])
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    assert limiter.take("a") > 0
    now[0] -= 3600  # a clock going back neither refills nor locks the bucket forever
    assert limiter.take("a") > 0
    now[0] += 3600 + 0.1
    assert limiter.take("a") == 0
    for key in ("b", "c", "d", "e"):
        limiter.take(key)
    assert len(limiter) == 3
