"""The semantic cache: exact, then guarded fuzzy lookup, per scope, bounded, persisted.

Guarantees:

- **Scopes.** An entry lives in one (tenant, namespace, model, user_id) scope and a lookup reads
  only its own scope, plus the shared scope of a namespace configured ``shared_across_users``.
  A value stored with ``contains_pii=True`` stays in its user's scope even there.
- **Precision first.** A fuzzy hit needs a similarity of at least ``min_score`` (85 by default,
  rapidfuzz ``ratio`` over the sorted content words, so fillers and clause order do not cost
  score) *and* every guard of :mod:`sidecar.cache.guards`. On the 471 labelled pairs of
  tests/cache the precision is 1.0 with a recall of 0.97 (synonyms are the misses).
- **Speed.** The exact step is one dict lookup. The fuzzy step scores only the entries that
  contain every already-seen content word of the query (:mod:`sidecar.cache.index`), so with
  100,000 varied prompts in one scope a lookup takes about 0.2 ms at p50 and 1.2 ms at p99,
  where brute-force ``process.extractOne`` with ``ratio`` takes about 15 / 20-28 ms here.
- **Bounds.** TTL per entry; at most ``max_entries``/``max_bytes`` overall and
  ``max_entries_per_scope``/``max_bytes_per_scope`` per scope, evicting the least recently
  used. Memory is about 1.4-1.7 KiB per entry of a 60-character prompt and a 150-byte answer
  (100,000 entries over 10,000 users: 170 MB).
- **Warm restarts.** With a :class:`~sidecar.cache.persistence.CachePersistence`, stores are
  queued and written by :meth:`SemanticCache.flush`; invalidations are written at once.

Example::

    cache = SemanticCache(CacheConfig())
    scope = CacheScope("acme", "faq", "gpt-4o", "u1")
    cache.store(scope, "What is the capital of France?", "Paris", cost_usd=0.002, tokens=40)
    cache.lookup(scope, "what is the capital of france").match      # "exact"
    cache.lookup(scope, "hey, what's the captial of France?").match  # "fuzzy"
    cache.lookup(scope, "What is the capital of Spain?").result      # "miss"

Not thread-safe: call it from one event loop; only :meth:`flush` may run in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

import msgspec
from rapidfuzz import fuzz, process

from sidecar.cache.config import CacheConfig
from sidecar.cache.guards import DEFAULT_GUARDS, Guard, first_failing
from sidecar.cache.index import Entry, ScopeIndex
from sidecar.cache.persistence import CachePersistence, PersistedEntry, SqliteCachePersistence
from sidecar.cache.scope import CacheScope, lookup_scopes, storage_scope
from sidecar.cache.stats import CacheStats, Counters, EvictionReason, LookupOutcome
from sidecar.cache.text import (
    Analysis,
    InvalidCacheKeyError,
    analyse,
    canonical_json,
    is_json_key,
)

CacheKey = Any  # text (str) or a JSON value (tool arguments)
_FUZZY_TOP = 5


class LookupResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a lookup found. ``guard`` names the guard that turned the best candidate away."""

    hit: bool
    result: LookupOutcome
    value: Any = None
    match: Literal["exact", "fuzzy"] | None = None
    score: float | None = None
    saved_cost_usd: float = 0.0
    saved_tokens: int = 0
    guard: str | None = None


_MISS = LookupResult(hit=False, result="miss")


class ValueNotJSONError(ValueError):
    """The value to cache cannot be encoded as JSON."""


