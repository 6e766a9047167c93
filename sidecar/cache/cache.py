"""The semantic cache: exact, then guarded fuzzy, then guarded semantic lookup, per scope.

Guarantees:

- **Scopes.** An entry lives in one (tenant, namespace, model, user_id) scope and a lookup reads
  only its own scope, plus the shared scope of a namespace configured ``shared_across_users``.
  A value stored with ``contains_pii=True`` stays in its user's scope even there.
- **Precision first.** A fuzzy hit needs a similarity of at least ``min_score`` (rapidfuzz
  ``ratio`` over the sorted content words) *and* every lexical guard of
  :mod:`sidecar.cache.guards`; a semantic hit (``cache.semantic.enabled``) needs a cosine of at
  least ``semantic.min_similarity`` *and* every semantic guard of
  :mod:`sidecar.cache.semantic_guards`. Measured precision and recall per tier and per kind of
  rephrasing are in docs/cache.md.
- **Speed.** The exact step is one dict lookup; the fuzzy step scores only the entries that
  contain every already-seen content word of the query (:mod:`sidecar.cache.index`); the
  semantic step embeds the query and searches one scope's vectors (:mod:`sidecar.cache.vectors`).
  The async variants keep the event loop free: a large key is analysed and every embedding is
  computed in a worker thread.
- **Bounds.** Keys of at most ``max_key_bytes`` (larger ones raise
  :class:`~sidecar.cache.text.InvalidCacheKeyError`); only keys of up to ``max_fuzzy_units``
  content units are compared fuzzily (longer ones match exactly or semantically). TTL per entry;
  at most ``max_entries``/``max_bytes``/``max_scopes`` overall and
  ``max_entries_per_scope``/``max_bytes_per_scope`` per scope, evicting the least recently used
  entry (or, past ``max_scopes``, the least recently used scope), each eviction counted.
- **Warm restarts.** With a :class:`~sidecar.cache.persistence.CachePersistence`, stores are
  queued and written by :meth:`SemanticCache.flush` with their embedding once it is computed;
  invalidations are written at once. A restart restores the vectors instead of recomputing them.

Example::

    cache = SemanticCache(CacheConfig())
    scope = CacheScope("acme", "faq", "gpt-4o", "u1")
    cache.store(scope, "What is the capital of France?", "Paris", cost_usd=0.002, tokens=40)
    cache.lookup(scope, "what is the capital of france").match      # "exact"
    cache.lookup(scope, "hey, what's the captial of France?").match  # "fuzzy"
    cache.lookup(scope, "What is the capital of Spain?").result      # "miss"

Not thread-safe: call it from one event loop (or one thread); the semantic tier's worker and
:meth:`flush` may run in other threads.

Long module: the lookup tiers, the store, eviction and persistence hooks share one entry table
and its lock; the text analysis, guards, index and semantic tier are modules of their own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import msgspec
from rapidfuzz import fuzz, process

from sidecar.cache.config import CacheConfig
from sidecar.cache.guards import DEFAULT_GUARDS, Guard, first_failing
from sidecar.cache.index import Entry, ScopeIndex
from sidecar.cache.persistence import CachePersistence, PersistedEntry, SqliteCachePersistence
from sidecar.cache.scope import CacheScope, lookup_scopes, storage_scope
from sidecar.cache.stats import CacheStats, Counters, EvictionReason, LookupOutcome
from sidecar.cache.structured import JSON_PREFIX
from sidecar.cache.text import (
    Analysis,
    InvalidCacheKeyError,
    analyse,
    canonical_json,
    is_json_key,
)

CacheKey = Any  # text (str) or a JSON value (tool arguments)
Match = Literal["exact", "fuzzy", "semantic"]
_FUZZY_TOP = 5
OFF_LOOP_KEY_CHARS = 2048  # the async API analyses longer keys in a worker thread


class LookupResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a lookup found. ``guard`` names the guard that turned the best candidate away.
    ``score`` is 0-100: rapidfuzz's score for a fuzzy hit, 100 x cosine for a semantic one."""

    hit: bool
    result: LookupOutcome
    value: Any = None
    match: Match | None = None
    score: float | None = None
    saved_cost_usd: float = 0.0
    saved_tokens: int = 0
    guard: str | None = None


