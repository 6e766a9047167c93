"""The degradation ladder on a real ``agent-sidecar serve`` with the test clock file.

One user's $1/day budget (``warn_at: 0.5, suggest_at: 0.7, restrict_at: 0.9``, configured by
environment) walks through: no step, ``warn``, ``suggest`` (gpt-4o → gpt-4o-mini with the
mini's price from the price table and this call's estimate with it), ``restrict`` (the tool
tagged ``expensive`` refused with 429 ``expensive_tool_refused``, an untagged tool still
allowed), then the hard denial (``cost_budget_exceeded``, retry at the window reset); moving
the clock past midnight starts the next day at no step. Paths: HTTP admits (llm and tool),
settles, the configuration by environment, and the SDK (``grant.suggested_model``, and
``wrap_openai(..., apply_suggestions=True)`` calling the provider with the cheaper model only
when opted in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from runtime import SidecarClient, wrap_openai
from sidecar.budgets.testclock import ENV as CLOCK_ENV
from sidecar.budgets.testclock import write_clock
from tests.conftest import SidecarProcess

T0 = 1_741_608_000.0  # 2025-03-10T12:00:00Z
ENV = {
    "SIDECAR_BUDGETS__POLICIES": "[{scope: user, id: '*', window: 1d, max_cost_usd: 1.0, "
                                 "warn_at: 0.5, suggest_at: 0.7, restrict_at: 0.9}]",
    "SIDECAR_BUDGETS__CHEAPER_MODELS": "{gpt-4o: gpt-4o-mini}",
    "SIDECAR_TOOLS__POLICIES": "[{tenant: '*', agent: '*', rules: ["
                               "{tool: web_search, action: allow, expensive: true}]}]",
}  # fmt: skip
LLM = {"kind": "llm", "model": "gpt-4o", "input_tokens": 10_000, "max_output_tokens": 1_000}


class FakeCompletions:
    """Stands in for the provider: records the model each call asked for."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def create(self, **kwargs: Any) -> dict[str, Any]:
        self.models.append(kwargs["model"])
        return {"model": kwargs["model"], "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1}}  # fmt: skip


class FakeClient:
    def __init__(self) -> None:
        self.chat = type("Chat", (), {})()
        self.chat.completions = FakeCompletions()


async def test_warn_suggest_restrict_deny_then_a_new_day(tmp_path: Path) -> None:
    clock = tmp_path / "clock"
    write_clock(str(clock), T0)
    sidecar = SidecarProcess(f"sqlite+aiosqlite:///{tmp_path / 'ladder.db'}",
                             env={**ENV, CLOCK_ENV: str(clock)})  # fmt: skip
    sidecar.start()
    try:
        async with aiohttp.ClientSession() as http:

            async def admit(body: dict[str, Any], n: int) -> tuple[int, dict[str, Any]]:
                full = {"request_id": f"r-{n}", "user_id": "u-1", **body}
                async with http.post(sidecar.url + "/v1/admit", json=full) as r:
                    return r.status, await r.json()

            async def settle(answer: dict[str, Any], cost: float) -> None:
                async with http.post(
                    sidecar.url + "/v1/budgets/settle",
                    json={"reservation_id": answer["reservation_id"], "cost_usd": cost},
                ) as r:
                    assert (await r.json())["settled"] is True  # fmt: skip

            status, first = await admit(LLM, 1)  # $0.035 reserved of $1
            assert status == 200 and "step" not in first
            await settle(first, 0.50)
            status, second = await admit(LLM, 2)  # 0.535
            assert (status, second["step"]) == (200, "warn")
            assert "suggested_model" not in second
            await settle(second, 0.20)
            status, third = await admit(LLM, 3)  # 0.735
            assert (status, third["step"], third["suggested_model"]) == (
                200, "suggest", "gpt-4o-mini")  # fmt: skip
            price = third["suggested_price"]
            assert (price["input_usd_per_mtok"], price["output_usd_per_mtok"]) == (0.15, 0.6)
            assert price["estimated_cost_usd"] == round(10_000 * 0.15e-6 + 1_000 * 0.6e-6, 12)
            assert price["requested_estimated_cost_usd"] == 0.035
            await settle(third, 0.20)  # 0.90 used
            status, tool = await admit({"kind": "tool", "tool": "web_search",
                                        "args": {"q": "x"}}, 4)  # fmt: skip
            assert (status, tool["reason"], tool["step"]) == (
                429, "expensive_tool_refused", "restrict")  # fmt: skip
            status, cheap_tool = await admit({"kind": "tool", "tool": "calc"}, 5)
            assert (status, cheap_tool["step"]) == (200, "restrict")
            status, fourth = await admit(LLM, 6)  # 0.935
            assert (status, fourth["step"], fourth["suggested_model"]) == (
                200, "restrict", "gpt-4o-mini")  # fmt: skip
            await settle(fourth, 0.09)  # 0.99 used
            status, denied = await admit(LLM, 7)
            assert (status, denied["reason"]) == (429, "cost_budget_exceeded")
            assert "step" not in denied
            assert 0 < denied["retry_after_s"] <= 12 * 3600  # the day ends at midnight UTC

            write_clock(str(clock), T0 + 12 * 3600 + 1)  # the next day
            status, fresh = await admit(LLM, 8)
            assert status == 200 and "step" not in fresh
            status, _ = await admit({"kind": "tool", "tool": "web_search"}, 9)
            assert status == 200
            async with http.get(sidecar.url + "/metrics") as r:
                text = await r.text()
            assert 'agent_sidecar_budget_ladder_steps_total{step="suggest"} 1.0' in text
            assert "agent_sidecar_budget_ladder_tools_refused_total 1.0" in text
    finally:
        sidecar.stop()


async def test_sdk_exposes_and_applies_the_suggestion(tmp_path: Path) -> None:
    clock = tmp_path / "clock"
    write_clock(str(clock), T0)
    sidecar = SidecarProcess(f"sqlite+aiosqlite:///{tmp_path / 'ladder.db'}",
                             env={**ENV, CLOCK_ENV: str(clock)})  # fmt: skip
    sidecar.start()
    try:
        async with SidecarClient(sidecar.url, fail_open=False) as client:
            async with client.run(user_id="u-sdk") as run:
                grant = await run.admit_llm("gpt-4o", input_tokens=10_000,
                                            max_output_tokens=1_000)  # fmt: skip
                assert grant.step is None and grant.suggested_model is None
                assert grant.reservation_id is not None
                assert await client.settle(grant.reservation_id, input_tokens=0,
                                           output_tokens=0, cost_usd=0.75)  # fmt: skip
                grant = await run.admit_llm("gpt-4o", input_tokens=10_000,
                                            max_output_tokens=1_000)  # fmt: skip
                assert (grant.step, grant.suggested_model) == ("suggest", "gpt-4o-mini")
                assert grant.suggested_price["input_usd_per_mtok"] == 0.15  # type: ignore[index]
                plain, opted = FakeClient(), FakeClient()
                wrap_openai(plain, client).chat.completions.create(model="gpt-4o", messages=[])
                wrap_openai(opted, client, apply_suggestions=True).chat.completions.create(
                    model="gpt-4o", messages=[])  # fmt: skip
                assert plain.chat.completions.models == ["gpt-4o"]
                assert opted.chat.completions.models == ["gpt-4o-mini"]
    finally:
        sidecar.stop()
