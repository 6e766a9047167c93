"""Semantic cache metrics, for ``/metrics``, read from the cache's :class:`CacheStats`.

Labels come from fixed sets (lookup results, guard names, eviction reasons); no namespace,
tenant or key is ever a label.
"""

from __future__ import annotations

from collections.abc import Callable

from sidecar.cache.stats import CacheStats
from sidecar.telemetry.stats_collector import StatsCollector


def register_cache_metrics(stats: StatsCollector, read: Callable[[], CacheStats]) -> None:
    # fmt: off
    stats.counter("agent_sidecar_cache_lookups", "Cache lookups by result.",
                  lambda: read().lookups, labels=("result",))
    stats.counter("agent_sidecar_cache_guard_rejections",
                  "Fuzzy candidates turned away, by the guard that refused them.",
                  lambda: read().guard_rejections, labels=("guard",))
    stats.counter("agent_sidecar_cache_evictions", "Cache entries removed, by reason.",
                  lambda: read().evictions, labels=("reason",))
    stats.gauge("agent_sidecar_cache_entries", "Entries in the cache.", lambda: read().entries)
    stats.gauge("agent_sidecar_cache_size_bytes", "Approximate bytes held by the cache.",
                lambda: read().bytes)
    stats.counter("agent_sidecar_cache_saved_usd",
                  "US dollars of model calls replaced by cache hits.", lambda: read().usd_saved)
    stats.counter("agent_sidecar_cache_saved_tokens", "Tokens of model calls replaced by hits.",
                  lambda: read().tokens_saved)
    stats.gauge("agent_sidecar_cache_scopes", "Scopes in the cache (bounded by max_scopes).",
                lambda: read().scopes)
    stats.counter("agent_sidecar_cache_rejected_keys", "Cache keys refused as too large.",
                  lambda: read().rejected_keys)
    stats.gauge("agent_sidecar_cache_semantic_pending", "Stores waiting for their embedding.",
                lambda: read().semantic_pending)
    stats.counter("agent_sidecar_cache_semantic_dropped",
                  "Stores left lexical only because the embedding queue was full.",
                  lambda: read().semantic_dropped)
    # fmt: on
