"""The load of the stall test, in a process of its own (so the measuring client shares its
interpreter lock with nobody): one client admits every 20 ms while another sends the 3.9 MB
bodies, a warm-up pass and then up to ``attempts`` measured passes (stopping at the first whose
admit p99 is within the bound). Prints one JSON object: the statuses of every pass, the fields
named by the 422s, every admit status, and each measured pass's n, p50, p99 and max in seconds.

``python -m tests.hardening.stall_load URL [ATTEMPTS]``
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import threading
import time
from typing import Any

import aiohttp
import msgspec
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import llm_event

P99_BOUND_S = 0.100
EXPECTED = [200, 200, 202, 202, 200, 200, 422, 422]
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


async def _load(url: str, attempts: int, admits: AdmitClient) -> dict[str, Any]:
    bodies = _bodies()
    passes: list[list[int]] = []
    fields: list[str] = []
    windows: list[tuple[float, float]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:

        async def send() -> None:
            statuses = []
            for route, media, data in bodies:
                headers = {"Content-Type": media}
                async with http.post(url + route, data=data, headers=headers) as response:
                    raw = await response.read()
                    statuses.append(response.status)
                    if response.status == 422:
                        fields.append(msgspec.json.decode(raw)["error"]["field"])
            passes.append(statuses)

        await send()  # warm-up
        for _ in range(attempts):
            began = time.perf_counter()
            await send()
            windows.append((began, time.perf_counter()))
            if _p99(admits.samples, *windows[-1]) <= P99_BOUND_S:
                break
    figures = []
    for began, ended in windows:
        during = [lat for sent, lat, _ in admits.samples if began <= sent <= ended]
        figures.append({"n": len(during), "p50": statistics.median(during) if during else None,
                        "p99": _p99(admits.samples, began, ended),
                        "max": max(during) if during else None})  # fmt: skip
    return {"passes": passes, "fields": fields, "figures": figures,
            "admit_statuses": sorted({s for *_, s in admits.samples})}  # fmt: skip


def _p99(samples: list[tuple[float, float, int]], began: float, ended: float) -> float:
    during = [lat for sent, lat, _ in samples if began <= sent <= ended]
    return statistics.quantiles(during, n=100)[98] if len(during) >= 2 else float("inf")


def main(url: str, attempts: int) -> dict[str, Any]:
    with AdmitClient(url) as admits:
        return asyncio.run(_load(url, attempts, admits))


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5)))
