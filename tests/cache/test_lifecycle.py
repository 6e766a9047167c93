"""TTL, size limits with LRU eviction, invalidation, counters."""

from __future__ import annotations

from sidecar.cache import CacheConfig, CacheScope, NamespaceConfig, SemanticCache
from tests.cache.conftest import ManualClock


def test_entries_expire_after_their_ttl(
    cache: SemanticCache, scope: CacheScope, clock: ManualClock
) -> None:
    cache.store(scope, "What is the capital of France?", "Paris", ttl_s=60)
    clock.advance(59.9)
    assert cache.lookup(scope, "What is the capital of France?").hit
    assert cache.lookup(scope, "what's the capital of france please").hit
    clock.advance(0.2)
    assert not cache.lookup(scope, "What is the capital of France?").hit
    assert len(cache) == 0
    assert cache.stats().evictions["expired"] == 1


def test_fuzzy_lookups_skip_expired_entries(
    cache: SemanticCache, scope: CacheScope, clock: ManualClock
) -> None:
    cache.store(scope, "What is the capital of France?", "Paris", ttl_s=10)
    clock.advance(11)
    assert not cache.lookup(scope, "hey what's the capital of france please").hit
    assert len(cache) == 0


def test_namespace_ttl_and_default_ttl(clock: ManualClock) -> None:
    config = CacheConfig(default_ttl_s=100, namespaces={"short": NamespaceConfig(ttl_s=5)})
    cache = SemanticCache(config, clock=clock)
    short, default = CacheScope("t", "short"), CacheScope("t", "other")
    cache.store(short, "question one here", 1)
    cache.store(default, "question one here", 1)
    clock.advance(6)
    assert not cache.lookup(short, "question one here").hit
    assert cache.lookup(default, "question one here").hit


def test_zero_ttl_is_not_stored(cache: SemanticCache, scope: CacheScope) -> None:
    cache.store(scope, "anything at all", 1, ttl_s=0)
    assert len(cache) == 0


def test_purge_expired_drops_everything_past_its_ttl(
    cache: SemanticCache, clock: ManualClock
) -> None:
    for i in range(10):
        cache.store(CacheScope("t", "n", None, f"u{i}"), f"question number {i}", i, ttl_s=10 + i)
    clock.advance(15)
    assert cache.purge_expired() == 6
    assert len(cache) == 4 and cache.stats().scopes == 4


def test_per_scope_entry_limit_evicts_least_recently_used(clock: ManualClock) -> None:
    cache = SemanticCache(CacheConfig(max_entries_per_scope=3), clock=clock)
    scope, other = CacheScope("t", "n", None, "u1"), CacheScope("t", "n", None, "u2")
    cache.store(other, "question zero", 0)
    for i in (1, 2, 3):
        cache.store(scope, f"question {i}", i)
    assert cache.lookup(scope, "question 1").hit  # 1 is now the most recently used
    cache.store(scope, "question 4", 4)
    assert not cache.lookup(scope, "question 2").hit
    assert all(cache.lookup(scope, f"question {i}").hit for i in (1, 3, 4))
    assert cache.lookup(other, "question zero").hit  # other scopes untouched
    assert cache.stats().evictions["lru"] == 1


def test_global_entry_limit_evicts_across_scopes(clock: ManualClock) -> None:
    cache = SemanticCache(CacheConfig(max_entries=5), clock=clock)
    for i in range(8):
        cache.store(CacheScope("t", "n", None, f"u{i}"), "same question", i)
    assert len(cache) == 5
    assert not cache.lookup(CacheScope("t", "n", None, "u0"), "same question").hit
    assert cache.lookup(CacheScope("t", "n", None, "u7"), "same question").value == 7


def test_byte_limits(clock: ManualClock) -> None:
    cache = SemanticCache(CacheConfig(max_bytes_per_scope=1000, max_bytes=2500), clock=clock)
    scope = CacheScope("t", "n", None, "u1")
    for i in range(10):
        cache.store(scope, f"question {i}", "x" * 300)
    assert cache.stats().bytes <= 1000 and len(cache) == 3
    cache.store(scope, "huge", "x" * 2000)
    assert not cache.lookup(scope, "huge").hit and cache.stats().rejected_stores == 1
    for u in range(5):
        cache.store(CacheScope("t", "n", None, f"v{u}"), "q", "x" * 600)
    assert cache.stats().bytes <= 2500


def test_storing_the_same_key_replaces_the_entry(cache: SemanticCache, scope: CacheScope) -> None:
    cache.store(scope, "What is the capital of France?", "Paris")
    cache.store(scope, "what is the capital of france", "Paris, France")
    assert len(cache) == 1
    assert cache.lookup(scope, "What is the capital of France?").value == "Paris, France"


def test_invalidate_by_key_and_by_scope(cache: SemanticCache, scope: CacheScope) -> None:
    cache.store(scope, "What is the capital of France?", "Paris")
    cache.store(scope, "What is the capital of Spain?", "Madrid")
    cache.store(scope._replace(user_id="u2"), "What is the capital of Spain?", "Madrid")
    assert cache.invalidate(scope, "what is the capital of france") == 1
    assert not cache.lookup(scope, "What is the capital of France?").hit
    assert cache.invalidate(scope) == 1
    assert len(cache) == 1
    assert cache.invalidate_namespace("acme", "faq") == 1
    assert len(cache) == 0 and cache.stats().evictions["invalidated"] == 3


def test_invalidate_by_key_reaches_the_shared_scope() -> None:
    cache = SemanticCache(
        CacheConfig(namespaces={"faq": NamespaceConfig(shared_across_users=True)})
    )
    u1 = CacheScope("acme", "faq", None, "u1")
    cache.store(u1, "What are your opening hours?", "9-5")
    assert cache.invalidate(u1._replace(user_id="u2"), "What are your opening hours?") == 1
    assert not cache.lookup(u1, "What are your opening hours?").hit


def test_counters(cache: SemanticCache, scope: CacheScope) -> None:
    cache.store(scope, "What is the capital of France?", "Paris", cost_usd=0.01, tokens=120)
    assert cache.lookup(scope, "What is the capital of France?").saved_tokens == 120
    fuzzy = cache.lookup(scope, "hey, what's the capital of France please")
    assert fuzzy.match == "fuzzy" and fuzzy.saved_cost_usd == 0.01
    cache.lookup(scope, "What is the capital of Spain?")
    cache.lookup(scope, "What is not the capital of France?")
    stats = cache.stats()
    assert stats.lookups == {
        "exact": 1,
        "fuzzy": 1,
        "semantic": 0,
        "miss": 2,
        "rejected_by_guard": 0,
    }
    assert stats.tokens_saved == 240 and abs(stats.usd_saved - 0.02) < 1e-12
    assert stats.entries == 1 and stats.stores == 1 and stats.bytes > 0


def test_disabled_cache_stores_nothing(scope: CacheScope) -> None:
    cache = SemanticCache(CacheConfig(enabled=False))
    cache.store(scope, "q", 1)
    assert not cache.lookup(scope, "q").hit and len(cache) == 0
