"""A newcomer's first hour, as a test: fresh clone, demo, serve, the README's curl and SDK example.

Paths: ``git clone`` of this repository into a temporary directory (the current virtualenv is
reused, with the clone first on ``PYTHONPATH``); ``agent-sidecar demo --no-serve`` (what ``make
demo`` runs, ending after its summary) on its own ``./data/demo.db``; ``agent-sidecar serve`` on
the default ``./data/sidecar.db``, which the demo left alone; the README's ``curl`` block and
its Python SDK example (``openai`` against a fake OpenAI-compatible provider on loopback). Every
line any of them printed is captured: no traceback, no SQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp

from tests.conftest import REPO, free_port
from tests.docs.examples import examples
from tests.runtime.fake_openai import FakeOpenAI

SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|CREATE (TABLE|INDEX)|PRAGMA|BEGIN"
                 r"( \(implicit\))?$|COMMIT$|ROLLBACK$)")  # fmt: skip


def clean_env(clone: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIDECAR_", "OPENAI_"))}
    env["PYTHONPATH"] = str(clone)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def assert_clean(name: str, text: str) -> None:
    assert "Traceback" not in text, f"{name} printed a traceback:\n{text[-3000:]}"
    sql = [line for line in text.splitlines() if SQL.search(line)]
    assert not sql, f"{name} printed SQL:\n" + "\n".join(sql[:20])


class Serve:
    """``agent-sidecar serve`` in the clone, its output drained into :attr:`output`."""

    def __init__(self, clone: Path, port: int) -> None:
        self.output: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve", "--port", str(port)], cwd=clone,
            env=clean_env(clone), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if "listening on" in line:
                self.ready.set()
        self.ready.set()

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(30)
        return "".join(self.output)


def test_fresh_clone_demo_serve_curl_and_sdk(tmp_path: Path) -> None:
    clone = tmp_path / "agent-sidecar"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    env = clean_env(clone)
    captured: dict[str, str] = {}

    demo = subprocess.run(
        [sys.executable, "-m", "sidecar", "demo", "--no-serve", "--runs", "120",
         "--port", str(free_port())],
        cwd=clone, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    captured["demo"] = demo.stdout + demo.stderr
    assert demo.returncode == 0, captured["demo"][-3000:]
    assert "0 lost by the client" in demo.stdout and "Console: http://" in demo.stdout
    assert (clone / "data" / "demo.db").exists()
    assert not (clone / "data" / "sidecar.db").exists(), "the demo wrote the serve database"

    port = free_port()
    serve = Serve(clone, port)
    try:
        assert serve.ready.wait(60) and serve.proc.poll() is None, "".join(serve.output)
        readme = examples(clone / "README.md")
        (curl,) = [e for e in readme if e.kind == "shell" and "curl" in e.code and not e.not_run]
        (sdk,) = [e for e in readme if e.kind == "python"]
        done = subprocess.run(
            ["bash", "-c", "set -eo pipefail\n" + curl.code.replace("8787", str(port))],
            cwd=clone, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        captured["curl"] = done.stdout + done.stderr
        assert done.returncode == 0 and '"accepted":1' in done.stdout, captured["curl"]
        captured["sdk"] = asyncio.run(run_sdk(sdk.code, clone, env, port))
        assert "30 days" in captured["sdk"], captured["sdk"]
        stored = asyncio.run(count_events(port))
        assert stored >= 3  # the curl's event, the SDK's llm_call, tool_call and run
    finally:
        captured["serve"] = serve.stop()
    assert f"listening on http://localhost:{port}" in captured["serve"], captured["serve"]
    for name, text in captured.items():
        assert_clean(name, text)


async def run_sdk(code: str, clone: Path, env: dict[str, str], port: int) -> str:
    provider = await FakeOpenAI().start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, cwd=clone,
            env={**env, "SIDECAR_URL": f"http://127.0.0.1:{port}",
                 "OPENAI_BASE_URL": provider.url, "OPENAI_API_KEY": "sk-test-not-a-key"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()
        return out.decode()
    finally:
        await provider.close()


async def count_events(port: int) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/v1/aggregate") as response:
            assert response.status == 200
            return int((await response.json())["total"]["count"])
