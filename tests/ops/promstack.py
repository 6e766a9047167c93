"""A real Prometheus and a real Alertmanager as child processes, and a webhook receiver.

Each runs on free loopback ports with its own temp directory; readiness and every later
condition are awaited by polling the HTTP APIs with a deadline, never by sleeping.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml
from aiohttp import web

from tests.conftest import free_port, require_service

T = TypeVar("T")


def binary(*names: str) -> str:
    """The first of ``names`` on PATH; skips (fails under CI=true) when none is installed."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    require_service(False, f"{' / '.join(names)} not installed (make tools)")
    raise AssertionError("unreachable")


async def until(probe: Callable[[], Awaitable[T | None]], *, timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = await probe()
            if result:
                return result
            last = result
        except aiohttp.ClientError as exc:  # not listening yet: keep polling
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {last!r}")
        await asyncio.sleep(0.25)  # poll interval between probes, not a synchronisation


class ChildService:
    """A daemon started from a test: a port, a temp dir, its output kept for failure messages."""

    name = "service"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "output.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.dir
        )

    async def ready(self, http: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        async def probe() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log}")
            async with http.get(self.url + "/-/ready") as response:
                return response.status == 200

        await until(probe, timeout=timeout, what=f"{self.name} ready")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Prometheus(ChildService):
    name = "prometheus"

    def __init__(
        self, workdir: Path, *, scrape: list[str], rules: list[dict[str, Any]], alertmanager: str
    ) -> None:
        super().__init__(workdir)
        (self.dir / "rules.yml").write_text(yaml.safe_dump({"groups": rules}, sort_keys=False))
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": ["rules.yml"],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [
                {"job_name": "agent-sidecar", "static_configs": [{"targets": scrape}]}
            ],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    def argv(self) -> list[str]:
        return [
            binary("prometheus"),
            f"--config.file={self.dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    async def query(self, http: aiohttp.ClientSession, expr: str) -> dict[str, Any]:
        async with http.post(self.url + "/api/v1/query", data={"query": expr}) as response:
            return await response.json()

    async def query_range(
        self, http: aiohttp.ClientSession, expr: str, *, seconds: float, step: float = 1.0
    ) -> dict[str, Any]:
        end = time.time()
        form = {
            "query": expr,
            "start": f"{end - seconds:.3f}",
            "end": f"{end:.3f}",
            "step": str(step),
        }
        async with http.post(self.url + "/api/v1/query_range", data=form) as response:
            return await response.json()

    async def alerts(self, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        async with http.get(self.url + "/api/v1/alerts") as response:
            return (await response.json())["data"]["alerts"]


class Alertmanager(ChildService):
    name = "alertmanager"

    def __init__(self, workdir: Path, *, webhook: str) -> None:
        super().__init__(workdir)
        config = {
            "route": {
                "receiver": "test-webhook",
                "group_by": ["alertname"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "test-webhook",
                    "webhook_configs": [{"url": webhook, "send_resolved": False}],
                }
            ],
        }
        (self.dir / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    def argv(self) -> list[str]:
        return [
            binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={self.dir / 'alertmanager.yml'}",
            f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]


class WebhookReceiver:
    """Alertmanager's webhook target: keeps every notification it is sent."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def receive(request: web.Request) -> web.Response:
            self.notifications.append(await request.json())
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/alerts", receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/alerts"

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for n in self.notifications for alert in n.get("alerts", [])]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
