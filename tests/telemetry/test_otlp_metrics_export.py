"""OTLP metrics out: three ``agent-sidecar serve`` processes export to one real OTLP/HTTP
receiver, which decodes the protobuf like a collector; their exponential histograms, merged at
the lowest scale among them, give quantiles within the bound that scale implies.

Paths: events over ``POST /v1/events`` (LLM calls, streaming and not, tool calls, an error),
admissions over ``POST /v1/admit`` (the admission counters), the standard
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` and ``OTEL_METRIC_EXPORT_INTERVAL`` variables; off by
default (neither the OTLP metric exporters nor the sink's module are even imported);
``OTEL_METRICS_EXPORTER=none`` wins.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import ExponentialHistogramDataPoint

from sidecar.telemetry.config import OtlpMetricsConfig
from tests.conftest import SidecarProcess, llm_event, tool_event
from tests.traces.receivers import HttpOtlpReceiver, value

QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)
PER_SIDECAR = 3000


def post(url: str, body: Any, content_type: str = "application/json") -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def latest_points(
    requests: list[ExportMetricsServiceRequest], name: str
) -> dict[str, list[ExponentialHistogramDataPoint]]:
    """Per sidecar (``service.instance.id``): the last exported cumulative points of ``name``."""
    out: dict[str, list[ExponentialHistogramDataPoint]] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            resource = {kv.key: value(kv.value) for kv in resource_metrics.resource.attributes}
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name and metric.HasField("exponential_histogram"):
                        out[resource["service.instance.id"]] = list(
                            metric.exponential_histogram.data_points
                        )
    return out


def counts(requests: list[ExportMetricsServiceRequest], name: str) -> int:
    return sum(p.count for points in latest_points(requests, name).values() for p in points)


def merged_quantiles(
    points: list[ExponentialHistogramDataPoint], qs: tuple[float, ...]
) -> tuple[list[float], int]:
    """Merge base-2 exponential histograms at their lowest scale; read quantiles (rank
    ``floor(q * (n - 1))``) as ``2 b L / (1 + b)`` of the bucket ``(L, b L]`` holding them."""
    scale = min(p.scale for p in points)
    buckets: dict[int, int] = {}
    zeros = 0
    for p in points:
        assert not any(p.negative.bucket_counts)
        zeros += p.zero_count
        shift = p.scale - scale
        for i, c in enumerate(p.positive.bucket_counts):
            if c:
                index = (p.positive.offset + i) >> shift
                buckets[index] = buckets.get(index, 0) + c
    n = zeros + sum(buckets.values())
    base = 2.0 ** (2.0**-scale)
    out = []
    for q in qs:
        rank = math.floor(q * (n - 1))
        running = zeros
        if rank < running:
            out.append(0.0)
            continue
        for index in sorted(buckets):
            running += buckets[index]
            if running > rank:
                lower = base**index
                out.append(2.0 * base * lower / (1.0 + base))
                break
    return out, scale


@pytest.fixture
def receiver() -> Iterator[HttpOtlpReceiver]:
    server = HttpOtlpReceiver()
    server.start()
    yield server
    server.stop()


def test_three_sidecars_export_exponential_histograms_whose_merge_keeps_the_bound(
    receiver: HttpOtlpReceiver, tmp_path: Path
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": receiver.endpoint + "/v1/metrics",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
    }
    procs = [SidecarProcess(f"sqlite:///{tmp_path / f's{i}.db'}", env=env) for i in range(3)]
    rng = random.Random(7)
    ttfts: list[float] = []
    durations: list[float] = []
    try:
        for i, proc in enumerate(procs):
            proc.start()
            events = []
            for _ in range(PER_SIDECAR):
                ttft = rng.lognormvariate(5.5 + 0.4 * i, 0.7)
                duration = ttft + rng.lognormvariate(7.0, 0.9)
                ttfts.append(ttft / 1000.0)
                durations.append(duration / 1000.0)
                events.append(llm_event(id=uuid.uuid4().hex, ttft_ms=ttft, duration_ms=duration))
            events.append(tool_event(id=uuid.uuid4().hex, duration_ms=42.0))
            events.append(
                llm_event(
                    id=uuid.uuid4().hex,
                    stream=False,
                    ttft_ms=None,
                    status="error",
                    error_type="timeout",
                    duration_ms=1000.0,
                )
            )
            durations.append(1.0)
            ndjson = b"\n".join(msgspec.json.encode(e) for e in events)
            assert post(proc.url + "/v1/events", ndjson, "application/x-ndjson") == 202
            for n in range(3):
                assert (
                    post(
                        proc.url + "/v1/admit",
                        {
                            "request_id": f"r{n}",
                            "user_id": "u",
                            "model": "gpt-4o",
                            "input_tokens": 10,
                        },
                    )
                    == 200
                )

        total = 3 * PER_SIDECAR
        receiver.metrics.wait_for(
            lambda r: (
                counts(r, "gen_ai.client.operation.time_to_first_chunk") == total
                and counts(r, "gen_ai.client.operation.duration") == total + 3
                and len(latest_points(r, "gen_ai.client.operation.duration")) == 3
            ),
            timeout=60,
        )
        requests = receiver.metrics.snapshot()
        report = []
        for name, samples in (
            ("gen_ai.client.operation.time_to_first_chunk", ttfts),
            ("gen_ai.client.operation.duration", durations),
        ):
            points = [p for ps in latest_points(requests, name).values() for p in ps]
            got, scale = merged_quantiles(points, QUANTILES)
            base = 2.0 ** (2.0**-scale)
            bound = (base - 1.0) / (base + 1.0)
            ordered = sorted(samples)
            worst = 0.0
            for q, g in zip(QUANTILES, got, strict=True):
                exact = ordered[math.floor(q * (len(ordered) - 1))]
                error = abs(g - exact) / exact
                worst = max(worst, error)
                assert error <= bound * (1 + 1e-9), (name, q, g, exact, scale, bound)
            report.append(f"{name}: scale {scale}, bound {bound:.2%}, worst {worst:.2%}")
        print("; ".join(report))

        names = {
            m.name: m
            for r in requests
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }
        assert names["gen_ai.client.operation.duration"].unit == "s"
        assert names["gen_ai.client.token.usage"].unit == "{token}"
        assert names["gen_ai.execute_tool.duration"].HasField("exponential_histogram")
        errors = [
            dict((kv.key, value(kv.value)) for kv in p.attributes)
            for p in names["gen_ai.client.operation.duration"].exponential_histogram.data_points
            if any(kv.key == "error.type" for kv in p.attributes)
        ]
        assert errors and errors[0]["error.type"] == "timeout"
        cost = latest_sums(requests, "agent_sidecar.cost.usd")
        assert len(cost) == 3 and all(v > 0 for v in cost.values())
        admits = latest_sums(requests, "agent_sidecar.admit")
        assert admits == {k: 3.0 for k in admits} and len(admits) == 3
    finally:
        for proc in procs:
            proc.stop()


def latest_sums(requests: list[ExportMetricsServiceRequest], name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            resource = {kv.key: value(kv.value) for kv in resource_metrics.resource.attributes}
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        out[resource["service.instance.id"]] = sum(
                            p.as_double or p.as_int for p in metric.sum.data_points
                        )
    return out


def test_off_by_default_and_nothing_of_it_imported(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code = (
        "import sys\n"
        "from sidecar.config import load_settings\n"
        "from sidecar.app import build_components\n"
        "parts = build_components(load_settings(env={}, overrides={'db_url': DB}))\n"
        "assert parts.metrics_export is None\n"
        "loaded = [m for m in sys.modules if m in (\n"
        "          'opentelemetry.exporter.otlp.proto.http.metric_exporter',\n"
        "          'opentelemetry.exporter.otlp.proto.grpc.metric_exporter',\n"
        "          'sidecar.telemetry.otlp_metrics')]\n"
        "assert not loaded, loaded\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", f"DB = {db!r}\n" + code], check=True, env=env)


@pytest.mark.parametrize(
    ("config", "env", "on"),
    [
        ({}, {}, False),
        ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),  # traces' variable alone
        ({}, {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, True),
        ({}, {"OTEL_METRICS_EXPORTER": "otlp"}, True),
        (
            {},
            {
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318",
            },
            False,
        ),
        ({"enabled": True}, {}, True),
        ({"enabled": False}, {"OTEL_METRICS_EXPORTER": "otlp"}, False),
    ],
)
def test_enabling_follows_config_then_the_standard_variables(
    config: dict[str, Any], env: dict[str, str], on: bool
) -> None:
    assert msgspec.convert(config, OtlpMetricsConfig).export_enabled(env) is on


def test_histogram_aggregation_follows_the_standard_variable() -> None:
    config = OtlpMetricsConfig()
    assert config.exponential({})
    assert not config.exponential(
        {"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "explicit_bucket_histogram"}
    )
    chosen = OtlpMetricsConfig(histogram_aggregation="base2_exponential_bucket_histogram")
    assert chosen.exponential(
        {"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "explicit_bucket_histogram"}
    )
    assert (
        OtlpMetricsConfig(protocol=None).resolved_protocol(
            {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}
        )
        == "grpc"
    )
    with pytest.raises(ValueError, match="unsupported OTLP protocol"):
        OtlpMetricsConfig().resolved_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
