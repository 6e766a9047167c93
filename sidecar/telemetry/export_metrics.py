"""Metrics of the OTLP exporters and of pricing, for ``/metrics``: spans exported, dropped (by
reason) and queued; events the OTLP metrics queue could not take; LLM calls of unpriced models."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sidecar.telemetry.stats_collector import StatsCollector

Snapshot = Callable[[], Mapping[str, int]]


def register_span_metrics(stats: StatsCollector, read: Snapshot) -> None:
    """``read``: the span sink's counters (exported, dropped_queue_full, export_failed, queued)."""
    stats.counter(
        "agent_sidecar_spans_exported",
        "GenAI spans the OTLP collector accepted.",
        lambda: read()["exported"],
    )
    stats.counter(
        "agent_sidecar_spans_dropped",
        "GenAI spans dropped, by reason.",
        lambda: {
            "queue_full": read()["dropped_queue_full"],
            "export_failed": read()["export_failed"],
        },
        labels=("reason",),
    )
    stats.gauge(
        "agent_sidecar_spans_queued", "GenAI spans waiting for export.", lambda: read()["queued"]
    )


def register_otlp_metrics_metrics(stats: StatsCollector, read: Snapshot) -> None:
    stats.counter(
        "agent_sidecar_otlp_metrics_dropped",
        "Events not recorded in the OTLP metrics because their queue was full.",
        lambda: read()["dropped_queue_full"],
    )


def register_pricing_metrics(stats: StatsCollector, unpriced: Callable[[], int]) -> None:
    stats.counter(
        "agent_sidecar_unpriced_calls",
        "LLM calls of a model missing from the price table (charged the default price).",
        unpriced,
    )
