"""Configuration of the semantic cache: limits, thresholds and per-namespace policies.

Every default is the safe one: namespaces are per user, fuzzy matches need a score of 85 on the
content form *and* every guard, entries live one hour, and the cache is bounded to 100,000
entries / 256 MiB overall and 20,000 entries / 32 MiB per scope.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Score = Annotated[float, msgspec.Meta(ge=0, le=100)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]


class NamespaceConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Policy of one namespace.

    ``shared_across_users``: entries are stored without the user id (one copy for every user of
    the tenant, e.g. a public FAQ), except values stored with ``contains_pii`` which stay per user.
    ``fuzzy``: allow fuzzy matches at all (tool-call namespaces may want exact only).
    ``min_score``/``ttl_s``: override the cache-wide defaults.
    """

    shared_across_users: bool = False
    fuzzy: bool = True
    min_score: Score | None = None
    ttl_s: Seconds | None = None


class CacheConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``cache`` section of the sidecar configuration."""

    enabled: bool = True
    default_ttl_s: Seconds = 3600.0
    min_score: Score = 85.0
    max_entries: PositiveInt = 100_000
    max_bytes: PositiveInt = 256 * 1024 * 1024
    max_entries_per_scope: PositiveInt = 20_000
    max_bytes_per_scope: PositiveInt = 32 * 1024 * 1024
    max_candidates: PositiveInt = 1_000
    namespaces: dict[str, NamespaceConfig] = msgspec.field(default_factory=dict)
    persistence_path: str | None = None
    flush_interval_s: Seconds = 1.0
    max_pending_writes: PositiveInt = 10_000

    def namespace(self, name: str) -> NamespaceConfig:
        """The policy of ``name``: its own section, or the per-user default."""
        return self.namespaces.get(name, _DEFAULT_NAMESPACE)

    def min_score_for(self, name: str) -> float:
        ns = self.namespace(name)
        return self.min_score if ns.min_score is None else ns.min_score

    def ttl_for(self, name: str, ttl_s: float | None) -> float:
        if ttl_s is not None:
            return ttl_s
        ns = self.namespace(name)
        return self.default_ttl_s if ns.ttl_s is None else ns.ttl_s


_DEFAULT_NAMESPACE = NamespaceConfig()
