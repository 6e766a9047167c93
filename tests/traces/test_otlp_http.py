"""The shared ingest prelude and OTLP decoding over real HTTP, including hostile bodies.

Paths: ``POST /v1/traces`` (protobuf, ``application/protobuf``, OTLP JSON), ``POST /v1/events``
(JSON, NDJSON), ``POST /v1/metrics`` and ``/v1/logs`` (the real OTel SDK exporters pointed at
the base endpoint), each over loopback against a running sidecar. Both ingest routes accept
gzip and deflate (inflated once), refuse other encodings and types alike, count alike and log
one WARNING line per 4xx without the body's text. Hostile OTLP: 100k-deep JSON, non-finite
token counts (protobuf doubles and JSON ``"Infinity"``), more spans or attributes than the
bounds, values nested too deep, a 3.9 MB request of 30k spans (decoded off the event loop).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import re
import threading
import time
import types
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import llm_event, make_settings, start_sidecar

PB = "application/x-protobuf"
TRACE = "5b8efff798038103d269b633813fc60c"


def _span(
    request: ExportTraceServiceRequest,
    *,
    trace: bytes = bytes.fromhex(TRACE),
    span_id: bytes | None = None,
    name: str = "chat gpt-4o-mini",
    attributes: dict[str, Any] | None = None,
    parent: bytes = b"",
    genai: bool = True,
) -> Any:
    if not request.resource_spans:
        request.resource_spans.add().scope_spans.add()
    span = request.resource_spans[0].scope_spans[0].spans.add()
    span.trace_id, span.span_id, span.parent_span_id = trace, span_id or os.urandom(8), parent
    span.name = name
    span.start_time_unix_nano = 1_700_000_000_000_000_000
    span.end_time_unix_nano = 1_700_000_000_400_000_000
    values: dict[str, Any] = (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 3,
        }
        if genai
        else {}
    )
    if attributes is not None:
        values = {**values, **attributes}
    for key, value in values.items():
        pair = span.attributes.add()
        pair.key = key
        if isinstance(value, bool):
            pair.value.bool_value = value
        elif isinstance(value, int):
            pair.value.int_value = value
        elif isinstance(value, float):
            pair.value.double_value = value
        else:
            pair.value.string_value = value
    return span


def _request(count: int = 1, **kwargs: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(count):
        _span(request, **kwargs)
    return request


def _json_body(spans: list[dict[str, Any]]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()


def _json_span(span_id: str, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "chat m",
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            *attributes,
        ],
    }


async def _post(
    http: Any, url: str, body: bytes, content_type: str, encoding: str | None = None
) -> tuple[int, Any, bytes]:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    async with http.post(url, data=body, headers=headers) as response:
        raw = await response.read()
        parsed = json.loads(raw) if response.content_type == "application/json" else None
        return response.status, parsed, raw


def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "raw-deflate":  # what some clients send as "deflate"
        return zlib.compress(body)[2:-4]
    return body


async def _metrics(http: Any, url: str) -> str:
    async with http.get(url + "/metrics") as response:
        return await response.text()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", None])
@pytest.mark.parametrize("content_type", [PB, "application/protobuf", "application/json"])
async def test_traces_accept_every_otlp_type_and_encoding(
    sidecar: Any, http: Any, encoding: str | None, content_type: str
) -> None:
    request = _request(2)
    if content_type == "application/json":
        body = _json_body([_json_span(os.urandom(8).hex(), []) for _ in range(2)])
    else:
        body = request.SerializeToString()
    header = "deflate" if encoding == "raw-deflate" else encoding
    status, parsed, raw = await _post(
        http, sidecar.url + "/v1/traces", _compress(body, encoding or ""), content_type, header
    )
    assert status == 200, parsed
    if content_type == "application/json":
        assert parsed == {}
    else:
        assert ExportTraceServiceResponse.FromString(raw) == ExportTraceServiceResponse()
    stored = sidecar.parts.ingest.stats.accepted
    assert stored == 2


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_events_accept_gzip_and_deflate_too(sidecar: Any, http: Any, encoding: str) -> None:
    body = b"\n".join(msgspec.json.encode(llm_event()) for _ in range(3))
    header = "deflate" if encoding == "raw-deflate" else encoding
    status, parsed, _ = await _post(
        http, sidecar.url + "/v1/events", _compress(body, encoding), "application/x-ndjson", header
    )
    assert status == 202 and parsed == {"accepted": 3, "duplicates": 0}


@pytest.mark.parametrize("route", ["/v1/events", "/v1/traces"])
async def test_both_routes_refuse_alike_and_log_one_warning_without_the_body(
    tmp_path: Path, http: Any, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each 4xx: the same code on both routes, one WARNING line naming it, no client text."""
    settings = make_settings(tmp_path, max_body_bytes=64 * 1024)
    running, runner = await start_sidecar(settings)
    url = running.url + route
    canary = b"bob.canary@example.com"
    good_type = "application/json"
    bomb = gzip.compress(b" " * (8 * 1024 * 1024))  # 8 MB of spaces in about 8 KB
    cases = [
        (b"{" + canary, "text/plain", None, 415, "unsupported_media_type"),
        (b"{" + canary, "application/" + canary.decode(), None, 415, "unsupported_media_type"),
        (b"{}", good_type, "br;" + canary.decode(), 415, "unsupported_encoding"),
        (b"{}", good_type, "gzip, identity", 415, "unsupported_encoding"),
        (b"not gzip " + canary, good_type, "gzip", 400, "malformed_encoding"),
        (bomb, good_type, "gzip", 413, "body_too_large"),
        (b"x" * (65 * 1024), good_type, None, 413, "body_too_large"),
        (b'{"resourceSpans": "' + canary + b'", "type": "' + canary, good_type, None, 400, None),
    ]
    try:
        for body, content_type, encoding, status, code in cases:
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="sidecar.ingest"):
                got, parsed, _ = await _post(http, url, body, content_type, encoding)
            assert got == status, (route, content_type, encoding, parsed)
            if code is not None:
                assert parsed["error"]["code"] == code
            lines = [r.getMessage() for r in caplog.records if r.name == "sidecar.ingest"]
            assert len(lines) == 1 and str(status) in lines[0] and route in lines[0], lines
            assert "canary" not in lines[0] and "example.com" not in lines[0]
        text = await _metrics(http, running.url)
        for reason in (
            "unsupported_media_type",
            "unsupported_encoding",
            "malformed_encoding",
            "body_too_large",
        ):
            assert f'agent_sidecar_events_rejected_total{{reason="{reason}"}}' in text
        async with http.get(running.url + "/health") as response:
            assert response.status == 200
    finally:
        await runner.cleanup()


