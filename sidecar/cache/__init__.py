"""Semantic cache: normalised exact lookup, then fuzzy and (optionally) embedding lookups behind
guards, per scope.

See :mod:`sidecar.cache.cache` for the guarantees and docs/cache.md for the user guide.
"""

from sidecar.cache.cache import LookupResult, SemanticCache, StoreItem, ValueNotJSONError
from sidecar.cache.config import CacheConfig, NamespaceConfig, SemanticConfig
from sidecar.cache.guards import DEFAULT_GUARDS, GUARD_NAMES, Guard
from sidecar.cache.persistence import CachePersistence, PersistedEntry, SqliteCachePersistence
from sidecar.cache.scope import CacheScope, PiiScopeError
from sidecar.cache.stats import EVICTION_REASONS, LOOKUP_RESULTS, CacheStats
from sidecar.cache.text import InvalidCacheKeyError

__all__ = [
    "DEFAULT_GUARDS",
    "EVICTION_REASONS",
    "GUARD_NAMES",
    "LOOKUP_RESULTS",
    "CacheConfig",
    "CachePersistence",
    "CacheScope",
    "CacheStats",
    "Guard",
    "InvalidCacheKeyError",
    "LookupResult",
    "NamespaceConfig",
    "PersistedEntry",
    "PiiScopeError",
    "SemanticCache",
    "SemanticConfig",
    "SqliteCachePersistence",
    "StoreItem",
    "ValueNotJSONError",
]
