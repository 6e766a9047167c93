"""Hostile volumes: bounded state and short event-loop turns.

- A flood of stores with unique namespaces (a scope each) keeps the number of scopes at
  ``max_scopes`` (the least recently used scope is evicted and counted) and RSS on a plateau.
- Keys are capped at ``max_key_bytes`` (InvalidCacheKeyError, counted); the largest allowed key
  is analysed in a worker thread by the async API, and a key with thousands of content words
  is not compared fuzzily (the work that stalled the loop for seconds), so no step of a lookup
  or store scales with the words of a 32 KB key on the loop.

Paths: the in-process API, sync and async; the HTTP routes share ``lookup_async`` /
``store_async`` (tests/cache/test_cache_http.py checks the 422).
"""

from __future__ import annotations

import os
import random
import string
import threading
from typing import Any

import pytest

from sidecar.cache import CacheConfig, CacheScope, InvalidCacheKeyError, SemanticCache
from sidecar.cache import cache as cache_module
from sidecar.cache.index import ScopeIndex
from sidecar.cache.text import analyse


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_flood_of_unique_namespaces_keeps_scopes_and_memory_bounded() -> None:
    cache = SemanticCache(CacheConfig(max_scopes=2_000))
    samples = []
    for i in range(100_000):
        cache.store(CacheScope("t", f"ns-{i}", None, "u"), f"question number {i} here", i)
        if i % 20_000 == 19_999:
            samples.append(_rss_mb())
        assert len(cache._scopes) <= 2_000
    stats = cache.stats()
    assert stats.scopes == 2_000 and stats.entries == 2_000
    assert stats.evictions["scope_limit"] == 100_000 - 2_000
    # a plateau: the last 60,000 stores add (almost) nothing once the bound is reached
    assert samples[-1] - samples[1] < 16, samples
    assert cache.lookup(CacheScope("t", "ns-99999", None, "u"), "question number 99999 here").hit
    assert not cache.lookup(CacheScope("t", "ns-5", None, "u"), "question number 5 here").hit


def test_the_least_recently_used_scope_goes_first() -> None:
    cache = SemanticCache(CacheConfig(max_scopes=2))
    a, b, c = (CacheScope("t", n) for n in "abc")
    cache.store(a, "alpha question", 1)
    cache.store(b, "bravo question", 2)
    assert cache.lookup(a, "alpha question").hit  # a is now the most recent
    cache.store(c, "charlie question", 3)
    assert cache.lookup(a, "alpha question").hit
    assert not cache.lookup(b, "bravo question").hit


def _words_key(n_bytes: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while size < n_bytes - 12:
        w = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))
        words.append(w)
        size += len(w) + 1
    return " ".join(words)


def test_keys_over_the_cap_are_refused_and_counted() -> None:
    cache = SemanticCache(CacheConfig())
    scope = CacheScope("t", "n")
    with pytest.raises(InvalidCacheKeyError):
        cache.store(scope, "x" * (32 * 1024 + 1), 1)
    with pytest.raises(InvalidCacheKeyError):
        cache.lookup(scope, "é" * (16 * 1024 + 1))  # 32 KiB + 2 bytes of UTF-8
    with pytest.raises(InvalidCacheKeyError):
        cache.store(scope, {"q": "x" * (32 * 1024)}, 1)
    assert cache.stats().rejected_keys == 3


def test_a_huge_key_is_not_compared_fuzzily(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of never-seen words would each need a typo search: the fuzzy step is skipped."""
    cache = SemanticCache(CacheConfig())
    scope = CacheScope("t", "n")
    for i in range(300):
        cache.store(scope, _words_key(2_000, seed=i), i)
    calls = 0
    real = ScopeIndex.candidates

    def counting(self: ScopeIndex, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ScopeIndex, "candidates", counting)
    huge = _words_key(32 * 1024 - 16, seed=999)
    assert not cache.lookup(scope, huge).hit
    assert calls == 0
    cache.store(scope, huge, "big")
    assert cache.lookup(scope, huge).match == "exact"
    assert cache.lookup(scope, _words_key(400, seed=3)).result in ("miss", "rejected_by_guard")
    assert calls == 1  # a normal key still is


async def test_the_async_api_analyses_large_keys_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = SemanticCache(CacheConfig())
    scope = CacheScope("t", "n")
    loop_thread = threading.get_ident()
    threads: list[tuple[int, int]] = []
    real = analyse

    def recording(text: str) -> Any:
        threads.append((len(text), threading.get_ident()))
        return real(text)

    monkeypatch.setattr(cache_module, "analyse", recording)
    big = _words_key(32 * 1024 - 16)
    from sidecar.cache import StoreItem

    assert await cache.store_async(StoreItem(scope, big, 1))
    assert (await cache.lookup_async(scope, big)).match == "exact"
    assert await cache.store_many_async([StoreItem(scope, big + " more", 2)])
    large = [t for n, t in threads if n > cache_module.OFF_LOOP_KEY_CHARS]
    assert len(large) >= 3 and all(t != loop_thread for t in large)