async def test_otlp_counts_like_events_with_duplicates_and_rejections(
    sidecar: Any, http: Any
) -> None:
    request = _request(3)
    _span(request, name="GET /orders", attributes={"http.method": "GET"}, genai=False)  # ignored
    _span(request, attributes={"gen_ai.usage.input_tokens": 2_000_000_000})  # rejected alone
    body = gzip.compress(request.SerializeToString())
    for _ in range(2):  # the exporter retries the same batch: duplicates, not new calls
        status, _, raw = await _post(http, sidecar.url + "/v1/traces", body, PB, "gzip")
        assert status == 200
        answer = ExportTraceServiceResponse.FromString(raw)
        assert answer.partial_success.rejected_spans == 1
        assert "input_tokens" in answer.partial_success.error_message
    text = await _metrics(http, sidecar.url)
    assert "agent_sidecar_events_ingested_total 3.0" in text
    assert "agent_sidecar_events_duplicate_total 3.0" in text
    assert 'agent_sidecar_events_rejected_total{reason="invalid_span"} 2.0' in text
    assert 'agent_sidecar_otlp_spans_total{outcome="ignored"} 2.0' in text
    assert 'agent_sidecar_otlp_spans_total{outcome="rejected"} 2.0' in text
    assert 'agent_sidecar_otlp_spans_total{outcome="mapped"} 6.0' in text


