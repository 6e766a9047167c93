"""The README's SDK example, run as written against a sidecar and a fake OpenAI provider.

Paths: the SDK (``SidecarClient``, ``run.admit_llm``, ``wrap_openai`` over the real ``openai``
package, streaming with usage, ``tool_call``, ``cached``) → ``POST /v1/admit``, ``POST
/v1/events`` (the llm_call carrying the run's reservation), ``/v1/cache/*``; a fake
OpenAI-compatible provider on loopback (real aiohttp, server-sent events). Right after the
program exits, ``GET /v1/usage`` shows no hold left and exactly the tokens the provider reported.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp

from tests.conftest import REPO, make_settings, start_sidecar
from tests.runtime.fake_openai import FakeOpenAI

BUDGET = {"policies": [{"scope": "user", "id": "*", "window": "1d", "max_tokens": 3000}]}


def readme_sdk_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("Instrument an agent with the Python SDK") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README has no Python SDK example"
    return match.group(1)


async def run_example(code: str, sidecar_url: str, provider_url: str) -> str:
    env = {**os.environ, "SIDECAR_URL": sidecar_url, "OPENAI_BASE_URL": provider_url,
           "OPENAI_API_KEY": "sk-test-not-a-key", "PYTHONPATH": str(REPO)}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_readme_sdk_example_settles_what_the_provider_reported(tmp_path: Path) -> None:
    provider = await FakeOpenAI().start()
    running, runner = await start_sidecar(make_settings(tmp_path, budgets=BUDGET))
    try:
        out = await run_example(readme_sdk_example(), running.url, provider.url)
        assert "Refunds are accepted within 30 days." in out and "30 days" in out
        async with aiohttp.ClientSession() as http:
            async with http.get(running.url + "/v1/usage/user/u-42") as resp:
                usage = await resp.json()
        assert len(provider.reported) == 1
        assert usage["tokens_reserved"] == 0
        assert usage["tokens_used"] == provider.tokens > 0
        stats = running.parts.ledger.stats()  # type: ignore[union-attr]
        assert (stats["settles"], stats["expired"], stats["open_reservations"]) == (1, 0, 0)
    finally:
        await runner.cleanup()
        await provider.close()


async def test_the_example_runs_again_and_again_within_the_budget(tmp_path: Path) -> None:
    """Issue case 2: each run's hold (800 + 512 tokens) is settled at the actual usage, so a
    3,000-token budget takes many runs, not two (holds alone used to deny the third)."""
    provider = await FakeOpenAI().start()
    running, runner = await start_sidecar(make_settings(tmp_path, budgets=BUDGET))
    try:
        code = readme_sdk_example()
        for _ in range(4):
            out = await run_example(code, running.url, provider.url)
            assert "Budget reached" not in out, out
        async with aiohttp.ClientSession() as http:
            async with http.get(running.url + "/v1/usage/user/u-42") as resp:
                usage = await resp.json()
        assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, provider.tokens)
    finally:
        await runner.cleanup()
        await provider.close()
