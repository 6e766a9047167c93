"""Footprint: what one sidecar costs in every pod on the default configuration.

`agent-sidecar serve` runs as a child process with a fresh SQLite file and nothing else set.
Start-to-ready is process start (``Popen``) to the first ``/ready`` answering 200, polled every
5 ms. RSS and threads come from ``/proc/<pid>/status``; CPU per ingested event is the server's
user + system time (``/proc/<pid>/stat``) over 100k events posted as NDJSON batches of 500 by
4 senders, divided by the events. The cache figure stores 100k exact-tier entries through
``/v1/cache/store/batch``.

The measured starts run with the sidecar's bytecode compiled, as an installed package runs
(``pip install`` compiles it): a first start, not counted, writes it (``PYTHONDONTWRITEBYTECODE``
is dropped from the child's environment); that first start's time is reported beside them.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import msgspec

from bench.bench_ingest import BATCH, event_batches
from bench.harness import ROOT, free_port, median

_TICK = os.sysconf("SC_CLK_TCK")
_NOT_PASSED = ("SIDECAR_", "PYTHONDONTWRITEBYTECODE")


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def rss_mb(pid: int) -> float:
    return int(_status(pid)["VmRSS"].split()[0]) / 1024


def threads(pid: int) -> int:
    return int(_status(pid)["Threads"])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _ready(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/ready")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class Sidecar:
    """``agent-sidecar serve`` on the default configuration, in its own process."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(_NOT_PASSED)},
            "SIDECAR_PORT": str(self.port),
            "SIDECAR_DB_URL": f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s = float("nan")
        self.ready_cpu_s = float("nan")

    def __enter__(self) -> Sidecar:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve"], env=self.env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = started + 60
        while not _ready(self.port):
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("the sidecar did not become ready")
            time.sleep(0.005)
        self.ready_s = time.perf_counter() - started
        self.ready_cpu_s = cpu_seconds(self.proc.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _cache_batches(count: int, per: int = 1000) -> list[bytes]:
    out = []
    for b in range(count):
        entries = [
            {"namespace": "bench", "key": f"question {b}-{i}: what is the status of order "
             f"{b * per + i}?", "value": {"answer": f"order {b * per + i} shipped"},
             "user_id": f"user-{i % 97}", "model": "gpt-4o"}
            for i in range(per)
        ]  # fmt: skip
        out.append(msgspec.json.encode({"entries": entries}))
    return out


async def _post_all(url: str, bodies: list[bytes], content_type: str, senders: int = 4) -> None:
    queue = list(reversed(bodies))
    headers = {"Content-Type": content_type}

    async def sender(session: aiohttp.ClientSession) -> None:
        while queue:
            body = queue.pop()
            async with session.post(url, data=body, headers=headers) as response:
                if response.status >= 300:
                    raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
                await response.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(sender(session) for _ in range(senders)))


def _settle(pid: int, seconds: float) -> None:
    """Let background warm-up finish; the RSS read after it is the idle figure."""
    time.sleep(seconds)


def measure(tmp: Path, events: int, cache_entries: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with Sidecar(tmp) as sidecar:
        figures["ready_s"] = sidecar.ready_s
        _settle(sidecar.pid, 3.0)
        figures["rss_idle"] = rss_mb(sidecar.pid)
        figures["threads_idle"] = threads(sidecar.pid)
        cpu = cpu_seconds(sidecar.pid)
        bodies = event_batches(events // BATCH)
        asyncio.run(_post_all(sidecar.url + "/v1/events", bodies, "application/x-ndjson"))
        figures["cpu_us_per_event"] = (cpu_seconds(sidecar.pid) - cpu) / events * 1e6
        _settle(sidecar.pid, 1.0)
        figures["rss_events"] = rss_mb(sidecar.pid)
        figures["threads_busy"] = threads(sidecar.pid)
    with Sidecar(tmp) as sidecar:
        bodies = _cache_batches(cache_entries // 1000)
        asyncio.run(_post_all(sidecar.url + "/v1/cache/store/batch", bodies, "application/json"))
        _settle(sidecar.pid, 1.0)
        figures["rss_cache"] = rss_mb(sidecar.pid)
    return figures


def starts(tmp: Path, rounds: int) -> tuple[list[float], list[float], float]:
    """Wall and CPU seconds from process start to the first ``/ready`` 200, per start, with
    the bytecode compiled; and the wall seconds of the first start, which compiles it (when no
    earlier run did)."""
    with Sidecar(tmp) as first:
        compiling = first.ready_s
    wall, cpu = [], []
    for _ in range(rounds):
        with Sidecar(tmp) as sidecar:
            wall.append(sidecar.ready_s)
            cpu.append(sidecar.ready_cpu_s)
    return wall, cpu, compiling


def run(quick: bool = False) -> str:
    events, cache_entries, rounds = (20_000, 10_000, 3) if quick else (100_000, 100_000, 7)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ready, ready_cpu, first_start = starts(tmp, rounds)
        figures = measure(tmp, events, cache_entries)
    rows = [
        (
            f"start-to-ready (process start to `/ready` 200), median of {rounds}",
            f"{median(ready):.2f} s",
            "≤ 0.7 s",
        ),
        (
            "CPU (user + system) of the sidecar from process start to ready, median",
            f"{median(ready_cpu):.2f} s",
            "",
        ),
        (
            "first start-to-ready, compiling the bytecode when none is there yet",
            f"{first_start:.2f} s",
            "",
        ),
        ("RSS idle (3 s after ready)", f"{figures['rss_idle']:.1f} MB", "≤ 60 MB"),
        (f"RSS after {events:,} ingested events", f"{figures['rss_events']:.1f} MB", "≤ 90 MB"),
        (
            f"RSS after {cache_entries:,} cache entries (exact tier)",
            f"{figures['rss_cache']:.1f} MB",
            "",
        ),
        (
            "CPU per ingested event (server user + system)",
            f"{figures['cpu_us_per_event']:.1f} µs",
            "",
        ),
        (
            "threads idle / while ingesting",
            f"{figures['threads_idle']:.0f} / {figures['threads_busy']:.0f}",
            "",
        ),
    ]
    lines = [
        "## Footprint",
        "",
        "`agent-sidecar serve` on the default configuration (a fresh SQLite file, nothing else "
        "set) in its own process. Start-to-ready is process start to the first `/ready` 200; "
        f"RSS and threads from `/proc/<pid>/status`; CPU over {events:,} events posted as NDJSON "
        f"batches of {BATCH} by 4 senders. Start-to-ready ranged "
        f"{min(ready):.2f}-{max(ready):.2f} s; on a shared machine the wall time includes "
        "waiting for a core, which the CPU figure does not. The measured starts find the "
        "sidecar's bytecode compiled, as an installed package does (`pip install` compiles it; "
        "a first start, not counted, writes it here). Command: `python -m bench footprint`.",
        "",
        "| figure | value | target |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {value} | {target} |" for label, value, target in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
