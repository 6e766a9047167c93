"""The SDK's static surface: what an editor and mypy see.

Paths: the context managers (``with`` and ``async with``) return their own type, admission
returns a :class:`runtime.Grant`, ``wrap_openai`` returns the type it wraps, the sync client has
an explicit signature, and a status the sidecar would refuse is caught before it is queued.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from runtime import SidecarClient

_USAGE = textwrap.dedent(
    """
    from typing import assert_type

    from openai import AsyncOpenAI

    from runtime import Grant, LlmCallContext, RunContext, SidecarClient, SyncSidecarClient
    from runtime import ToolCallContext, wrap_openai


    async def agent(sidecar: SidecarClient) -> None:
        openai = wrap_openai(AsyncOpenAI(api_key="x"), sidecar)
        assert_type(openai, AsyncOpenAI)
        async with sidecar.run(user_id="u") as run:
            assert_type(run, RunContext)
            grant = await run.admit_llm("gpt-4o", input_tokens=10)
            assert_type(grant, Grant)
            assert_type(grant.reservation_id, str | None)
            async with run.llm_call("gpt-4o") as call:
                assert_type(call, LlmCallContext)
                call.chunk("hi")
            with run.tool_call("search") as tool:
                assert_type(tool, ToolCallContext)
                tool.set_result([1])


    def sync_agent() -> None:
        with SyncSidecarClient(agent="a", timeout_s=1.0) as sidecar:
            run = sidecar.run(user_id="u")
            assert_type(sidecar.admit_llm(run, "gpt-4o"), Grant)
    """
)

_MISUSE = textwrap.dedent(
    """
    from runtime import SidecarClient, SyncSidecarClient


    def bad(sidecar: SidecarClient) -> None:
        sidecar.run().record_llm_call(model="m", provider="p", start_ts=0.0, duration_ms=1.0,
                                      input_tokens=1, output_tokens=1, status="failure")
        SyncSidecarClient(timeout=3)
    """
)


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    module = tmp_path / "usage.py"
    module.write_text(source)
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(module)]
    )
    return out + err, status


def test_contexts_admission_and_wrapper_are_typed(tmp_path: Path) -> None:
    report, status = _mypy(tmp_path, _USAGE)
    assert status == 0, report


def test_mypy_refuses_a_status_and_an_option_the_sidecar_does_not_know(tmp_path: Path) -> None:
    report, status = _mypy(tmp_path, _MISUSE)
    assert status == 1
    assert 'Argument "status" to "record_llm_call"' in report
    assert 'Unexpected keyword argument "timeout" for "SyncSidecarClient"' in report


def test_an_unknown_status_raises_before_it_is_queued() -> None:
    run = SidecarClient("http://127.0.0.1:9").run(user_id="u")
    with pytest.raises(ValueError, match="status"):
        run.record_llm_call(
            model="m",
            provider="p",
            start_ts=0.0,
            duration_ms=1.0,
            input_tokens=1,
            output_tokens=1,
            status="failure",  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="status"):
        run.record_tool_call(tool="t", start_ts=0.0, duration_ms=1.0, status="fail")  # type: ignore[arg-type]
