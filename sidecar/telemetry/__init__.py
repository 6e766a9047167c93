"""Exporters: Prometheus collectors and OpenTelemetry spans."""
