"""No request holds the event loop: a steady admit client keeps its p99 within 100 ms while
3.9 MB bodies arrive.

Paths, each a real ``agent-sidecar serve`` process on SQLite with a budget policy (so every
admit goes through the ledger), over loopback HTTP:

- ``POST /v1/events`` with a 3.9 MB NDJSON batch (about 11k ``llm_call`` events, each through
  guard, redaction, pricing, the store and the sinks);
- ``POST /v1/events`` with the same events as one JSON array;
- ``POST /v1/traces`` with a 3.9 MB OTLP protobuf of 31.5k spans, and the same as OTLP JSON;
- ``POST /v1/cache/lookup`` and ``/v1/cache/store`` with a 3.9 MB key (refused with a 422
  naming ``key``: keys are at most 32 KB);
- ``POST /v1/redact`` with a 3.9 MB text, and ``POST /v1/admit`` with a 3.9 MB ``tool_result``
  screened by the injection guard in block mode.

A second thread admits every 20 ms throughout and records each answer's latency; the p99 of the
admits sent while the large bodies were in flight must stay within 100 ms in the best of five
passes (the figures are printed and quoted in docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import msgspec
import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import SidecarProcess, llm_event

P99_BOUND_S = 0.100
ATTEMPTS = int(os.environ.get("STALL_ATTEMPTS", "5"))
BODY = 3_900_000


def _otlp_request(spans: int) -> ExportTraceServiceRequest:
    """GenAI chat spans (31,500 make about 3.9 MB of protobuf)."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(spans):
        span = scope.spans.add()
        span.trace_id, span.span_id = os.urandom(16), (index + 1).to_bytes(8, "big")
        span.name = "chat gpt-4o"
        span.start_time_unix_nano, span.end_time_unix_nano = (
            1_795_000_000 * 10**9,
            (1_795_000_001 * 10**9),
        )
        for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "m")):
            pair = span.attributes.add()
            pair.key, pair.value.string_value = key, value
    return request


def _bodies() -> list[tuple[str, str, bytes]]:
    line = msgspec.json.encode(llm_event(id="x" * 32, input="call me at 415-555-0100"))
    count = BODY // (len(line) + 1)
    lines = [line.replace(b"x" * 32, b"%032d" % i) for i in range(count)]
    ndjson = b"\n".join(lines)
    array = b"[" + b",".join(lines) + b"]"
    protobuf = _otlp_request(31_500).SerializeToString()
    per_span = len(MessageToJson(_otlp_request(100), indent=None)) / 100
    otlp_json = MessageToJson(_otlp_request(int(BODY / per_span)), indent=None).encode()
    huge_key = msgspec.json.encode({"namespace": "n", "key": "word " * (BODY // 5)})
    huge_store = msgspec.json.encode({"namespace": "n", "key": "k " * (BODY // 2), "value": 1})
    assert all(BODY * 0.97 < len(b) < 4_000_000 for b in (ndjson, protobuf, otlp_json)), (
        len(ndjson),
        len(protobuf),
        len(otlp_json),
    )
    text = ("Mail ann@example.com about the invoice. " * (BODY // 40))[:BODY]
    return [
        ("/v1/redact", "application/json", msgspec.json.encode({"text": text})),
        (
            "/v1/admit",
            "application/json",
            msgspec.json.encode({"request_id": "big", "tool_result": text}),
        ),
        ("/v1/events", "application/x-ndjson", ndjson),
        ("/v1/events", "application/json", array.replace(b"%032d" % 0, b"a" * 32)),
        ("/v1/traces", "application/x-protobuf", protobuf),
        ("/v1/traces", "application/json", otlp_json),
        ("/v1/cache/lookup", "application/json", huge_key),
        ("/v1/cache/store", "application/json", huge_store),
    ]


class AdmitClient:
    """Admits every 20 ms from its own thread and event loop; records (sent at, latency)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> AdmitClient:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                body = {"request_id": f"r{n}", "user_id": f"u{n % 7}", "model": "gpt-4o",
                        "input_tokens": 10, "max_output_tokens": 10}  # fmt: skip
                sent = time.perf_counter()
                async with http.post(self.url + "/v1/admit", json=body) as response:
                    await response.read()
                    self.samples.append((sent, time.perf_counter() - sent, response.status))
                await asyncio.sleep(max(0.0, 0.020 - (time.perf_counter() - sent)))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[SidecarProcess]:
    process = SidecarProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'stall.db'}",
        env={
            "SIDECAR_BUDGETS__POLICIES": "[{scope: user, id: '*', window: 1d, "
            "max_tokens: 1000000000000}]",
            "SIDECAR_GUARD__MODE": "block",
        },
    ).start(timeout=90)
    try:
        yield process
    finally:
        process.stop()


def test_admit_p99_stays_within_100_ms_while_large_bodies_arrive(
    served: SidecarProcess,
) -> None:
    """One warm-up pass over the bodies, then up to ``ATTEMPTS`` measured passes: the best
    pass's p99 must be within 100 ms (the machines are shared, so one pass can be starved of
    CPU by other processes; before the work moved off the loop every pass was over 300 ms)."""
    bodies = _bodies()
    fields: list[str] = []

    async def send(http: aiohttp.ClientSession) -> list[int]:
        statuses = []
        for route, media, data in bodies:
            sent = time.perf_counter()
            headers = {"Content-Type": media}
            async with http.post(served.url + route, data=data, headers=headers) as response:
                raw = await response.read()
                statuses.append(response.status)
                print(f"{route} {media}: {response.status} in "
                      f"{(time.perf_counter() - sent) * 1000:.0f} ms")  # fmt: skip
                if response.status == 422:
                    fields.append(msgspec.json.decode(raw)["error"]["field"])
        return statuses

    async def load() -> list[tuple[float, float]]:
        windows = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            assert await send(http) == [200, 200, 202, 202, 200, 200, 422, 422]  # warm-up
            for _ in range(ATTEMPTS):
                began = time.perf_counter()
                assert await send(http) == [200, 200, 202, 202, 200, 200, 422, 422]
                windows.append((began, time.perf_counter()))
                if _p99(admits.samples, *windows[-1]) <= P99_BOUND_S:
                    break
        return windows

    with AdmitClient(served.url) as admits:
        windows = asyncio.run(load())
    if os.environ.get("STALL_LOG"):
        print(served.log)
    assert {status for *_, status in admits.samples} == {200}
    assert fields == ["key"] * (2 * (len(windows) + 1)), fields  # a cache key is at most 32 KB
    figures = []
    for began, ended in windows:
        during = [lat for sent, lat, _ in admits.samples if began <= sent <= ended]
        assert len(during) >= 50
        figures.append(_p99(admits.samples, began, ended))
        print(f"admit latency during large bodies: n={len(during)} "
              f"p50={statistics.median(during) * 1000:.1f} ms "
              f"p99={figures[-1] * 1000:.1f} ms max={max(during) * 1000:.1f} ms")  # fmt: skip
    assert min(figures) <= P99_BOUND_S, f"admit p99 {[round(f * 1000) for f in figures]} ms"


def _p99(samples: list[tuple[float, float, int]], began: float, ended: float) -> float:
    during = [lat for sent, lat, _ in samples if began <= sent <= ended]
    return statistics.quantiles(during, n=100)[98] if len(during) >= 2 else float("inf")
