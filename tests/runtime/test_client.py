"""The runtime SDK against a real sidecar over loopback."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from runtime import SidecarClient, SyncSidecarClient, wrap_openai
from tests.conftest import RunningSidecar, SidecarProcess, free_port


async def fetch_events(http: Any, url: str, **params: Any) -> list[dict[str, Any]]:
    async with http.get(url + "/v1/events", params={"order": "asc", **params}) as response:
        return (await response.json())["events"]


async def test_run_llm_and_tool_contexts_emit_linked_events(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with SidecarClient(sidecar.url, agent="bot") as client:
        async with client.run(user_id="u-7", session_id="s-1") as run:
            async with run.llm_call("gpt-4o", "openai", stream=True) as call:
                call.chunk("")  # a role-only delta does not count as the first token
                await asyncio.sleep(0.02)
                call.chunk("Hello")
                call.chunk(" world")
                call.set_usage(input_tokens=12, output_tokens=2)
            async with run.tool_call("search", args={"q": "x"}) as tool:
                tool.set_result({"hits": 3})
    events = await fetch_events(http, sidecar.url)
    llm, tool_event, run_event = events
    assert [e["type"] for e in events] == ["llm_call", "tool_call", "run"]
    assert {e["request_id"] for e in events} == {run.request_id}
    assert {e["trace_id"] for e in events} == {run.trace_id}
    assert llm["parent_span_id"] == run_event["span_id"] == tool_event["parent_span_id"]
    assert llm["ttft_ms"] >= 20.0 and llm["duration_ms"] >= llm["ttft_ms"]
    assert (llm["input_tokens"], llm["output_tokens"], llm["stream"]) == (12, 2, True)
    assert llm["agent"] == "bot" and llm["user_id"] == "u-7" and llm["session_id"] == "s-1"
    assert run_event["steps"] == 2 and run_event["status"] == "ok"


async def test_an_exception_is_recorded_and_reraised_untouched(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with SidecarClient(sidecar.url) as client:
        with pytest.raises(KeyError):
            async with client.run() as run:
                async with run.tool_call("lookup"):
                    raise KeyError("missing")
    tool, run_event = await fetch_events(http, sidecar.url)
    assert tool["status"] == "error" and tool["error_type"] == "KeyError"
    assert run_event["status"] == "error"


async def test_an_unreachable_sidecar_never_raises_and_drops_are_counted() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = SidecarClient(dead, max_retries=1, max_queue=5, batch_size=2, timeout_s=0.5)
    async with client:
        for _ in range(3):
            async with client.run() as run:
                async with run.llm_call("m", "p"):
                    pass
    assert client.stats.emitted == 5
    assert client.stats.dropped_queue_full == 1
    assert client.stats.dropped_after_retries == 5
    assert client.stats.sent == 0


async def test_rejected_batches_are_counted_not_raised(sidecar: RunningSidecar) -> None:
    async with SidecarClient(sidecar.url) as client:
        client.emit({"type": "llm_call", "ts": 1.0})  # missing fields: 422
    assert client.stats.rejected == 1 and client.stats.sent == 0


def test_sync_client_delivers_from_plain_threads(tmp_path: Path) -> None:
    sidecar = SidecarProcess(f"sqlite+aiosqlite:///{tmp_path / 's.db'}").start()
    try:
        with SyncSidecarClient(sidecar.url) as client:
            with client.run(agent="sync-bot") as run:
                with run.llm_call("gpt-4o-mini", "openai") as call:
                    call.set_usage(3, 4)
                with run.tool_call("calc"):
                    pass
        assert client.stats.sent == 3
        with urllib.request.urlopen(sidecar.url + "/v1/aggregate?group_by=model") as response:
            body = json.load(response)
        assert body["groups"][0]["model"] == "gpt-4o-mini"
        assert body["total"]["output_tokens"] == 4
    finally:
        sidecar.stop()


class FakeCompletions:
    """An OpenAI-compatible provider, faked (it is outside the system under test)."""

    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async
        self.kwargs: dict[str, Any] = {}

    def _chunks(self) -> list[Any]:
        def chunk(content: Any, reason: Any = None, usage: Any = None, choices: bool = True) -> Any:
            delta = SimpleNamespace(content=content)
            return SimpleNamespace(
                model="gpt-4o-2024-08-06",
                usage=usage,
                choices=[SimpleNamespace(delta=delta, finish_reason=reason)] if choices else [],
            )

        usage = SimpleNamespace(
            prompt_tokens=30,
            completion_tokens=2,
            prompt_tokens_details=SimpleNamespace(cached_tokens=10),
        )
        return [
            chunk(""),
            chunk("Hi"),
            chunk(" there"),
            chunk(None, "stop"),
            chunk(None, usage=usage, choices=False),
        ]

    def _response(self) -> Any:
        return {
            "model": "gpt-4o-mini",
            "usage": {"prompt_tokens": 50, "completion_tokens": 7},
            "choices": [{"message": {"content": "ok"}, "finish_reason": "length"}],
        }

    def create(self, **kwargs: Any) -> Any:
        self.kwargs = kwargs
        if self.is_async:
            return self._acreate(**kwargs)
        if kwargs.get("stream"):
            return iter(self._chunks())
        return self._response()

    async def _acreate(self, **kwargs: Any) -> Any:
        if kwargs.get("stream"):

            async def gen() -> Any:
                for item in self._chunks():
                    await asyncio.sleep(0.001)
                    yield item

            return gen()
        return self._response()


def fake_openai(is_async: bool) -> Any:
    return SimpleNamespace(
        chat=SimpleNamespace(completions=FakeCompletions(is_async)), models="passthrough"
    )


@pytest.mark.parametrize("is_async", [True, False])
async def test_openai_wrapper_streaming_and_plain(
    sidecar: RunningSidecar, http: aiohttp.ClientSession, is_async: bool
) -> None:
    async with SidecarClient(sidecar.url) as client:
        wrapped = wrap_openai(fake_openai(is_async), client)
        assert wrapped.models == "passthrough"
        async with client.run(agent="wrapped"):
            messages = [{"role": "user", "content": "hi"}]
            if is_async:
                stream = await wrapped.chat.completions.create(
                    model="gpt-4o", messages=messages, stream=True
                )
                chunks = [c async for c in stream]
                await wrapped.chat.completions.create(model="gpt-4o-mini", messages=messages)
            else:
                chunks = list(
                    wrapped.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
                )
                wrapped.chat.completions.create(model="gpt-4o-mini", messages=messages)
        assert len(chunks) == 5
        inner = wrapped.chat.completions._inner
        assert inner.kwargs["model"] == "gpt-4o-mini"
        assert "stream_options" not in inner.kwargs
    streamed, plain, _run = await fetch_events(http, sidecar.url)
    # The model asked for stays the model; the snapshot that answered is its own field.
    assert streamed["model"] == "gpt-4o" and streamed["stream"] is True
    assert streamed["response_model"] == "gpt-4o-2024-08-06" and "usage_unknown" not in streamed
    assert plain["model"] == "gpt-4o-mini" and plain["response_model"] == "gpt-4o-mini"
    assert (streamed["input_tokens"], streamed["output_tokens"]) == (30, 2)
    assert streamed["cached_input_tokens"] == 10 and streamed["finish_reason"] == "stop"
    assert streamed["ttft_ms"] is not None and streamed["ttft_ms"] <= streamed["duration_ms"]
    assert (plain["input_tokens"], plain["output_tokens"]) == (50, 7)
    assert plain["finish_reason"] == "length" and "ttft_ms" not in plain


async def test_openai_wrapper_marks_a_stream_without_usage(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    """The caller turned usage off (``stream_options`` without ``include_usage``): the event
    says usage is unknown instead of reporting 0 tokens as a fact."""
    fake = fake_openai(False)
    chunks = fake.chat.completions._chunks()[:-1]  # no usage chunk
    fake.chat.completions.create = lambda **kwargs: iter(chunks)
    async with SidecarClient(sidecar.url) as client:
        wrapped = wrap_openai(fake, client)
        async with client.run(agent="wrapped"):
            list(
                wrapped.chat.completions.create(
                    model="gpt-4o", messages=[], stream=True, stream_options={}
                )
            )
    (call,) = [e for e in await fetch_events(http, sidecar.url) if e["type"] == "llm_call"]
    assert call["usage_unknown"] is True and (call["input_tokens"], call["output_tokens"]) == (0, 0)
    assert call["model"] == "gpt-4o" and call["response_model"] == "gpt-4o-2024-08-06"
