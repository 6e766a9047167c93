"""Exporters: Prometheus collectors (and GenAI spans) fed by the event sinks."""
