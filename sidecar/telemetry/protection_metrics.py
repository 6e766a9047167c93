"""Request protection metrics, for ``/metrics``: rate-limit refusals, timeouts and the size of
the rate limiter's table (read from the HTTP layer's counters through a small protocol, so
telemetry does not import the web server)."""

from __future__ import annotations

from typing import Protocol

from sidecar.telemetry.stats_collector import StatsCollector


class ProtectionCounters(Protocol):
    rate_limited: int
    timeouts: int
    buckets: int


def register_protection_metrics(stats: StatsCollector, counters: ProtectionCounters) -> None:
    stats.counter(
        "agent_sidecar_requests_rate_limited",
        "Requests refused with 429 by the per-token rate limit.",
        lambda: counters.rate_limited,
    )
    stats.counter(
        "agent_sidecar_requests_timed_out",
        "Requests answered 503 after request_timeout_s.",
        lambda: counters.timeouts,
    )
    stats.gauge(
        "agent_sidecar_rate_limit_buckets",
        "Callers tracked by the rate limiter (bounded by rate_limit_max_clients).",
        lambda: counters.buckets,
    )
