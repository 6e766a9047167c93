"""Shared fixtures: real sidecars on loopback over real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sidecar.app import COMPONENTS, Components, create_app
from sidecar.config import Settings, load_settings
from sidecar.server import start_runner

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("SIDECAR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(available: bool, reason: str) -> None:
    """Skip when a service is missing on a laptop; fail under CI=true, where it must exist."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database("sidecar_t") as url:
        yield url


@contextlib.contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """Create a PostgreSQL database named ``<prefix>_<random>``; drop it on exit."""
    require_service(_pg_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    import asyncio

    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class RunningSidecar:
    url: str
    app: web.Application
    settings: Settings

    @property
    def parts(self) -> Components:
        return self.app[COMPONENTS]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    data: dict[str, Any] = {"db_url": f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"}
    data.update(overrides)
    return load_settings(env={}, overrides=data)


async def start_sidecar(settings: Settings) -> tuple[RunningSidecar, web.AppRunner]:
    app = create_app(settings)
    runner = await start_runner(app, settings, host="127.0.0.1", port=0)
    port = runner.addresses[0][1]
    return RunningSidecar(f"http://127.0.0.1:{port}", app, settings), runner


@pytest.fixture
async def sidecar(tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    """A sidecar in this test's event loop, on loopback, over a fresh SQLite file."""
    running, runner = await start_sidecar(make_settings(tmp_path))
    try:
        yield running
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def llm_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "llm_call",
        "id": uuid.uuid4().hex,
        "ts": 1_795_000_000.0,
        "request_id": "req-1",
        "user_id": "u-1",
        "model": "gpt-4o",
        "provider": "openai",
        "input_tokens": 100,
        "output_tokens": 20,
        "start_ts": 1_795_000_000.0,
        "duration_ms": 850.0,
        "stream": True,
        "ttft_ms": 210.0,
        "status": "ok",
    }
    event.update(fields)
    return event


def tool_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "tool_call",
        "id": uuid.uuid4().hex,
        "ts": 1_795_000_001.0,
        "request_id": "req-1",
        "user_id": "u-1",
        "tool": "web_search",
        "start_ts": 1_795_000_001.0,
        "duration_ms": 120.0,
        "status": "ok",
    }
    event.update(fields)
    return event


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SidecarProcess:
    """``agent-sidecar serve`` in a child process, for kill -9 and signal tests."""

    def __init__(self, db_url: str, *, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        self.env = {
            **os.environ,
            **(env or {}),
            "SIDECAR_DB_URL": db_url,
            "SIDECAR_PORT": str(self.port),
            "SIDECAR_HOST": "127.0.0.1",
        }
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._ready = threading.Event()

    def start(self, timeout: float = 30.0) -> SidecarProcess:
        """Start and wait for the log line aiohttp triggers once the socket is bound."""
        self.output = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError("sidecar did not start:\n" + "".join(self.output))
        if self.proc.poll() is not None:
            raise RuntimeError(f"sidecar exited with {self.proc.returncode}: {self.log}")
        return self

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        ready = self._ready  # this start's event: a killed predecessor's EOF must not set it
        for line in proc.stdout:
            if proc is self.proc:
                self.output.append(line)
            if "listening on" in line:
                ready.set()
        ready.set()  # exited: wake the waiter, which checks poll()

    @property
    def log(self) -> str:
        return "".join(self.output)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