async def test_roots_stay_roots_and_sdk_events_still_link_to_their_run(
    sidecar: Any, http: Any
) -> None:
    """OTLP root spans and /v1/events events with their own span id and no parent are roots;
    an event without any W3C ids still hangs under its run's derived root span."""
    request = _request(1, span_id=bytes.fromhex("00000000000000aa"))
    status, _, _ = await _post(http, sidecar.url + "/v1/traces", request.SerializeToString(), PB)
    assert status == 200
    own = llm_event(request_id="r-own", trace_id="ab" * 16, span_id="cd" * 8)
    derived = llm_event(request_id="r-derived")
    async with http.post(sidecar.url + "/v1/events", json=[own, derived]) as response:
        assert response.status == 202
    async with http.get(sidecar.url + "/v1/events?limit=10") as response:
        events = {e["request_id"]: e for e in (await response.json())["events"]}
    assert "parent_span_id" not in events[TRACE]
    assert "parent_span_id" not in events["r-own"]
    assert len(events["r-derived"]["parent_span_id"]) == 16


async def test_deep_json_and_non_finite_tokens_never_raise(sidecar: Any, http: Any) -> None:
    deep = (
        b'{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":'
        + b'{"arrayValue":{"values":[' * 100_000
        + b"{}"
        + b"]}}" * 100_000
        + b"}]}}]}"
    )
    assert len(deep) < 4 * 1024 * 1024
    status, parsed, _ = await _post(http, sidecar.url + "/v1/traces", deep, "application/json")
    assert status == 400 and parsed["error"]["code"] == "malformed_otlp"
    nested: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(40):
        nested = {"arrayValue": {"values": [nested]}}
    body = _json_body(
        [
            _json_span(
                "eee19b7ec3c1b171",
                [{"key": "gen_ai.usage.input_tokens", "value": {"doubleValue": "Infinity"}}],
            ),
            _json_span(
                "eee19b7ec3c1b172",
                [{"key": "gen_ai.usage.output_tokens", "value": {"doubleValue": "NaN"}}],
            ),
            _json_span("eee19b7ec3c1b173", [{"key": "deep", "value": nested}]),
            _json_span(
                "eee19b7ec3c1b174",
                [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}],
            ),
        ]
    )
    status, parsed, _ = await _post(http, sidecar.url + "/v1/traces", body, "application/json")
    assert status == 200
    assert parsed["partialSuccess"]["rejectedSpans"] == "3"
    assert "eee19b7ec3c1b171" in parsed["partialSuccess"]["errorMessage"]
    request = _request(1, attributes={"gen_ai.usage.input_tokens": float("inf")})
    _span(request, attributes={"gen_ai.usage.output_tokens": float("nan")})
    status, _, raw = await _post(http, sidecar.url + "/v1/traces", request.SerializeToString(), PB)
    assert status == 200
    assert ExportTraceServiceResponse.FromString(raw).partial_success.rejected_spans == 2
    assert sidecar.parts.ingest.stats.accepted == 1
    async with http.get(sidecar.url + "/health") as response:
        assert response.status == 200


async def test_request_bounds_spans_and_attributes(sidecar: Any, http: Any) -> None:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(65_537):  # one more than MAX_SPANS, minimal spans
        span = scope.spans.add()
        span.span_id = index.to_bytes(8, "big")
    status, parsed, _ = await _post(
        http, sidecar.url + "/v1/traces", request.SerializeToString(), PB
    )
    assert status == 413 and parsed["error"]["code"] == "too_many_spans"
    many = _request(1, attributes={f"custom.{i}": i for i in range(1100)})
    _span(many)
    status, _, raw = await _post(http, sidecar.url + "/v1/traces", many.SerializeToString(), PB)
    assert status == 200
    answer = ExportTraceServiceResponse.FromString(raw).partial_success
    assert answer.rejected_spans == 1 and "1024 attributes" in answer.error_message


