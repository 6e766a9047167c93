"""The sidecar's own ingest and store metrics, in base units, on a given registry.

No label carries a user, session or request id: ``reason`` is one of a fixed set of codes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_WRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 10, 50, 100, 500, 1000, 2500, 5000, 10000)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.ingested = Counter(
            "agent_sidecar_events_ingested", "Events stored (new, not duplicates).",
            registry=registry,
        )
        self.rejected = Counter(
            "agent_sidecar_events_rejected", "Requests to /v1/events rejected, by reason.",
            ["reason"], registry=registry,
        )
        self.duplicates = Counter(
            "agent_sidecar_events_duplicate", "Events already stored, sent again.",
            registry=registry,
        )
        self.unknown_fields = Counter(
            "agent_sidecar_events_unknown_fields",
            "Events carrying fields outside the schema (ignored).", registry=registry,
        )
        self.store_write_seconds = Histogram(
            "agent_sidecar_store_write_duration_seconds",
            "Duration of one group commit of events.", buckets=_WRITE_BUCKETS, registry=registry,
        )
        self.store_batch_events = Histogram(
            "agent_sidecar_store_batch_events", "Events per group commit.",
            buckets=_BATCH_BUCKETS, registry=registry,
        )
        self.queue_depth = Gauge(
            "agent_sidecar_ingest_queue_depth", "Events waiting for a commit.", registry=registry
        )
        self.store_up = Gauge(
            "agent_sidecar_store_up", "1 when the last database check succeeded.",
            registry=registry,
        )

    def on_commit(self, seconds: float, events: int) -> None:
        self.store_write_seconds.observe(seconds)
        self.store_batch_events.observe(events)
