"""Event builders for the analytics and telemetry tests."""

from __future__ import annotations

from typing import Any

from sidecar.events.schema import LlmCall, Run, ToolCall


def llm(duration_ms: float = 100.0, **fields: Any) -> LlmCall:
    base: dict[str, Any] = {
        "ts": 1.0,
        "request_id": "r1",
        "model": "gpt-4o",
        "provider": "openai",
        "input_tokens": 10,
        "output_tokens": 5,
        "start_ts": 1.0,
        "duration_ms": duration_ms,
    }
    base.update(fields)
    return LlmCall(**base)


def tool(duration_ms: float = 10.0, **fields: Any) -> ToolCall:
    base: dict[str, Any] = {
        "ts": 1.0,
        "request_id": "r1",
        "tool": "search",
        "start_ts": 1.0,
        "duration_ms": duration_ms,
    }
    base.update(fields)
    return ToolCall(**base)


def run(**fields: Any) -> Run:
    base: dict[str, Any] = {"ts": 1.0, "request_id": "r1", "start_ts": 1.0}
    base.update(fields)
    return Run(**base)
