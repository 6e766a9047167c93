"""Telemetry out of the sidecar: GenAI spans over OTLP, OTLP spans in, Prometheus collectors."""
