"""Configuration of the OTLP metrics export (section ``otlp_metrics`` of the sidecar's YAML).

Off by default. On when ``enabled: true``, or, with ``enabled`` unset, when
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` is set or ``OTEL_METRICS_EXPORTER`` names ``otlp``
(and never when ``OTEL_METRICS_EXPORTER`` is ``none``). Connection settings left unset are read
by the OTLP exporter from the standard variables: ``OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT``,
``..._HEADERS``, ``..._TIMEOUT``, ``..._COMPRESSION``, ``..._CERTIFICATE``,
``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` (cumulative by default) and
``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION``; ``OTEL_METRIC_EXPORT_INTERVAL``
(ms, default 60,000) is read by the SDK's reader, ``OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL`` here.
Histograms use the SDK's base-2 exponential aggregation unless that variable or
``histogram_aggregation`` says ``explicit_bucket_histogram``. Example::

    otlp_metrics:
      enabled: true
      endpoint: http://otel-collector:4318     # /v1/metrics is appended for http/protobuf
      export_interval_s: 15
      histogram_max_size: 160                   # buckets; the scale follows (see docs)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from sidecar.telemetry.traces_config import CompressionName, OtlpProtocol

HISTOGRAM_AGGREGATION_ENV = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
Aggregation = Literal["base2_exponential_bucket_histogram", "explicit_bucket_histogram"]


class OtlpMetricsConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """OTLP metrics export settings; unset connection fields follow the OTEL_* variables."""

    enabled: bool | None = None
    protocol: OtlpProtocol | None = None
    endpoint: str | None = None
    headers: dict[str, str] | None = None
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] | None = None
    compression: CompressionName | None = None
    insecure: bool | None = None
    export_interval_s: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] | None = None
    histogram_aggregation: Aggregation | None = None
    histogram_max_size: Annotated[int, msgspec.Meta(ge=2, le=16384)] = 160
    histogram_max_scale: Annotated[int, msgspec.Meta(ge=-10, le=20)] = 20
    max_queue_events: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 100_000

    def export_enabled(self, environ: Mapping[str, str] | None = None) -> bool:
        if self.enabled is not None:
            return self.enabled
        env = os.environ if environ is None else environ
        exporters = {p.strip().lower() for p in env.get("OTEL_METRICS_EXPORTER", "").split(",")}
        if "none" in exporters:
            return False
        endpoint = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "").strip()
        return "otlp" in exporters or bool(endpoint)

    def resolved_protocol(self, environ: Mapping[str, str] | None = None) -> OtlpProtocol:
        """The configured protocol, else the standard variables, else ``http/protobuf``."""
        if self.protocol is not None:
            return self.protocol
        env = os.environ if environ is None else environ
        raw = env.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") or env.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL"
        )
        value = (raw or "").strip().lower() or "http/protobuf"
        if value in ("grpc", "http/protobuf"):
            return value  # type: ignore[return-value]
        raise ValueError(f"unsupported OTLP protocol {raw!r}: use 'http/protobuf' or 'grpc'")

    def exponential(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether histograms use the base-2 exponential aggregation (the default here)."""
        if self.histogram_aggregation is not None:
            return self.histogram_aggregation == "base2_exponential_bucket_histogram"
        env = os.environ if environ is None else environ
        raw = env.get(HISTOGRAM_AGGREGATION_ENV, "").strip().lower()
        return raw != "explicit_bucket_histogram"
