"""Warm restarts through SqliteCachePersistence: what survives, what does not."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from sidecar.cache import (
    CacheConfig,
    CacheScope,
    NamespaceConfig,
    SemanticCache,
    SqliteCachePersistence,
)
from sidecar.cache.persistence import PersistedEntry
from tests.cache.conftest import ManualClock

SCOPE = CacheScope("acme", "faq", "gpt-4o", "u1")


def _config(path: Path, **kw: object) -> CacheConfig:
    return CacheConfig(persistence_path=str(path / "cache.db"), **kw)  # type: ignore[arg-type]


def test_a_restarted_cache_is_warm(tmp_path: Path, clock: ManualClock) -> None:
    cache = SemanticCache.open(_config(tmp_path), clock=clock)
    cache.store(
        SCOPE, "What is the capital of France?", {"answer": "Paris"}, cost_usd=0.01, tokens=9
    )
    cache.store(SCOPE, {"tool": "search", "args": {"q": "shoes"}}, [1, 2])
    cache.close()

    again = SemanticCache.open(_config(tmp_path), clock=clock)
    assert len(again) == 2
    hit = again.lookup(SCOPE, "hey, what's the capital of france?")
    assert hit.match == "fuzzy" and hit.value == {"answer": "Paris"} and hit.saved_tokens == 9
    assert again.lookup(SCOPE, {"args": {"q": "shoes"}, "tool": "search"}).value == [1, 2]
    assert not again.lookup(SCOPE._replace(user_id="u2"), "What is the capital of France?").hit
    again.close()


def test_pii_entries_reload_into_their_user_scope(tmp_path: Path, clock: ManualClock) -> None:
    config = _config(tmp_path, namespaces={"faq": NamespaceConfig(shared_across_users=True)})
    cache = SemanticCache.open(config, clock=clock)
    cache.store(SCOPE, "What is my address?", "12 Elm St", contains_pii=True)
    cache.store(SCOPE, "What are the opening hours?", "9-5")
    cache.close()
    again = SemanticCache.open(config, clock=clock)
    other = SCOPE._replace(user_id="u2")
    assert again.lookup(SCOPE, "What is my address?").hit
    assert not again.lookup(other, "What is my address?").hit
    assert again.lookup(other, "What are the opening hours?").hit
    again.close()


def test_unflushed_stores_are_lost_but_invalidations_are_not(
    tmp_path: Path, clock: ManualClock
) -> None:
    cache = SemanticCache.open(_config(tmp_path), clock=clock)
    cache.store(SCOPE, "question one", 1)
    cache.store(SCOPE, "question two", 2)
    assert cache.flush() == 2
    cache.store(SCOPE, "question three", 3)  # never flushed: lost in a crash
    cache.invalidate(SCOPE, "question one")  # written through at once
    # simulate kill -9: no close(), open a second instance on the same file
    crashed = SemanticCache.open(_config(tmp_path), clock=clock)
    assert crashed.lookup(SCOPE, "question two").hit
    assert not crashed.lookup(SCOPE, "question one").hit
    assert crashed.lookup(SCOPE, "question three").hit  # invalidate flushed the queue too
    crashed.close()


def test_expired_entries_are_dropped_on_load(tmp_path: Path, clock: ManualClock) -> None:
    cache = SemanticCache.open(_config(tmp_path), clock=clock)
    cache.store(SCOPE, "short lived", 1, ttl_s=10)
    cache.store(SCOPE, "long lived", 2, ttl_s=1000)
    cache.close()
    clock.advance(20)
    again = SemanticCache.open(_config(tmp_path), clock=clock)
    assert len(again) == 1 and again.lookup(SCOPE, "long lived").hit
    again.close()
    rows = list(SqliteCachePersistence(str(tmp_path / "cache.db")).load_all())
    assert [r.key for r in rows] == ["long lived"]


def test_limits_apply_when_loading(tmp_path: Path, clock: ManualClock) -> None:
    cache = SemanticCache.open(_config(tmp_path), clock=clock)
    for i in range(10):
        clock.advance(1)
        cache.store(SCOPE, f"question {i}", i)
    cache.close()
    small = SemanticCache.open(_config(tmp_path, max_entries=4), clock=clock)
    assert len(small) == 4
    assert small.lookup(SCOPE, "question 9").hit and not small.lookup(SCOPE, "question 0").hit
    small.close()


def test_pending_writes_flush_by_themselves_when_the_queue_is_full(
    tmp_path: Path, clock: ManualClock
) -> None:
    cache = SemanticCache.open(_config(tmp_path, max_pending_writes=5), clock=clock)
    for i in range(12):
        cache.store(SCOPE, f"question {i}", i)
    assert cache.stats().pending_writes < 5
    rows = list(SqliteCachePersistence(str(tmp_path / "cache.db")).load_all())
    assert len(rows) >= 10
    cache.close()


class _FailingOnce(SqliteCachePersistence):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.fail = True

    def upsert(self, entries: Sequence[PersistedEntry]) -> None:
        if self.fail:
            self.fail = False
            raise OSError("disk full")
        super().upsert(entries)


def test_a_failed_flush_keeps_its_writes_queued(tmp_path: Path, clock: ManualClock) -> None:
    persistence = _FailingOnce(str(tmp_path / "cache.db"))
    cache = SemanticCache(CacheConfig(), clock=clock, persistence=persistence)
    cache.store(SCOPE, "question one", 1)
    with pytest.raises(OSError):
        cache.flush()
    assert cache.stats().pending_writes == 1
    assert cache.flush() == 1
    assert [r.key for r in persistence.load_all()] == ["question one"]
    cache.close()


@pytest.mark.postgres
def test_postgres_persistence_round_trips_entries_and_embeddings(pg_url: str) -> None:
    from sidecar.cache.pg_persistence import PostgresCachePersistence
    from sidecar.store.urls import asyncpg_dsn

    store = PostgresCachePersistence(asyncpg_dsn(pg_url))
    cache = SemanticCache(CacheConfig(), persistence=store)
    cache.store(SCOPE, "nul \x00 and ünïcode, what is it?", {"a": 1}, cost_usd=0.5, tokens=3)
    cache.store(SCOPE, {"tool": "t", "args": {"q": 1}}, [1])
    cache.store(SCOPE, "gone soon", 2)
    cache.flush()
    cache.invalidate(SCOPE, "gone soon")
    from sidecar.cache.cache import _persisted

    entry = next(iter(cache._lru.values()))
    store.upsert([_persisted(entry, b"\x01" * 384, "model-x")])
    cache.close()

    again_store = PostgresCachePersistence(asyncpg_dsn(pg_url))
    rows = list(again_store.load_all())
    assert len(rows) == 2
    assert any(r.embedding == b"\x01" * 384 and r.embedding_model == "model-x" for r in rows)
    again = SemanticCache(CacheConfig(), persistence=again_store)
    assert again.load() == 2
    assert again.lookup(SCOPE, "nul \x00 and ünïcode, what is it?").value == {"a": 1}
    assert again.lookup(SCOPE, {"args": {"q": 1}, "tool": "t"}).value == [1]
    assert not again.lookup(SCOPE, "gone soon").hit
    again.close()


def test_a_file_from_before_the_semantic_tier_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE cache_entries (id TEXT PRIMARY KEY, tenant TEXT, namespace TEXT NOT NULL,"
        " model TEXT, user_id TEXT, key TEXT NOT NULL, key_is_json INTEGER NOT NULL,"
        " value_json BLOB NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL,"
        " contains_pii INTEGER NOT NULL, cost_usd REAL, tokens INTEGER)"
    )
    conn.execute("INSERT INTO cache_entries VALUES ('x','t','n',NULL,NULL,'hello there world',0,"
                 "'1',1.0,9e12,0,NULL,NULL)")  # fmt: skip
    conn.commit()
    conn.close()
    cache = SemanticCache(CacheConfig(), persistence=SqliteCachePersistence(str(path)))
    assert cache.load() == 1
    assert cache.lookup(CacheScope("t", "n"), "hello there world").hit
    cache.close()
