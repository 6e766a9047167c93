"""Fleet publishing metrics, for ``/metrics``: exported on every backend, so dashboards read 0
rather than nothing where the sketches are not shared (SQLite)."""

from __future__ import annotations

from collections.abc import Callable

from sidecar.analytics.fleet import FleetStats
from sidecar.telemetry.stats_collector import StatsCollector


def register_fleet_metrics(
    stats: StatsCollector, read: Callable[[], FleetStats], shared: bool
) -> None:
    # fmt: off
    stats.gauge("agent_sidecar_fleet_shared",
                "1 when this sidecar publishes its sketches to the shared database.",
                lambda: 1 if shared else 0)
    stats.counter("agent_sidecar_fleet_publishes", "Window sketches upserted to the fleet table.",
                  lambda: read().publishes)
    stats.counter("agent_sidecar_fleet_publish_failures",
                  "Fleet upserts that failed (retried the next interval).",
                  lambda: read().publish_failures)
    stats.gauge("agent_sidecar_fleet_publish_bytes", "Bytes of sketches in the last fleet upsert.",
                lambda: read().last_publish_bytes)
    # fmt: on
