"""SIGTERM completes within 10 s even when the OTLP collector accepts connections and never
answers, and the cache and the budget journal are flushed before the span export is given up.

Paths: a real ``agent-sidecar serve`` process on SQLite (events, in-process ledger and its
journal, cache persistence in the same file), exporting spans over OTLP/HTTP (protobuf) and,
in a second case, gRPC to a real TCP listener on loopback that accepts every connection and
never reads or writes; events, an admit and its settle, and a cache store are sent just before
the signal. After the exit (code 0, within 10 s) a second process on the same file answers the
cache lookup with a hit and reports the settled usage.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SidecarProcess, llm_event

POLICY = "[{scope: user, id: '*', window: 1d, max_tokens: 1000000}]"


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@dataclass
class HungCollector:
    port: int
    connected: threading.Event  # set once an exporter has opened a connection


@pytest.fixture
def hung_collector() -> Iterator[HungCollector]:
    """A TCP listener that accepts connections and never answers (nor closes them)."""
    connected = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            connected.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield HungCollector(server.getsockname()[1], connected)
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_sigterm_with_a_hung_collector_exits_within_10_s_flushed(
    tmp_path: Path, hung_collector: HungCollector, protocol: str
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'term.db'}"
    env = {
        "SIDECAR_BUDGETS__POLICIES": POLICY,
        "SIDECAR_TRACES__ENABLED": "true",
        "SIDECAR_TRACES__PROTOCOL": protocol,
        "SIDECAR_TRACES__ENDPOINT": f"http://127.0.0.1:{hung_collector.port}",
        "SIDECAR_TRACES__SCHEDULE_DELAY_MS": "50",
        "SIDECAR_CACHE__FLUSH_INTERVAL_S": "3600",  # only the shutdown flush can save the entry
    }
    first = SidecarProcess(db_url, env=env).start(timeout=90)
    try:
        url = first.url
        events = [llm_event(user_id="u1", request_id=f"r{i}") for i in range(50)]
        assert call(url, "POST", "/v1/events", events)[0] == 202
        # A batch is in the exporter's hands once it has connected to the collector.
        assert hung_collector.connected.wait(30), "the exporter never reached the collector"
        admit = {"request_id": "ra", "user_id": "u2", "model": "gpt-4o", "input_tokens": 100,
                 "max_output_tokens": 10}  # fmt: skip
        status, grant = call(url, "POST", "/v1/admit", admit)
        assert status == 200 and grant["allowed"], grant
        settle = {"reservation_id": grant["reservation_id"], "input_tokens": 123}
        assert call(url, "POST", "/v1/budgets/settle", settle)[0] == 200
        store = {"namespace": "n", "key": "what is the capital of France", "value": "Paris"}
        assert call(url, "POST", "/v1/cache/store", store)[0] == 200
        assert first.proc is not None
        began = time.monotonic()
        first.proc.send_signal(signal.SIGTERM)
        code = first.proc.wait(15)
        took = time.monotonic() - began
    finally:
        first.stop()
    print(f"{protocol}: SIGTERM with a hung collector exited in {took:.1f} s")
    assert code == 0, first.log
    assert took < 10, first.log
    assert "agent-sidecar stopped" in first.log

    env["SIDECAR_TRACES__ENABLED"] = "false"
    second = SidecarProcess(db_url, env=env).start(timeout=90)
    try:
        lookup = {"namespace": "n", "key": "what is the capital of France"}
        assert call(second.url, "POST", "/v1/cache/lookup", lookup)[1]["hit"] is True
        status, usage = call(second.url, "GET", "/v1/usage/user/u2")
        assert status == 200 and usage["tokens_used"] == 123, usage
    finally:
        second.stop()