_MISS = LookupResult(hit=False, result="miss")


class ValueNotJSONError(ValueError):
    """The value to cache cannot be encoded as JSON."""


class StoreItem(NamedTuple):
    """One entry of :meth:`SemanticCache.store_many`."""

    scope: CacheScope
    key: CacheKey
    value: Any
    ttl_s: float | None = None
    contains_pii: bool = False
    cost_usd: float | None = None
    tokens: int | None = None


class Prepared(NamedTuple):
    """A key normalised (and, for text, analysed): computed off the loop for large keys."""

    exact_key: str
    analysis: Analysis | None
    text: str | None


class SemanticCache:
    """Scoped exact + guarded fuzzy + guarded semantic cache; see the module docstring."""

    def __init__(
        self,
        config: CacheConfig,
        clock: Callable[[], float] = time.time,
        persistence: CachePersistence | None = None,
        guards: tuple[Guard, ...] = DEFAULT_GUARDS,
        semantic: Any = None,
        semantic_guards: tuple[Guard, ...] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._persistence = persistence
        self._guards = guards
        self._guard_names = frozenset(g.name for g in guards)
        self._scopes: OrderedDict[CacheScope, ScopeIndex] = OrderedDict()  # LRU order
        self._lru: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._counters = Counters()
        self._pending: dict[str, PersistedEntry | None] = {}
        self._pending_lock = threading.Lock()
        # One flush at a time, so that a later flush (say, of an invalidation) never lands
        # before an earlier one (of the store it invalidates) still being written.
        self._flush_lock = threading.Lock()
        self._semantic = semantic
        self._loaded = False
        if semantic is not None:
            from sidecar.cache.semantic_guards import SEMANTIC_GUARDS

            semantic.on_embedded = self._embedded
            self._semantic_guards = semantic_guards or SEMANTIC_GUARDS

    @classmethod
    def open(cls, config: CacheConfig, clock: Callable[[], float] = time.time) -> SemanticCache:
        """A cache persisted at ``config.persistence_path`` (if set), loaded from it, with the
        semantic tier when ``config.semantic.enabled``."""
        persistence = (
            SqliteCachePersistence(config.persistence_path) if config.persistence_path else None
        )
        return cls.open_with(config, persistence, clock)

    @classmethod
    def open_with(
        cls,
        config: CacheConfig,
        persistence: CachePersistence | None,
        clock: Callable[[], float] = time.time,
        *,
        load: bool = True,
    ) -> SemanticCache:
        """A cache over ``persistence``; ``load=False`` leaves :meth:`ensure_loaded` to the
        caller (the app loads a PostgreSQL-backed cache in its startup, after the schema)."""
        semantic = None
        if config.semantic.enabled:
            from sidecar.cache.semantic import SemanticTier

            semantic = SemanticTier(config.semantic)
        cache = cls(config, clock=clock, persistence=persistence, semantic=semantic)
        if load:
            cache.load()
        return cache

    @property
    def semantic(self) -> Any:
        """The :class:`~sidecar.cache.semantic.SemanticTier`, or None when it is off."""
        return self._semantic

    # -- lookups -------------------------------------------------------------------------

    def prepare(self, key: CacheKey) -> Prepared:
        """Normalise and analyse ``key`` (pure: safe in any thread). Raises
        :class:`InvalidCacheKeyError` for a non-JSON value or a key over ``max_key_bytes``."""
        if isinstance(key, str):
            if len(key) > self.config.max_key_bytes or len(key.encode()) > (
                self.config.max_key_bytes
            ):
                self._counters.rejected_keys += 1
                raise InvalidCacheKeyError(
                    f"cache key is larger than {self.config.max_key_bytes} bytes"
                )
            analysis = analyse(key)
            return Prepared(analysis.exact_key, analysis, key)
        exact = canonical_json(key)
        if len(exact.encode()) - len(JSON_PREFIX) > self.config.max_key_bytes:
            self._counters.rejected_keys += 1
            raise InvalidCacheKeyError(
                f"cache key is larger than {self.config.max_key_bytes} bytes"
            )
        return Prepared(exact, None, None)

    def lookup(self, scope: CacheScope, key: CacheKey) -> LookupResult:
        """Exact match in O(1), then a guarded fuzzy match, then (with the semantic tier) a
        guarded semantic match, embedding the query in this thread; never crosses scopes."""
        if not self.config.enabled:
            return self._count(_MISS)
        prepared = self.prepare(key)
        result, scopes = self._lexical(scope, prepared)
        if not self._wants_semantic(result, scope, prepared):
            return self._count(result)
        hits = self._semantic.search(scopes, prepared.text)
        return self._count(self._semantic_pick(prepared, hits, result))

    async def lookup_async(self, scope: CacheScope, key: CacheKey) -> LookupResult:
        """:meth:`lookup` that keeps the event loop free: a key of more than 2,048 characters
        is analysed, and the query embedded and searched, in a worker thread."""
        if not self.config.enabled:
            return self._count(_MISS)
        prepared = await self._prepare_async(key)
        result, scopes = self._lexical(scope, prepared)
        if not self._wants_semantic(result, scope, prepared):
            return self._count(result)
        hits = await asyncio.to_thread(self._semantic.search, scopes, prepared.text)
        return self._count(self._semantic_pick(prepared, hits, result))

    async def _prepare_async(self, key: CacheKey) -> Prepared:
        if isinstance(key, str) and len(key) <= OFF_LOOP_KEY_CHARS:
            return self.prepare(key)
        return await asyncio.to_thread(self.prepare, key)

    def _lexical(
        self, scope: CacheScope, prepared: Prepared
    ) -> tuple[LookupResult, tuple[CacheScope, ...]]:
        now = self._clock()
        scopes = tuple(s for s in lookup_scopes(self.config, scope) if s in self._scopes)
        for s in scopes:
            entry = self._scopes[s].exact.get(prepared.exact_key)
            if entry is not None:
                if entry.expires_at > now:
                    return self._hit(entry, "exact", 100.0), scopes
                self._remove(entry, "expired")
        scopes = tuple(s for s in scopes if s in self._scopes)
        analysis = prepared.analysis
        if analysis is None or not self._comparable(analysis) or not scopes:
            return _MISS, scopes
        if not self.config.namespace(scope.namespace).fuzzy:
            return _MISS, scopes
        min_score = self.config.min_score_for(scope.namespace)
        rejected_by: str | None = None
        for s in scopes:
            index = self._scopes.get(s)
            if index is None:
                continue
            found, guard = self._fuzzy(index, analysis, min_score, now)
            if found is not None:
                return found, scopes
            rejected_by = rejected_by or guard
        if rejected_by is not None:
            return self._rejected(rejected_by), scopes
        return _MISS, scopes

    def _rejected(self, guard: str) -> LookupResult:
        self._counters.guard_rejections[guard] += 1
        return LookupResult(hit=False, result="rejected_by_guard", guard=guard)

    def _wants_semantic(self, result: LookupResult, scope: CacheScope, prepared: Prepared) -> bool:
        return (
            not result.hit
            and self._semantic is not None
            and self._comparable(prepared.analysis)
            and self.config.namespace(scope.namespace).fuzzy
        )

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

    def _semantic_pick(
        self,
        prepared: Prepared,
        hits: list[tuple[Entry, float]],
        lexical: LookupResult,
    ) -> LookupResult:
        """The best live semantic candidate that passes every semantic guard."""
        from sidecar.cache.semantic_guards import TOPIC, topic_agrees

        query = prepared.analysis
        assert query is not None
        now = self._clock()
        rejected_by: str | None = None
        for entry, similarity in hits:
            index = self._scopes.get(entry.scope)
            if index is None or index.entries.get(entry.id) is not entry:
                continue  # evicted or replaced while the search ran
            if entry.expires_at <= now:
                self._remove(entry, "expired")
                continue
            cand = analyse(entry.key)
            guards = self._semantic_guards
            failed = first_failing(guards, query, cand, index.is_known)
            if failed is None and TOPIC in guards and not topic_agrees(query, cand, similarity):
                failed = "topic"
            if failed is None:
                return self._hit(entry, "semantic", round(100.0 * similarity, 2))
            rejected_by = rejected_by or failed
        if rejected_by is not None:
            return self._rejected(rejected_by)
        return lexical

    def _hit(self, entry: Entry, match: Match, score: float) -> LookupResult:
        self._scopes[entry.scope].touch(entry)
        self._scopes.move_to_end(entry.scope)
        self._lru.move_to_end(entry.id)
        counters = self._counters
        counters.tokens_saved += entry.tokens or 0
        counters.usd_saved += entry.cost_usd or 0.0
        return LookupResult(
            hit=True,
            result=match,
            value=msgspec.json.decode(entry.value_json),
            match=match,
            score=score,
            saved_cost_usd=entry.cost_usd or 0.0,
            saved_tokens=entry.tokens or 0,
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
    ) -> bool:
        """Cache ``value`` under ``key``, replacing an entry with the same normalised key;
        True when stored. With the semantic tier, the key's embedding is computed later, in
        the tier's worker thread.

        Raises :class:`~sidecar.cache.scope.PiiScopeError` for a PII value without a user,
        :class:`~sidecar.cache.text.InvalidCacheKeyError` or :class:`ValueNotJSONError` for
        non-JSON input or a key over ``max_key_bytes``. A ``ttl_s`` of 0 or less, or an entry
        larger than a byte limit, is not stored (False).
        """
        if not self.config.enabled:
            return False
        return self._store(StoreItem(scope, key, value, ttl_s, contains_pii, cost_usd, tokens),
                           self.prepare(key))  # fmt: skip

    def store_many(self, items: Sequence[StoreItem]) -> list[bool]:
        """:meth:`store` for each item (a batch: the tier embeds them together)."""
        return [self.store(*item[:4], contains_pii=item.contains_pii, cost_usd=item.cost_usd,
                           tokens=item.tokens) for item in items]  # fmt: skip

    async def store_async(self, item: StoreItem) -> bool:
        """:meth:`store`, analysing a key of more than 2,048 characters in a worker thread."""
        if not self.config.enabled:
            return False
        prepared = await self._prepare_async(item.key)
        return self._store(item, prepared)

    async def store_many_async(self, items: Sequence[StoreItem]) -> list[bool]:
        """:meth:`store_many` with every key analysed in one worker-thread call."""
        if not self.config.enabled:
            return [False] * len(items)
        prepared = await asyncio.to_thread(lambda: [self.prepare(i.key) for i in items])
        return [self._store(item, p) for item, p in zip(items, prepared, strict=True)]

    def _store(self, item: StoreItem, prepared: Prepared) -> bool:
        target = storage_scope(self.config, item.scope, item.contains_pii)
        ttl = self.config.ttl_for(item.scope.namespace, item.ttl_s)
        try:
            value_json = msgspec.json.encode(item.value)
        except (TypeError, msgspec.EncodeError) as exc:
            raise ValueNotJSONError(f"cache value is not JSON: {exc}") from exc
        if ttl <= 0:
            return False
        now = self._clock()
        entry = Entry(
            target,
            prepared.exact_key,
            _key_text(item.key, prepared.exact_key),
            prepared.analysis,
            value_json,
            created_at=now,
            expires_at=now + ttl,
            contains_pii=item.contains_pii,
            cost_usd=item.cost_usd,
            tokens=item.tokens,
        )
        limit = min(self.config.max_bytes_per_scope, self.config.max_bytes)
        if entry.nbytes > limit:
            self._counters.rejected_stores += 1
            return False
        self._insert(entry)
        self._queue(entry.id, _persisted(entry))
        self._counters.stores += 1
        if self._semantic is not None and self._comparable(prepared.analysis):
            self._submit_embedding(entry)
        return True

    def _comparable(self, analysis: Analysis | None) -> bool:
        """Text with content, short enough for the fuzzy and semantic tiers (longer keys match
        exactly: comparing them would cost more than a turn of the event loop may)."""
        return analysis is not None and 0 < len(analysis.content) <= self.config.max_fuzzy_units

    def _submit_embedding(self, entry: Entry) -> None:
        entry.in_tier = self._semantic.submit(entry)

    def _embedded(self, entry: Entry, vector: bytes) -> None:
        """Called by the tier's worker: persist the vector with its entry (if still alive)."""
        if self._persistence is None:
            return
        row = _persisted(entry, vector, self._semantic.model_id)
        with self._pending_lock:
            if entry.alive:
                self._pending[entry.id] = row

    def _insert(self, entry: Entry) -> None:
        index = self._scopes.get(entry.scope)
        if index is None:
            index = self._scopes[entry.scope] = ScopeIndex()
        self._scopes.move_to_end(entry.scope)
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
        while len(self._scopes) > cfg.max_scopes:
            victim = next(iter(self._scopes))
            for old_entry in list(self._scopes[victim].entries.values()):
                self._remove(old_entry, "scope_limit")

    def _remove(self, entry: Entry, reason: EvictionReason | None, persist: bool = True) -> None:
        index = self._scopes[entry.scope]
        index.remove(entry)
        if not index:
            del self._scopes[entry.scope]
        del self._lru[entry.id]
        self._bytes -= entry.nbytes
        if reason is not None:
            self._counters.evictions[reason] += 1
        with self._pending_lock:
            entry.alive = False
        if entry.in_tier:
            self._semantic.discard(entry)
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
            exact_key = self.prepare(key).exact_key
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

    def ensure_loaded(self) -> int:
        """:meth:`load`, unless it already ran."""
        return len(self._lru) if self._loaded else self.load()

    def load(self) -> int:
        """Load persisted entries (dropping expired ones) and their vectors; returns how many
        entries are in memory. Vectors made by another model are computed again."""
        self._loaded = True
        if self._persistence is None:
            return 0
        now = self._clock()
        expired: list[str] = []
        tier = self._semantic
        if tier is not None:
            tier.wait_ready()
        model_id = tier.model_id if tier is not None else None
        for row in self._persistence.load_all():
            if row.expires_at <= now:
                expired.append(row.id)
                continue
            scope = CacheScope(row.tenant, row.namespace, row.model, row.user_id)
            key: CacheKey = msgspec.json.decode(row.key) if row.key_is_json else row.key
            try:
                prepared = self.prepare(key)
            except InvalidCacheKeyError:
                expired.append(row.id)
                continue
            entry = Entry(
                scope,
                prepared.exact_key,
                row.key,
                prepared.analysis,
                row.value_json,
                created_at=row.created_at,
                expires_at=row.expires_at,
                contains_pii=row.contains_pii,
                cost_usd=row.cost_usd,
                tokens=row.tokens,
            )
            entry.id = row.id
            self._insert(entry)
            if tier is None or not self._comparable(prepared.analysis):
                continue
            if row.embedding is not None and row.embedding_model == model_id:
                entry.in_tier = True
                tier.restore(entry, row.embedding)
            else:
                self._submit_embedding(entry)
        if expired:
            self._persistence.delete(expired)
        return len(self._lru)

    def close(self) -> None:
        """Finish queued embeddings, flush and close the persistence."""
        if self._semantic is not None:
            self._semantic.wait_idle(timeout=30)
            self._semantic.close()
        if self._persistence is not None:
            self.flush()
            self._persistence.close()

    # -- counters ----------------------------------------------------------------------------

    def stats(self) -> CacheStats:
        c = self._counters
        semantic = self._semantic.stats() if self._semantic is not None else None
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
            rejected_keys=c.rejected_keys,
            semantic_ready=bool(semantic and semantic.ready),
            semantic_pending=semantic.pending if semantic else 0,
            semantic_vectors=semantic.vectors if semantic else 0,
            semantic_dropped=semantic.dropped if semantic else 0,
        )

    def __len__(self) -> int:
        return len(self._lru)


def _key_text(key: CacheKey, exact_key: str) -> str:
    return key if isinstance(key, str) else exact_key.split(":", 1)[1]


def _persisted(
    entry: Entry, embedding: bytes | None = None, model: str | None = None
) -> PersistedEntry:
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
        embedding=embedding,
        embedding_model=model,
    )


__all__ = [
    "InvalidCacheKeyError",
    "LookupResult",
    "Prepared",
    "SemanticCache",
    "StoreItem",
    "ValueNotJSONError",
]
