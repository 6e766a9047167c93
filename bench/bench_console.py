"""The console's first load: server time and bytes transferred for the overview on a demo
database, in Debian's Chromium (cold: a new browser context each time, so nothing is cached).

Run: ``python -m bench console`` (``--quick`` for fewer runs and loads).

- Server time: how long the sidecar was busy with the load, the union of its handler times for
  every request of it (the page, its style sheet, scripts and icon, and the JSON it asks for,
  four API requests at once), measured by a middleware around the app until the view has
  drawn. The sum of the handler times (which counts twice the time concurrent requests wait
  for each other) is given beside it. A static file, served from memory, is the floor.
- Transferred: the browser's Resource Timing ``transferSize`` of the navigation and of every
  resource (headers included, after gzip).
- Bars: at most 200 ms of server time and 500 KB transferred.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.harness import free_port
from runtime import SidecarClient
from sidecar.app import create_app
from sidecar.config import load_settings
from sidecar.demo_workload import Workload
from sidecar.server import start_runner

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_BAR_MS = 200.0
BYTES_BAR = 500_000


class Timings:
    """Each request's path, start and end (perf_counter seconds), appended by the middleware."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, float, float]] = []

    def middleware(self) -> Any:
        @web.middleware
        async def timed(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            started = time.perf_counter()
            try:
                return await handler(request)
            finally:
                self.requests.append((request.path, started, time.perf_counter()))

        return timed


class Server:
    """The sidecar in a thread with its own event loop, loaded with the demo workload."""

    def __init__(self, db: Path, runs: int, users: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timings = Timings()
        self.loop = asyncio.new_event_loop()
        self._runs, self._users = runs, users
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._settings = load_settings(
            env={}, overrides={"db_url": f"sqlite+aiosqlite:///{db}", "port": self.port}
        )
        self._thread = threading.Thread(target=self._main, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        if not self._ready.wait(600):
            raise RuntimeError("the sidecar did not start and load")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _main(self) -> None:
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = create_app(self._settings)
        app.middlewares.insert(0, self.timings.middleware())
        runner = await start_runner(app, self._settings, host="127.0.0.1", port=self.port)
        try:
            await self._load()
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def _load(self) -> None:
        async with SidecarClient(self.url) as client:
            workload = Workload(client, users=self._users, seed=7)
            for start in range(0, self._runs, 20):
                await asyncio.gather(
                    *(workload.one_run(i) for i in range(start, min(start + 20, self._runs)))
                )
            await client.flush()


def _cold_load(browser: Any, server: Server) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    first = len(server.timings.requests)
    page.goto(server.url + "/ui/#/overview")
    page.wait_for_selector('.content[data-view="overview"][data-loaded]', timeout=30_000)
    sizes = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation').map((e) => e.transferSize);
        const res = performance.getEntriesByType('resource').map((e) => e.transferSize);
        return [...nav, ...res];
    }""")
    time.sleep(0.05)
    context.close()
    requests = [
        (path, (end - start) * 1000, start, end)
        for path, start, end in server.timings.requests[first:]
    ]
    static = [ms for path, ms, _, _ in requests if not path.startswith("/v1/")]
    return {
        "server_ms": _union_ms([(start, end) for _, _, start, end in requests]),
        "summed_ms": sum(ms for _, ms, _, _ in requests),
        "static_ms": statistics.median(static) if static else 0.0,
        "requests": [(path, ms) for path, ms, _, _ in requests],
        "bytes": sum(sizes),
    }


def _union_ms(spans: list[tuple[float, float]]) -> float:
    busy, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return busy * 1000


def run(quick: bool = False) -> str:
    runs, loads = (200, 3) if quick else (600, 7)
    title = "## Console: the overview's first load\n"
    if not CHROMIUM.exists():
        return title + "\nSkipped: Debian's chromium is not installed (`make tools`).\n"
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "demo.db", runs, 40) as server:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                _cold_load(browser, server)  # first ever: the bundle is read and compressed
                samples = [_cold_load(browser, server) for _ in range(loads)]
            finally:
                browser.close()
    server_ms = statistics.median(s["server_ms"] for s in samples)
    summed_ms = statistics.median(s["summed_ms"] for s in samples)
    worst_ms = max(s["server_ms"] for s in samples)
    sent = statistics.median(s["bytes"] for s in samples)
    floor = statistics.median(s["static_ms"] for s in samples)
    middle = sorted(samples, key=lambda s: s["server_ms"])[len(samples) // 2]
    per_route: dict[str, float] = {}
    for path, ms in middle["requests"]:
        key = path if path.startswith("/v1/") or path == "/health" else "static files"
        per_route[key] = per_route.get(key, 0.0) + ms
    lines = [
        title,
        f"Demo database: {runs} simulated runs through the runtime SDK (SQLite). {loads} cold "
        "loads of `/ui/#/overview` in Chromium, each in a new browser context (empty cache), "
        "after one load that reads the bundle. Server time is how long the sidecar was busy "
        "with the load's requests (the union of their handler times); bytes are the browser's "
        "`transferSize` (gzip, headers included). Provisional: other jobs share these 2 "
        "cores.\n",
        "| measure | median | worst | bar |",
        "|---|---|---|---|",
        f"| server time per first load (busy) | {server_ms:.1f} ms | {worst_ms:.1f} ms | "
        f"≤ {SERVER_BAR_MS:.0f} ms |",
        f"| handler times summed | {summed_ms:.1f} ms | | |",
        f"| transferred per first load | {sent / 1000:.1f} KB | "
        f"{max(s['bytes'] for s in samples) / 1000:.1f} KB | ≤ {BYTES_BAR / 1000:.0f} KB |",
        f"| requests per first load | {len(middle['requests'])} | | |",
        "",
        f"Floor: a static file costs {floor:.2f} ms of server time (median); the whole load "
        f"costs {server_ms / floor:.0f}x that."
        if floor
        else "",
        "",
        "| request (median load) | handler time |",
        "|---|---|",
        *(
            f"| `{path}` | {ms:.1f} ms |"
            for path, ms in sorted(per_route.items(), key=lambda kv: -kv[1])
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv))
