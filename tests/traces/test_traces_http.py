"""Traces wired into the running sidecar: events in → one GenAI trace out, OTLP in → events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runtime import SidecarClient
from tests.conftest import RunningSidecar, make_settings, start_sidecar
from tests.traces.test_traces_otlp_in import _instrumented_agent


async def test_a_run_sent_as_events_leaves_as_one_trace(
    tmp_path: Path, http: aiohttp.ClientSession, http_receiver: Any
) -> None:
    settings = make_settings(
        tmp_path,
        traces={"enabled": True, "endpoint": http_receiver.endpoint, "schedule_delay_ms": 50},
    )
    running, runner = await start_sidecar(settings)
    try:
        async with SidecarClient(running.url) as client:
            async with client.run(agent="support", user_id="u-1") as run:
                async with run.llm_call("gpt-4o", "openai", stream=True) as call:
                    call.chunk("hi")
                    call.set_usage(10, 2)
                async with run.tool_call("search"):
                    pass
        await asyncio.to_thread(http_receiver.wait_for, lambda spans: len(spans) >= 3)
        spans = http_receiver.spans()
        assert {span.trace_id.hex() for span in spans} == {run.trace_id}
        names = sorted(span.name for span in spans)
        assert names == ["chat gpt-4o", "execute_tool search", "invoke_agent support"]
        async with http.get(running.url + "/v1/events") as response:
            stored = (await response.json())["events"]
        assert {event["trace_id"] for event in stored} == {run.trace_id}
        async with http.get(running.url + "/metrics") as response:
            text = await response.text()
        assert "agent_sidecar_spans_exported_total 3.0" in text
    finally:
        await runner.cleanup()


async def test_otlp_spans_from_an_instrumented_agent_become_events(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    await asyncio.to_thread(_instrumented_agent, sidecar.url + "/v1/traces")
    async with http.get(sidecar.url + "/v1/aggregate?group_by=model") as response:
        by_model = {g["model"]: g for g in (await response.json())["groups"]}
    assert by_model["gpt-4o-mini"]["input_tokens"] == 321
    assert by_model["gpt-4o-mini"]["output_tokens"] == 54
    assert by_model["gpt-4o"]["input_tokens"] == 1000
    assert by_model["claude-haiku"]["errors"] == 1
    async with http.get(sidecar.url + "/v1/events?type=tool_call") as response:
        [tool] = (await response.json())["events"]
    assert tool["tool"] == "lookup_order" and tool["duration_ms"] == 42.5
    async with http.get(sidecar.url + "/v1/stats?window=5m&group_by=model") as response:
        series = {
            s["key"]["model"]: s
            for s in (await response.json())["series"]
            if s["key"]["operation"] == "chat"
        }
    assert series["gpt-4o-mini"]["duration_ms"]["p50"] == pytest.approx(750, rel=0.01)


async def test_malformed_otlp_is_400_and_wrong_type_415(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        sidecar.url + "/v1/traces",
        data=b"\x00garbage\xff",
        headers={"Content-Type": "application/x-protobuf"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "malformed_otlp"
    async with http.post(
        sidecar.url + "/v1/traces", data=b"{}", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 415
