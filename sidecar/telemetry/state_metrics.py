"""Bounded per-user, per-request and per-scope state, for ``/metrics``: what left at a cap, and
what a cap refused (docs/reliability.md#bounded-state). Parts are a fixed set of names."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sidecar.telemetry.stats_collector import StatsCollector

REFUSING_PARTS = ("counters", "reservations", "policies")


def register_state_metrics(
    stats: StatsCollector,
    ledger: Callable[[], Mapping[str, int]],
    limiter_evicted: Callable[[], int],
    cache_evictions: Callable[[], Mapping[str, int]],
    buckets_evicted: Callable[[], int],
) -> None:
    """``ledger``: the ledger's counters (empty without budgets)."""

    def evictions() -> dict[str, float]:
        lost = cache_evictions()
        return {"ledger_counters": ledger().get("state_evictions_counters", 0),
                "limiter_requests": limiter_evicted(),
                "cache_entries": lost.get("lru", 0),
                "cache_scopes": lost.get("scope_limit", 0),
                "rate_limit_buckets": buckets_evicted()}  # fmt: skip

    def refusals() -> dict[str, float]:
        counters = ledger()
        return {part: counters.get(f"state_refusals_{part}", 0) for part in REFUSING_PARTS}

    stats.counter(
        "agent_sidecar_state_evictions",
        "Per-user, per-request and per-scope state dropped at its cap, by part.",
        evictions,
        labels=("part",),
    )
    stats.counter(
        "agent_sidecar_state_refusals",
        "Budget scopes, reservations and policies refused at their cap, by part.",
        refusals,
        labels=("part",),
    )
