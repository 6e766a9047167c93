"""A sample agent run as sidecar events, shared by the traces tests."""

from __future__ import annotations

from typing import Any

from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.telemetry.config import TracesConfig
from sidecar.telemetry.otlp_export import SpanExporterSink

BASE_TS = 1_700_000_000.0
CANARY = "canary-4111111111111111-alice@example.com"


def sample_run(
    request_id: str = "req-1", base: float = BASE_TS, content: str = CANARY
) -> list[Event]:
    """A run with two LLM calls (one streaming, one failing) and two tool calls; run last."""
    return [
        LlmCall(
            id=f"{request_id}-llm-1",
            ts=base + 0.9,
            request_id=request_id,
            session_id="sess-1",
            user_id="user-1",
            agent="planner",
            model="gpt-4o",
            provider="openai",
            input_tokens=120,
            output_tokens=30,
            cached_input_tokens=20,
            start_ts=base + 0.1,
            stream=True,
            ttft_ms=150.0,
            duration_ms=800.0,
            finish_reason="stop",
            input=[{"role": "user", "content": content}],
            output=content,
            attributes={"team": content, "attempt": 1},
        ),
        ToolCall(
            id=f"{request_id}-tool-1",
            ts=base + 1.2,
            request_id=request_id,
            session_id="sess-1",
            agent="planner",
            tool="search",
            start_ts=base + 1.0,
            duration_ms=200.0,
            call_id="call-1",
            args={"q": content},
            result=content,
        ),
        ToolCall(
            id=f"{request_id}-tool-2",
            ts=base + 1.4,
            request_id=request_id,
            session_id="sess-1",
            agent="planner",
            tool="fetch",
            start_ts=base + 1.3,
            duration_ms=100.0,
            status="error",
            error_type="TimeoutError",
            error_message=content,
        ),
        LlmCall(
            id=f"{request_id}-llm-2",
            ts=base + 1.8,
            request_id=request_id,
            session_id="sess-1",
            agent="planner",
            model="claude-sonnet-4",
            provider="anthropic",
            input_tokens=50,
            output_tokens=0,
            start_ts=base + 1.5,
            duration_ms=300.0,
            status="error",
            error_type="RateLimitError",
            error_message=content,
        ),
        Run(
            id=f"{request_id}-run",
            ts=base + 2.0,
            request_id=request_id,
            session_id="sess-1",
            agent="planner",
            start_ts=base,
            duration_ms=2000.0,
            status="ok",
            steps=4,
        ),
    ]


async def export_sample_run(config: TracesConfig, receiver: Any) -> None:
    """Send :func:`sample_run` through a sink built from ``config``; wait for its 5 spans."""
    sink = SpanExporterSink.from_config(config)
    try:
        await sink.consume(sample_run())
        receiver.wait_for(lambda spans: len(spans) >= 5)
    finally:
        sink.shutdown()
