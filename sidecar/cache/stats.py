"""Plain counters of the cache, exported by the telemetry layer (no Prometheus import here).

Every label set is bounded: lookup results are the four of :data:`LOOKUP_RESULTS`, guard names
those of :data:`sidecar.cache.guards.GUARD_NAMES`, eviction reasons those of
:data:`EVICTION_REASONS`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from sidecar.cache.guards import GUARD_NAMES

LookupOutcome = Literal["exact", "fuzzy", "semantic", "miss", "rejected_by_guard"]
LOOKUP_RESULTS: tuple[LookupOutcome, ...] = (
    "exact", "fuzzy", "semantic", "miss", "rejected_by_guard",
)  # fmt: skip
# "scope_limit": a whole scope evicted because ``max_scopes`` was reached.
EvictionReason = Literal["lru", "expired", "invalidated", "scope_limit"]
EVICTION_REASONS: tuple[EvictionReason, ...] = ("lru", "expired", "invalidated", "scope_limit")


class CacheStats(msgspec.Struct, kw_only=True):
    """A snapshot of the counters (monotonic, except ``entries``, ``bytes`` and ``scopes``)."""

    lookups: dict[str, int]
    guard_rejections: dict[str, int]
    evictions: dict[str, int]
    stores: int
    rejected_stores: int
    entries: int
    bytes: int
    scopes: int
    tokens_saved: int
    usd_saved: float
    pending_writes: int
    rejected_keys: int = 0
    semantic_ready: bool = False
    semantic_pending: int = 0
    semantic_vectors: int = 0
    semantic_dropped: int = 0


class Counters:
    """The mutable counters behind :class:`CacheStats`."""

    __slots__ = (
        "evictions",
        "guard_rejections",
        "lookups",
        "rejected_keys",
        "rejected_stores",
        "stores",
        "tokens_saved",
        "usd_saved",
    )

    def __init__(self) -> None:
        self.lookups: dict[str, int] = dict.fromkeys(LOOKUP_RESULTS, 0)
        self.guard_rejections: dict[str, int] = dict.fromkeys(GUARD_NAMES, 0)
        self.evictions: dict[str, int] = dict.fromkeys(EVICTION_REASONS, 0)
        self.stores = 0
        self.rejected_stores = 0
        self.rejected_keys = 0
        self.tokens_saved = 0
        self.usd_saved = 0.0
