"""The OTLP metrics sink in process: bounded queue, bounded attributes, a collector that is down.

Paths: :class:`OtlpMetricsSink` fed like the ingest pipeline feeds it, exporting through the
real OTLP/HTTP exporter to a real receiver (down, then up), and through an in-memory exporter
where only the data points are inspected.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource

from sidecar.telemetry.config import MetricsConfig, OtlpMetricsConfig
from sidecar.telemetry.otlp_metrics import OtlpMetricsSink
from tests.analytics.events import llm, tool
from tests.traces.receivers import HttpOtlpReceiver


class Collecting(MetricExporter):
    """Keeps what the reader exports (stands in for the collector)."""

    def __init__(self) -> None:
        super().__init__()
        self.exports: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        self.exports.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


def _points(exporter: Collecting, name: str) -> Sequence[Any]:
    last = exporter.exports[-1]
    return [
        p
        for rm in last.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points
    ]


def test_attribute_sets_stay_within_the_label_caps() -> None:
    exporter = Collecting()
    sink = OtlpMetricsSink(
        OtlpMetricsConfig(export_interval_s=3600),
        Resource({}),
        MetricsConfig(max_label_values={"gen_ai_request_model": 5}),
        exporter=exporter,
    )
    try:
        sink.submit([llm(10.0 + i, model=f"model-{i}", user_id=f"user-{i}") for i in range(500)])
        assert sink.force_flush()
        points = _points(exporter, "gen_ai.client.operation.duration")
        models = {p.attributes["gen_ai.request.model"] for p in points}
        assert len(models) == 6 and "_OTHER" in models
        assert sum(p.count for p in points) == 500
        assert not any("user" in key for p in points for key in p.attributes)
        assert type(points[0]).__name__ == "ExponentialHistogramDataPoint"
    finally:
        sink.shutdown()


def test_a_full_queue_drops_and_counts_instead_of_growing() -> None:
    sink = OtlpMetricsSink(
        OtlpMetricsConfig(export_interval_s=3600, max_queue_events=10),
        Resource({}),
        exporter=Collecting(),
    )
    try:
        sink.submit([tool() for _ in range(11)])
        sink.submit([tool() for _ in range(4)])
        assert sink.drain()
        assert sink.stats() == {"recorded": 4, "queued": 0, "dropped_queue_full": 11}
    finally:
        sink.shutdown()


def test_collector_down_then_back_ingest_goes_on_and_export_resumes() -> None:
    receiver = HttpOtlpReceiver()
    receiver.start()
    endpoint = receiver.endpoint
    receiver.stop()  # down: the port refuses
    config = OtlpMetricsConfig(endpoint=endpoint, export_interval_s=0.2, timeout_s=1)
    sink = OtlpMetricsSink(config, Resource({"service.instance.id": "me"}))
    try:
        started = time.perf_counter()
        for _ in range(50):
            sink.submit([llm(100.0, ttft_ms=20.0, stream=True)] * 20)
        assert time.perf_counter() - started < 1.0  # submit never waits on the network
        assert sink.drain()
        assert sink.stats()["recorded"] == 1000
        receiver.port = int(endpoint.rsplit(":", 1)[1])
        receiver.start()
        receiver.metrics.wait_for(
            lambda requests: any(
                m.name == "gen_ai.client.operation.time_to_first_chunk"
                and sum(p.count for p in m.exponential_histogram.data_points) == 1000
                for r in requests
                for rm in r.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
            ),
            timeout=30,
        )
    finally:
        sink.shutdown(timeout_s=2)
        receiver.stop()