def _large_otlp_body() -> bytes:
    """About 3.9 MB of protobuf: 30,000 HTTP client spans (ignored, so only decoding counts)."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(30_000):
        span = scope.spans.add()
        span.trace_id, span.span_id = os.urandom(16), (index + 1).to_bytes(8, "big")
        span.name = "POST /v1/chat/completions"
        span.start_time_unix_nano, span.end_time_unix_nano = 1, 2
        for key in ("http.method", "http.url"):
            pair = span.attributes.add()
            pair.key, pair.value.string_value = key, "x" * 10
    body = request.SerializeToString()
    assert 3_800_000 < len(body) < 4_000_000
    return body


@pytest.mark.parametrize("route", ["/v1/traces", "/v1/events"])
async def test_a_large_body_is_decoded_off_the_event_loop(
    sidecar: Any, http: Any, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a 3.9 MB body (30k OTLP spans, or 11k NDJSON events) is being decoded, the loop
    answers other clients: the decoder is held until a /health request has been answered,
    which can only happen if the decoder is not on the loop. The longest tick gap of the loop
    during the request is printed (a figure, not a bound: these machines are shared)."""
    import sidecar.api.events_routes as events_routes
    import sidecar.api.otlp_receiver as traces_routes

    module: types.ModuleType
    if route == "/v1/traces":
        module, name, content_type = traces_routes, "decode_otlp_traces", PB
        body = _large_otlp_body()
    else:
        module, name, content_type = events_routes, "decode_events", "application/x-ndjson"
        line = msgspec.json.encode(llm_event(id="x" * 32))
        count = 3_900_000 // (len(line) + 1)
        body = b"\n".join(line.replace(b"x" * 32, b"%032d" % i) for i in range(count))
        assert 3_800_000 < len(body) < 4_000_000
    real = getattr(module, name)
    started, answered = threading.Event(), threading.Event()

    def held(*args: Any) -> Any:
        started.set()
        assert answered.wait(20), "the loop could not answer while the body was decoded"
        return real(*args)

    monkeypatch.setattr(module, name, held)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def probe() -> None:
        await asyncio.to_thread(started.wait, 20)
        async with http.get(sidecar.url + "/health") as response:
            assert response.status == 200
        answered.set()

    tick = asyncio.create_task(ticker())
    probing = asyncio.create_task(probe())
    status, parsed, _ = await _post(http, sidecar.url + route, body, content_type)
    done.set()
    await tick
    await probing
    assert status in (200, 202), parsed
    print(f"{route}: longest event-loop gap around a 3.9 MB body: {max(gaps) * 1000:.0f} ms")


async def test_metrics_and_logs_at_the_base_endpoint_do_not_break_a_client(
    sidecar: Any, http: Any
) -> None:
    """The real SDK metric and log exporters, pointed at the sidecar as base endpoint."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    def export() -> None:
        exporter = OTLPMetricExporter(endpoint=sidecar.url + "/v1/metrics")
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
        meters = MeterProvider(metric_readers=[reader])
        histogram = meters.get_meter("client").create_histogram("gen_ai.client.operation.duration")
        histogram.record(0.3, {"gen_ai.request.model": "gpt-4o-mini"})
        assert meters.force_flush()
        meters.shutdown()
        logs = LoggerProvider()
        logs.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(endpoint=sidecar.url + "/v1/logs"))
        )
        logging.getLogger("genai-client").addHandler(
            __import__("opentelemetry.sdk._logs", fromlist=["LoggingHandler"]).LoggingHandler(
                logger_provider=logs
            )
        )
        logging.getLogger("genai-client").warning("gen_ai.choice")
        assert logs.force_flush()
        logs.shutdown()

    await asyncio.to_thread(export)
    text = await _metrics(http, sidecar.url)
    for signal in ("metrics", "logs"):  # the metric point is sent at flush and at shutdown
        match = re.search(rf'agent_sidecar_otlp_discarded_total{{signal="{signal}"}} (\S+)', text)
        assert match is not None and float(match.group(1)) >= 1, signal
    body = json.dumps(
        {
            "resourceMetrics": [
                {
                    "scopeMetrics": [
                        {
                            "metrics": [
                                {
                                    "name": "m",
                                    "gauge": {"dataPoints": [{"asDouble": 1}, {"asDouble": 2}]},
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    )
    status, parsed, _ = await _post(
        http, sidecar.url + "/v1/metrics", body.encode(), "application/json", None
    )
    assert status == 200 and parsed["partialSuccess"]["rejectedDataPoints"] == "2"
    assert "traces only" in parsed["partialSuccess"]["errorMessage"]
    status, parsed, _ = await _post(http, sidecar.url + "/v1/logs", b"\x00\xff", PB)
    assert status == 400 and parsed["error"]["code"] == "malformed_otlp"
