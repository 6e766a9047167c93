"""The SDK's synchronous questions against a real sidecar: admit (typed denials, settle via the
llm_call event, fail policies) and the cache helper."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from runtime import (
    BudgetExceeded,
    SidecarClient,
    SidecarError,
    SidecarUnavailable,
    StepLimitExceeded,
)
from tests.conftest import RunningSidecar, free_port, make_settings, start_sidecar


async def test_budget_denial_is_typed_and_settling_frees_the_estimate(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.put(
        sidecar.url + "/v1/budgets/user/u-1", json={"window": "1d", "max_tokens": 3000}
    ) as response:
        assert response.status == 200
    async with SidecarClient(sidecar.url) as client:
        async with client.run(user_id="u-1") as run:
            first = await run.admit_llm("gpt-4o", input_tokens=500, max_output_tokens=500)
            second = await run.admit_llm("gpt-4o", input_tokens=500, max_output_tokens=500)
            assert first.reservation_id and second.reservation_id
            with pytest.raises(BudgetExceeded) as denied:
                await run.admit_llm("gpt-4o", input_tokens=1500, max_output_tokens=0)
            assert denied.value.reason == "token_budget_exceeded"
            assert denied.value.retry_after_s is not None and denied.value.retry_after_s > 0
            async with run.llm_call(
                "gpt-4o", "openai", reservation_id=first.reservation_id
            ) as call:
                call.set_usage(100, 50)  # used far less than the 1000 reserved
        await client.flush()
        async with http.get(sidecar.url + "/v1/usage/user/u-1") as response:
            usage = await response.json()
        assert usage["tokens_used"] == 150 and usage["tokens_reserved"] == 1000
        assert usage["remaining_tokens"] == 3000 - 150 - 1000
        async with client.run(user_id="u-1") as run:
            assert (await run.admit_llm("gpt-4o", input_tokens=1500, max_output_tokens=0)).allowed


async def test_step_limit_is_typed(tmp_path: Path) -> None:
    running, runner = await start_sidecar(
        make_settings(tmp_path, limits={"max_steps_per_request": 2})
    )
    try:
        async with SidecarClient(running.url) as client, client.run() as run:
            await run.admit_tool("search", args={"q": 1})
            await run.admit_llm("gpt-4o", input_tokens=10)
            with pytest.raises(StepLimitExceeded) as denied:
                await run.admit_tool("search", args={"q": 2})
            assert denied.value.reason == "step_limit_exceeded"
    finally:
        await runner.cleanup()


async def test_fail_open_allows_and_fail_closed_raises_when_the_sidecar_is_down() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with SidecarClient(dead, timeout_s=0.5) as client, client.run() as run:
        grant = await run.admit_llm("gpt-4o", input_tokens=10)
        assert grant.allowed and grant.degraded
    assert client.stats.admits_degraded == 1
    async with SidecarClient(dead, timeout_s=0.5, fail_open=False) as closed:
        async with closed.run() as run:
            with pytest.raises(SidecarUnavailable):
                await run.admit_llm("gpt-4o", input_tokens=10)


async def test_cached_computes_once_per_scope(sidecar: RunningSidecar) -> None:
    calls: list[str] = []

    async def answer() -> str:
        calls.append("computed")
        return "Paris"

    async with SidecarClient(sidecar.url) as client:
        one = await client.cached("geo", "What is the capital of France?", answer, user_id="u-1")
        two = await client.cached("geo", "what's the capital of france", answer, user_id="u-1")
        other = await client.cached("geo", "What is the capital of France?", answer, user_id="u-2")
        spain = await client.cached("geo", "What is the capital of Spain?", answer, user_id="u-1")
    assert one == two == other == spain == "Paris"
    assert calls == ["computed", "computed", "computed"]  # u-1 hit once; u-2 and Spain missed


async def test_admit_refused_for_its_configuration_raises_with_the_status(
    tmp_path: Path,
) -> None:
    """401 (token), 403 (role) and 404 (URL) from admit are configuration errors, not outages:
    the SDK raises SidecarError with the status instead of allowing the step."""
    from tests.hardening.tenants import secret, tenant_sidecar

    async with tenant_sidecar(tmp_path) as running:
        cases = [
            (running.url, "wrong-token-1234", 401),
            (running.url, secret("a-reader"), 403),
            (running.url + "/no/such/prefix", secret("a-agent"), 404),
        ]
        for url, token, status in cases:
            client = await SidecarClient(url, token=token).start()
            async with client.run() as run:
                with pytest.raises(SidecarError) as raised:
                    await run.admit_llm("gpt-4o", input_tokens=10)
                assert raised.value.status == status
                assert not isinstance(raised.value, SidecarUnavailable)
            with pytest.raises(SidecarError):  # the run's event is refused the same way
                await client.close()
            assert client.stats.admits_degraded == 0


async def test_admit_exists_without_budgets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, budgets={"enabled": False},
                             limits={"max_steps_per_request": 1})  # fmt: skip
    running, runner = await start_sidecar(settings)
    try:
        async with SidecarClient(running.url) as client, client.run() as run:
            grant = await run.admit_llm("gpt-4o", input_tokens=10)
            assert grant.allowed and not grant.degraded and grant.reservation_id is None
            with pytest.raises(StepLimitExceeded):
                await run.admit_tool("search")
    finally:
        await runner.cleanup()
