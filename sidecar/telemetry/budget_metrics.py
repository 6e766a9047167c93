"""Budget ledger metrics, for ``/metrics``, read from a typed :class:`LedgerStats`.

``agent_sidecar_budget_reservations_open`` counts reservations not yet settled nor expired: on
the in-process ledger those of this sidecar; on PostgreSQL those of every sidecar sharing the
database, as counted at the last housekeeping round (every ``housekeeping_interval_s``).
"""

from __future__ import annotations

from collections.abc import Callable

from sidecar.budgets.model import LedgerStats
from sidecar.telemetry.stats_collector import StatsCollector


def register_budget_metrics(stats: StatsCollector, read: Callable[[], LedgerStats]) -> None:
    # fmt: off
    stats.gauge("agent_sidecar_budget_reservations_open", "Reservations not yet settled.",
                lambda: read().open_reservations)
    stats.counter("agent_sidecar_budget_reservations_expired",
                  "Reservations released unsettled after their TTL.",
                  lambda: read().expired)
    stats.counter("agent_sidecar_budget_settles", "Reservations settled with actual usage.",
                  lambda: read().settles)
    stats.counter("agent_sidecar_budget_store_errors", "Ledger store operations that failed.",
                  lambda: read().store_errors)
    # fmt: on
