"""Helpers shared by the benchmarks: child-process servers, latency statistics."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ChildServer:
    """A server in its own process (its own core), ready once it prints ``ready_marker``."""

    def __init__(self, argv: list[str], env: dict[str, str], ready_marker: str) -> None:
        self.argv = argv
        self.env = {**os.environ, **env}
        self.marker = ready_marker
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []

    def __enter__(self) -> ChildServer:
        ready = threading.Event()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

        def drain() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line)
                if self.marker in line:
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60) or self.proc.poll() is not None:
            raise RuntimeError("server did not start:\n" + "".join(self.lines))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def sidecar_server(port: int, db_url: str, **env: str) -> ChildServer:
    return ChildServer(
        [sys.executable, "-m", "sidecar", "serve"],
        {"SIDECAR_PORT": str(port), "SIDECAR_DB_URL": db_url, **env},
        "listening on",
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def python_loop_seconds(rounds: int = 3) -> float:
    """Seconds a pure-Python loop of 10^7 additions takes on one core here (median of
    ``rounds``): the yardstick for reading absolute figures across machines."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        times.append(time.perf_counter() - started)
    return statistics.median(times)
