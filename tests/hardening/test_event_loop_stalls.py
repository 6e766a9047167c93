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
admits sent while the large bodies were in flight must stay within 100 ms (the figure is printed
and quoted in docs/reliability.md).
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
ROUNDS = int(os.environ.get("STALL_ROUNDS", "2"))
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
    bodies = _bodies()
    statuses: list[tuple[str, str, int, float]] = []
    fields: list[str] = []

    async def load() -> tuple[float, float]:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await asyncio.sleep(0.5)  # a few admits before the load, to warm the connection
            began = time.perf_counter()
            for _ in range(ROUNDS):
                for route, media, data in bodies:
                    sent = time.perf_counter()
                    async with http.post(
                        served.url + route, data=data, headers={"Content-Type": media}
                    ) as response:
                        raw = await response.read()
                        answer = msgspec.json.decode(raw) if raw else None
                        took = time.perf_counter() - sent
                        statuses.append((route, media, response.status, took))
                        if response.status == 422:
                            fields.append(answer["error"]["field"])
            return began, time.perf_counter()

    with AdmitClient(served.url) as admits:
        began, ended = asyncio.run(load())
    if os.environ.get("STALL_LOG"):
        print(served.log)
    during = [lat for sent, lat, _ in admits.samples if began <= sent <= ended]
    codes = {status for *_, status in admits.samples}
    for route, media, status, took in statuses:
        print(f"{route} {media}: {status} in {took * 1000:.0f} ms")
    assert codes == {200}, codes
    expected = [200, 200, 202, 202, 200, 200, 422, 422] * ROUNDS
    assert [s for _, _, s, _ in statuses] == expected, statuses
    assert fields == ["key"] * (2 * ROUNDS), fields  # a cache key is at most 32 KB
    assert len(during) >= 50
    p99 = statistics.quantiles(during, n=100)[98]
    print(
        f"admit latency during large bodies: n={len(during)} "
        f"p50={statistics.median(during) * 1000:.1f} ms p99={p99 * 1000:.1f} ms "
        f"max={max(during) * 1000:.1f} ms"
    )
    assert p99 <= P99_BOUND_S, f"admit p99 {p99 * 1000:.0f} ms while large bodies arrived"
