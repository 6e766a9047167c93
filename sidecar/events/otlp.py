"""OTLP in: an OTLP/HTTP body to sidecar events (wire decoding, then span-to-event mapping).

``decode_otlp_traces(body, "application/x-protobuf")`` returns a :class:`MappedSpans`: the
events, and the counts of ignored, rejected and merged spans with the first rejection's message
(OTLP partial success). :mod:`sidecar.events.otlp_wire` reads the two encodings,
:mod:`sidecar.events.otlp_map` applies the mapping rules. A body that is not an OTLP trace
request raises ValueError (:class:`~sidecar.events.otlp_wire.TooManySpans` beyond
65,536 spans).

Metrics and logs (``/v1/metrics``, ``/v1/logs``) are not ingested: :func:`count_otlp_items`
decodes such a body only to count its data points or log records, so the answer can say how
many were not taken (partial success) instead of failing a client pointed at the base
endpoint.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from sidecar.events.otlp_map import MappedSpans, RecentCalls, spans_to_events
from sidecar.events.otlp_wire import JSON_TYPES, PROTOBUF_TYPES, decode_trace_request

Signal = Literal["metrics", "logs"]
OTLP_TYPES = PROTOBUF_TYPES | JSON_TYPES


def decode_otlp_traces(
    body: bytes, media_type: str, recent: RecentCalls | None = None
) -> MappedSpans:
    """Decode an ExportTraceServiceRequest and map its GenAI spans to events (with counts)."""
    return spans_to_events(decode_trace_request(body, media_type.lower()), recent)


class _JPoints(msgspec.Struct):
    dataPoints: list[msgspec.Raw] = []


class _JMetric(msgspec.Struct):
    gauge: _JPoints | None = None
    sum: _JPoints | None = None
    histogram: _JPoints | None = None
    exponentialHistogram: _JPoints | None = None
    summary: _JPoints | None = None


class _JScopeMetrics(msgspec.Struct):
    metrics: list[_JMetric] = []


class _JResourceMetrics(msgspec.Struct):
    scopeMetrics: list[_JScopeMetrics] = []


class _JMetricsRequest(msgspec.Struct):
    resourceMetrics: list[_JResourceMetrics] = []


class _JScopeLogs(msgspec.Struct):
    logRecords: list[msgspec.Raw] = []


class _JResourceLogs(msgspec.Struct):
    scopeLogs: list[_JScopeLogs] = []


class _JLogsRequest(msgspec.Struct):
    resourceLogs: list[_JResourceLogs] = []


_JSON_METRICS = msgspec.json.Decoder(_JMetricsRequest)
_JSON_LOGS = msgspec.json.Decoder(_JLogsRequest)
_POINT_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def count_otlp_items(body: bytes, media_type: str, signal: Signal) -> int:
    """Data points (metrics) or log records (logs) in an export body; ValueError if malformed."""
    media_type = media_type.lower()
    if media_type in PROTOBUF_TYPES:
        return _count_protobuf(body, signal)
    if media_type not in JSON_TYPES:
        raise ValueError(f"unsupported content type {media_type!r}")
    try:
        if signal == "logs":
            logs = _JSON_LOGS.decode(body)
            return sum(len(s.logRecords) for r in logs.resourceLogs for s in r.scopeLogs)
        metrics = _JSON_METRICS.decode(body)
    except RecursionError:
        raise ValueError("OTLP JSON body is nested too deeply") from None
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as error:
        raise ValueError(f"body is not an OTLP JSON {signal} request: {error}") from None
    return sum(
        len(points.dataPoints)
        for r in metrics.resourceMetrics
        for s in r.scopeMetrics
        for m in s.metrics
        for points in (m.gauge, m.sum, m.histogram, m.exponentialHistogram, m.summary)
        if points is not None
    )


def _count_protobuf(body: bytes, signal: Signal) -> int:
    if signal == "logs":
        logs = ExportLogsServiceRequest()
        try:
            logs.ParseFromString(body)
        except DecodeError as error:
            raise ValueError(f"body is not a protobuf logs request: {error}") from None
        return sum(len(s.log_records) for r in logs.resource_logs for s in r.scope_logs)
    metrics = ExportMetricsServiceRequest()
    try:
        metrics.ParseFromString(body)
    except DecodeError as error:
        raise ValueError(f"body is not a protobuf metrics request: {error}") from None
    total = 0
    for r in metrics.resource_metrics:
        for s in r.scope_metrics:
            for m in s.metrics:
                which = m.WhichOneof("data")
                if which in _POINT_KINDS:
                    total += len(getattr(m, which).data_points)
    return total


__all__ = ["OTLP_TYPES", "MappedSpans", "RecentCalls", "count_otlp_items", "decode_otlp_traces"]
