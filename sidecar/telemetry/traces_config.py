"""Configuration of the GenAI span export (the ``traces`` section of the sidecar's YAML).

Every connection setting defaults to ``None``, meaning "let the OTLP exporter read the standard
environment variables": ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``, ``..._HEADERS``,
``..._TIMEOUT``, ``..._COMPRESSION``, ``..._INSECURE`` and the certificate variables are read by the
exporters themselves; ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` and
``OTEL_SEMCONV_STABILITY_OPT_IN`` are read here (the Python exporters ignore them). A value set in
the YAML wins over the environment. Example::

    traces:
      enabled: true               # unset: on when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set
      protocol: grpc              # or http/protobuf (default)
      endpoint: http://otel-collector:4317
      max_queue_size: 2048        # spans; beyond it new spans are dropped and counted
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