class SemanticCache:
    """Scoped exact + guarded fuzzy cache; see the module docstring for its guarantees."""

    def __init__(
        self,
        config: CacheConfig,
        clock: Callable[[], float] = time.time,
        persistence: CachePersistence | None = None,
        guards: tuple[Guard, ...] = DEFAULT_GUARDS,
    ) -> None:
        self.config = config
        self._clock = clock
        self._persistence = persistence
        self._guards = guards
        self._guard_names = frozenset(g.name for g in guards)
        self._scopes: dict[CacheScope, ScopeIndex] = {}
        self._lru: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._counters = Counters()
        self._pending: dict[str, PersistedEntry | None] = {}
        self._pending_lock = threading.Lock()
        # One flush at a time, so that a later flush (say, of an invalidation) never lands
        # before an earlier one (of the store it invalidates) still being written.
        self._flush_lock = threading.Lock()

    @classmethod
    def open(cls, config: CacheConfig, clock: Callable[[], float] = time.time) -> SemanticCache:
        """A cache persisted at ``config.persistence_path`` (if set), loaded from it."""
        persistence = (
            SqliteCachePersistence(config.persistence_path) if config.persistence_path else None
        )
        cache = cls(config, clock=clock, persistence=persistence)
        cache.load()
        return cache

    # -- lookups -------------------------------------------------------------------------

    def lookup(self, scope: CacheScope, key: CacheKey) -> LookupResult:
        """Exact match in O(1), then a guarded fuzzy match; never crosses scopes."""
        if not self.config.enabled:
            return self._count(_MISS)
        exact_key, analysis = _normalise(key)
        now = self._clock()
        scopes = [s for s in lookup_scopes(self.config, scope) if s in self._scopes]
        for s in scopes:
            entry = self._scopes[s].exact.get(exact_key)
            if entry is not None:
                if entry.expires_at > now:
                    return self._hit(entry, "exact", 100.0)
                self._remove(entry, "expired")
        if analysis is None or not analysis.content:
            return self._count(_MISS)
        if not self.config.namespace(scope.namespace).fuzzy:
            return self._count(_MISS)
        min_score = self.config.min_score_for(scope.namespace)
        rejected_by: str | None = None
        for s in scopes:
            index = self._scopes.get(s)
            if index is None:
                continue
            found, guard = self._fuzzy(index, analysis, min_score, now)
            if found is not None:
                return found
            rejected_by = rejected_by or guard
        if rejected_by is not None:
            self._counters.guard_rejections[rejected_by] += 1
            return self._count(
                LookupResult(hit=False, result="rejected_by_guard", guard=rejected_by)
            )
        return self._count(_MISS)

    def _fuzzy(
        self, index: ScopeIndex, query: Analysis, min_score: float, now: float
    ) -> tuple[LookupResult | None, str | None]:
        active = self._guard_names
        words = query.words if "content" in active else ()
        exact_units = tuple(u for u, owner in query.guarded_units if owner in active)
        candidates = index.candidates(
            words, exact_units, query.content, self.config.max_candidates
        ).entries
        live = [e for e in candidates if e.expires_at > now]
        for entry in candidates:
            if entry.expires_at <= now:
                self._remove(entry, "expired")
        if not live:
            return None, None
        scored = process.extract(
            query.sorted_content,
            [e.sorted_content for e in live],
            scorer=fuzz.ratio,
            score_cutoff=min_score,
            limit=_FUZZY_TOP,
        )
        rejected_by: str | None = None
        for _, score, i in scored:
            entry = live[i]
            failed = first_failing(self._guards, query, analyse(entry.key), index.is_known)
            if failed is None:
                return self._hit(entry, "fuzzy", float(score)), None
            rejected_by = rejected_by or failed
        return None, rejected_by

    def _hit(self, entry: Entry, match: Literal["exact", "fuzzy"], score: float) -> LookupResult:
        self._scopes[entry.scope].touch(entry)
        self._lru.move_to_end(entry.id)
        counters = self._counters
        counters.tokens_saved += entry.tokens or 0
        counters.usd_saved += entry.cost_usd or 0.0
        return self._count(
            LookupResult(
                hit=True,
                result=match,
                value=msgspec.json.decode(entry.value_json),
                match=match,
                score=score,
                saved_cost_usd=entry.cost_usd or 0.0,
                saved_tokens=entry.tokens or 0,
            )
        )

    def _count(self, result: LookupResult) -> LookupResult:
        self._counters.lookups[result.result] += 1
        return result

    # -- stores ----------------------------------------------------------------------------

    def store(
        self,
        scope: CacheScope,
        key: CacheKey,
        value: Any,
        ttl_s: float | None = None,
        *,
        contains_pii: bool = False,
        cost_usd: float | None = None,
        tokens: int | None = None,
    ) -> None:
        """Cache ``value`` under ``key``, replacing an entry with the same normalised key.

        Raises :class:`~sidecar.cache.scope.PiiScopeError` for a PII value without a user,
        :class:`~sidecar.cache.text.InvalidCacheKeyError` or :class:`ValueNotJSONError` for non-JSON
        input. A ``ttl_s`` of 0 or less, or an entry larger than a byte limit, is not stored.
        """
        if not self.config.enabled:
            return
        target = storage_scope(self.config, scope, contains_pii)
        ttl = self.config.ttl_for(scope.namespace, ttl_s)
        exact_key, analysis = _normalise(key)
        try:
            value_json = msgspec.json.encode(value)
        except (TypeError, msgspec.EncodeError) as exc:
            raise ValueNotJSONError(f"cache value is not JSON: {exc}") from exc
        if ttl <= 0:
            return
        now = self._clock()
        entry = Entry(
            target,
            exact_key,
            _key_text(key, exact_key),
            analysis,
            value_json,
            created_at=now,
            expires_at=now + ttl,
            contains_pii=contains_pii,
            cost_usd=cost_usd,
            tokens=tokens,
        )
        limit = min(self.config.max_bytes_per_scope, self.config.max_bytes)
        if entry.nbytes > limit:
            self._counters.rejected_stores += 1
            return
        self._insert(entry)
        self._queue(entry.id, _persisted(entry))
        self._counters.stores += 1

    def _insert(self, entry: Entry) -> None:
        index = self._scopes.get(entry.scope)
        if index is None:
            index = self._scopes[entry.scope] = ScopeIndex()
        old = index.exact.get(entry.exact_key)
        if old is not None:
            self._remove(old, None, persist=old.id != entry.id)
            index = self._scopes.setdefault(entry.scope, index)
        index.add(entry)
        self._lru[entry.id] = entry
        self._bytes += entry.nbytes
        cfg = self.config
        while len(index) > cfg.max_entries_per_scope or index.nbytes > cfg.max_bytes_per_scope:
            self._remove(index.oldest(), "lru")
        while len(self._lru) > cfg.max_entries or self._bytes > cfg.max_bytes:
            self._remove(next(iter(self._lru.values())), "lru")

    def _remove(self, entry: Entry, reason: EvictionReason | None, persist: bool = True) -> None:
        index = self._scopes[entry.scope]
        index.remove(entry)
        if not index:
            del self._scopes[entry.scope]
        del self._lru[entry.id]
        self._bytes -= entry.nbytes
        if reason is not None:
            self._counters.evictions[reason] += 1
        if persist:
            self._queue(entry.id, None)

    # -- invalidation and expiry -------------------------------------------------------------

    def invalidate(self, scope: CacheScope, key: CacheKey | None = None) -> int:
        """Remove ``key`` (from the scope and, for a shared namespace, its shared scope), or
        every entry of exactly ``scope`` when ``key`` is None. Written through to persistence.
        """
        if key is None:
            index = self._scopes.get(scope)
            victims = list(index.entries.values()) if index is not None else []
        else:
            exact_key, _ = _normalise(key)
            victims = [
                e
                for s in lookup_scopes(self.config, scope)
                if s in self._scopes and (e := self._scopes[s].exact.get(exact_key)) is not None
            ]
        return self._invalidate(victims)

    def invalidate_namespace(self, tenant: str | None, namespace: str) -> int:
        """Remove every entry of ``namespace`` for ``tenant``, across models and users."""
        victims = [
            e
            for s, index in self._scopes.items()
            if s.tenant == tenant and s.namespace == namespace
            for e in index.entries.values()
        ]
        return self._invalidate(victims)

    def _invalidate(self, victims: list[Entry]) -> int:
        for entry in victims:
            self._remove(entry, "invalidated")
        if victims:
            self.flush()
        return len(victims)

    def purge_expired(self) -> int:
        """Drop every expired entry (lookups drop the ones they meet; call this periodically)."""
        now = self._clock()
        expired = [e for e in self._lru.values() if e.expires_at <= now]
        for entry in expired:
            self._remove(entry, "expired")
        return len(expired)

    # -- persistence -------------------------------------------------------------------------

    def _queue(self, entry_id: str, row: PersistedEntry | None) -> None:
        if self._persistence is None:
            return
        with self._pending_lock:
            self._pending[entry_id] = row
            full = len(self._pending) >= self.config.max_pending_writes
        if full:
            self.flush()

    def flush(self) -> int:
        """Write queued stores and deletions in one transaction; returns how many."""
        if self._persistence is None:
            return 0
        with self._flush_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return 0
            try:
                upserts = [row for row in pending.values() if row is not None]
                deletes = [i for i, row in pending.items() if row is None]
                if upserts:
                    self._persistence.upsert(upserts)
                if deletes:
                    self._persistence.delete(deletes)
            except BaseException:
                with self._pending_lock:
                    for entry_id, row in pending.items():
                        self._pending.setdefault(entry_id, row)
                raise
            return len(pending)

    def load(self) -> int:
        """Load persisted entries (dropping expired ones); returns how many are in memory."""
        if self._persistence is None:
            return 0
        now = self._clock()
        expired: list[str] = []
        for row in self._persistence.load_all():
            if row.expires_at <= now:
                expired.append(row.id)
                continue
            scope = CacheScope(row.tenant, row.namespace, row.model, row.user_id)
            key: CacheKey = msgspec.json.decode(row.key) if row.key_is_json else row.key
            exact_key, analysis = _normalise(key)
            entry = Entry(
                scope,
                exact_key,
                row.key,
                analysis,
                row.value_json,
                created_at=row.created_at,
                expires_at=row.expires_at,
                contains_pii=row.contains_pii,
                cost_usd=row.cost_usd,
                tokens=row.tokens,
            )
            entry.id = row.id
            self._insert(entry)
        if expired:
            self._persistence.delete(expired)
        return len(self._lru)

    def close(self) -> None:
        """Flush and close the persistence."""
        if self._persistence is not None:
            self.flush()
            self._persistence.close()

    # -- counters ----------------------------------------------------------------------------

    def stats(self) -> CacheStats:
        c = self._counters
        return CacheStats(
            lookups=dict(c.lookups),
            guard_rejections=dict(c.guard_rejections),
            evictions=dict(c.evictions),
            stores=c.stores,
            rejected_stores=c.rejected_stores,
            entries=len(self._lru),
            bytes=self._bytes,
            scopes=len(self._scopes),
            tokens_saved=c.tokens_saved,
            usd_saved=c.usd_saved,
            pending_writes=len(self._pending),
        )

    def __len__(self) -> int:
        return len(self._lru)


def _normalise(key: CacheKey) -> tuple[str, Analysis | None]:
    if isinstance(key, str):
        analysis = analyse(key)
        return analysis.exact_key, analysis
    return canonical_json(key), None


def _key_text(key: CacheKey, exact_key: str) -> str:
    return key if isinstance(key, str) else exact_key.split(":", 1)[1]


def _persisted(entry: Entry) -> PersistedEntry:
    scope = entry.scope
    return PersistedEntry(
        id=entry.id,
        tenant=scope.tenant,
        namespace=scope.namespace,
        model=scope.model,
        user_id=scope.user_id,
        key=entry.key,
        key_is_json=is_json_key(entry.exact_key),
        value_json=entry.value_json,
        created_at=entry.created_at,
        expires_at=entry.expires_at,
        contains_pii=entry.contains_pii,
        cost_usd=entry.cost_usd,
        tokens=entry.tokens,
    )


__all__ = ["InvalidCacheKeyError", "LookupResult", "SemanticCache", "ValueNotJSONError"]
