"""The live /metrics of a sidecar that has seen every kind of traffic passes promtool's lint,
and carries no identifier as a label value."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import aiohttp
import msgspec

from tests.conftest import (
    free_port,
    llm_event,
    make_settings,
    require_service,
    start_sidecar,
    tool_event,
)

USER = "user-secret-4242"


async def drive_everything(http: aiohttp.ClientSession, url: str) -> None:
    events = [
        llm_event(user_id=USER, session_id="sess-9f8e", ttft_ms=120.0),
        llm_event(
            user_id=USER, model="made-up-model-x", status="error", error_type="RateLimitError"
        ),
        tool_event(
            user_id=USER,
            status="error",
            error_type="TimeoutError",
            error_message="mail jane.doe@example.com failed",
        ),
        {
            "type": "run",
            "ts": 1.0,
            "request_id": "req-1",
            "start_ts": 1.0,
            "duration_ms": 900.0,
            "status": "ok",
            "steps": 3,
            "agent": "bot",
        },
    ]
    async with http.post(
        url + "/v1/events",
        data=msgspec.json.encode(events),
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 202
    async with http.post(
        url + "/v1/events", data=b"{", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
    async with http.put(
        url + f"/v1/budgets/user/{USER}", json={"window": "1d", "max_tokens": 1500, "warn_at": 0.5}
    ) as response:
        assert response.status == 200
    for _ in range(3):
        async with http.post(
            url + "/v1/admit",
            json={
                "request_id": "req-2",
                "user_id": USER,
                "model": "gpt-4o",
                "input_tokens": 400,
                "max_output_tokens": 400,
            },
        ) as response:
            assert response.status in (200, 429)
    scope = {"namespace": "faq", "user_id": USER}
    async with http.post(
        url + "/v1/cache/store", json={**scope, "key": "opening hours?", "value": "9-5"}
    ) as response:
        assert response.status == 200
    for key in ("opening hours?", "Opening hours", "closing hours?"):
        async with http.post(url + "/v1/cache/lookup", json={**scope, "key": key}) as response:
            assert response.status == 200
    async with http.post(url + "/v1/redact", json={"text": "call +44 20 7946 0958"}) as resp:
        assert resp.status == 200


async def test_live_metrics_pass_promtool_and_hold_no_identifiers(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    promtool = shutil.which("promtool")
    require_service(promtool is not None, "promtool is not installed (make tools)")
    assert promtool is not None
    settings = make_settings(
        tmp_path,
        traces={"enabled": True, "timeout_s": 0.2, "endpoint": f"http://127.0.0.1:{free_port()}"},
    )
    running, runner = await start_sidecar(settings)
    try:
        await drive_everything(http, running.url)
        async with http.get(running.url + "/metrics") as response:
            exposition = await response.read()
    finally:
        await runner.cleanup()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=30
    )
    assert (result.stdout + result.stderr).decode() == ""
    text = exposition.decode()
    for needle in (USER, "sess-9f8e", "req-1", "req-2", "jane.doe", "opening hours"):
        assert needle not in text, needle
    for family in (
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
        "gen_ai_client_token_usage_bucket",
        "gen_ai_execute_tool_duration_seconds",
        "agent_sidecar_cost_usd_total",
        "agent_sidecar_admit_total",
        "agent_sidecar_admit_denied_total",
        "agent_sidecar_budget_warnings_total",
        "agent_sidecar_cache_lookups_total",
        "agent_sidecar_redactions_total",
        "agent_sidecar_events_rejected_total",
        "agent_sidecar_unpriced_calls_total",
        "agent_sidecar_spans_dropped_total",
    ):
        assert family in text, family
