"""Content reaches spans only when capture_content is on, and then exactly as given."""

from __future__ import annotations

import json
from typing import Any

from sidecar.telemetry.config import TracesConfig

from .receivers import attrs
from .sample_events import CANARY, export_sample_run


async def _export_sample_run(receiver: Any, capture: bool) -> None:
    config = TracesConfig(
        enabled=True,
        protocol="http/protobuf",
        endpoint=receiver.endpoint,
        timeout_s=5.0,
        schedule_delay_ms=50.0,
        capture_content=capture,
    )
    await export_sample_run(config, receiver)


async def test_no_content_by_default(http_receiver: Any) -> None:
    await _export_sample_run(http_receiver, capture=False)
    # Nothing of any content field, error message or string attribute is on the wire.
    raw = b"".join(http_receiver.raw_bodies)
    assert CANARY.encode() not in raw
    assert b"canary" not in raw
    for span in http_receiver.spans():
        names = set(attrs(span))
        assert not names & {
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
            "team",
        }


async def test_content_as_given_when_enabled(http_receiver: Any) -> None:
    await _export_sample_run(http_receiver, capture=True)
    by_name = {span.name: attrs(span) for span in http_receiver.spans()}
    chat = by_name["chat gpt-4o"]
    assert json.loads(chat["gen_ai.input.messages"]) == [{"role": "user", "content": CANARY}]
    assert chat["gen_ai.output.messages"] == CANARY
    assert chat["team"] == CANARY
    search = by_name["execute_tool search"]
    assert json.loads(search["gen_ai.tool.call.arguments"]) == {"q": CANARY}
    assert search["gen_ai.tool.call.result"] == CANARY
    failed = {span.name: span for span in http_receiver.spans()}["execute_tool fetch"]
    assert failed.status.message == f"TimeoutError: {CANARY}"
