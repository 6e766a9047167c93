"""Shared pieces of the console tests: posting events and reading JSON over real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import msgspec

JSON = {"Content-Type": "application/json"}


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def post_events(
    http: aiohttp.ClientSession,
    base: str,
    events: list[dict[str, Any]],
    token: str | None = None,
) -> None:
    async with http.post(
        base + "/v1/events", data=msgspec.json.encode(events), headers={**JSON, **auth(token)}
    ) as response:
        assert response.status == 202, await response.text()


async def get(
    http: aiohttp.ClientSession,
    base: str,
    path: str,
    token: str | None = None,
    **params: Any,
) -> tuple[int, Any]:
    query = {k: str(v) for k, v in params.items() if v is not None}
    async with http.get(base + path, params=query, headers=auth(token)) as response:
        return response.status, await response.json(content_type=None)


def event(kind: str, request_id: str, ts: float, **fields: Any) -> dict[str, Any]:
    """A valid event of ``kind`` (llm_call, tool_call or run) ending at ``ts``."""
    base: dict[str, Any] = {
        "type": kind,
        "id": uuid.uuid4().hex,
        "ts": ts,
        "request_id": request_id,
        "start_ts": ts - 1.0,
    }
    if kind == "llm_call":
        base.update(
            model="gpt-4o",
            provider="openai",
            input_tokens=100,
            output_tokens=20,
            duration_ms=900.0,
            stream=True,
            ttft_ms=200.0,
        )
    elif kind == "tool_call":
        base.update(tool="web_search", duration_ms=120.0)
    else:
        base.update(duration_ms=1500.0, status="ok", steps=2)
    base.update(fields)
    return base
