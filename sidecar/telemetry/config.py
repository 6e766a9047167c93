"""Configuration of the telemetry sections of the sidecar's YAML: ``metrics`` (Prometheus
label caps and sketch gauges), ``traces`` (GenAI span export) and ``otlp_metrics`` (OTLP metrics
export).

``traces``: every connection setting defaults to ``None``, meaning "let the OTLP exporter read
the standard environment variables": ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``, ``..._HEADERS``,
``..._TIMEOUT``, ``..._COMPRESSION``, ``..._INSECURE`` and the certificate variables are read by the
exporters themselves; ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` and
``OTEL_SEMCONV_STABILITY_OPT_IN`` are read here (the Python exporters ignore them). A value set in
the YAML wins over the environment. Example::

    traces:
      enabled: true               # unset: on when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set
      protocol: grpc              # or http/protobuf (default)
      endpoint: http://otel-collector:4317
      max_queue_size: 2048        # spans; beyond it new spans are dropped and counted

``otlp_metrics``: off by default. On when ``enabled: true``, or, with ``enabled`` unset, when
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

OtlpProtocol = Literal["http/protobuf", "grpc"]
CompressionName = Literal["none", "gzip", "deflate"]
SEMCONV_OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
SEMCONV_LATEST_EXPERIMENTAL = "gen_ai_latest_experimental"
DEFAULT_SERVICE_NAME = "agent-sidecar"
ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


class TracesConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GenAI span export settings; by default export follows the OTLP environment variables
    (see :meth:`export_enabled`) and no content is captured."""

    enabled: bool | None = None
    protocol: OtlpProtocol | None = None
    endpoint: str | None = None
    headers: dict[str, str] | None = None
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] | None = None
    compression: CompressionName | None = None
    insecure: bool | None = None
    max_queue_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 2048
    max_export_batch_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 512
    schedule_delay_ms: Annotated[float, msgspec.Meta(ge=1, le=60_000)] = 1000.0
    capture_content: bool = False
    semconv_latest_experimental: bool | None = None
    service_name: str | None = None
    service_namespace: str | None = None
    deployment_environment: str | None = None

    def __post_init__(self) -> None:
        if self.max_export_batch_size > self.max_queue_size:
            raise ValueError("max_export_batch_size must not exceed max_queue_size")

    def export_enabled(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether spans are exported: ``enabled`` when set; otherwise on as soon as
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (what
        every OpenTelemetry SDK takes to mean "export here"), unless ``OTEL_TRACES_EXPORTER``
        is ``none``."""
        if self.enabled is not None:
            return self.enabled
        env = os.environ if environ is None else environ
        if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
            return False
        return any(env.get(name, "").strip() for name in ENDPOINT_ENVS)

    def resolved_protocol(self, environ: Mapping[str, str] | None = None) -> OtlpProtocol:
        """The configured protocol, else the standard env vars, else ``http/protobuf``."""
        if self.protocol is not None:
            return self.protocol
        env = os.environ if environ is None else environ
        raw = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL"
        )
        if raw is None or not raw.strip():
            return "http/protobuf"
        value = raw.strip().lower()
        if value == "grpc":
            return "grpc"
        if value == "http/protobuf":
            return "http/protobuf"
        raise ValueError(f"unsupported OTLP protocol {raw!r}: use 'http/protobuf' or 'grpc'")

    def latest_experimental(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether to emit the newest (unreleased) GenAI names, per the spec's opt-in variable."""
        if self.semconv_latest_experimental is not None:
            return self.semconv_latest_experimental
        env = os.environ if environ is None else environ
        opted = (part.strip() for part in env.get(SEMCONV_OPT_IN_ENV, "").split(","))
        return SEMCONV_LATEST_EXPERIMENTAL in opted


DEFAULT_LABEL_CAPS = {
    "gen_ai_request_model": 100,
    "gen_ai_provider_name": 20,
    "gen_ai_operation_name": 20,
    "gen_ai_tool_name": 200,
    "gen_ai_agent_name": 50,
    "error_type": 50,
    "reason": 50,
}

Cap = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class MetricsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Label caps (past a cap a value becomes ``_OTHER``) and the optional sketch gauges.

    ``sketch_quantiles`` adds gauges of exact-within-1% quantiles from the analytics sketches
    over ``sketch_window`` (one sidecar's view, not aggregatable across sidecars).
    """

    max_label_values: dict[str, Cap] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_LABEL_CAPS)
    )
    default_label_cap: Cap = 100
    sketch_quantiles: bool = False
    sketch_window: Literal["1m", "5m", "1h"] = "5m"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.max_label_values) - set(DEFAULT_LABEL_CAPS))
        if unknown:
            raise ValueError(
                f"metrics.max_label_values: unknown label(s) {unknown}; "
                f"expected {sorted(DEFAULT_LABEL_CAPS)}"
            )


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
