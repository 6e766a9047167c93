"""Shared fixtures of the cache tests: a manual clock and small caches."""

from __future__ import annotations

import pytest

from sidecar.cache import CacheConfig, CacheScope, SemanticCache


class ManualClock:
    """A clock the test moves by hand: TTLs expire exactly when told."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cache(clock: ManualClock) -> SemanticCache:
    return SemanticCache(CacheConfig(), clock=clock)


@pytest.fixture
def scope() -> CacheScope:
    return CacheScope("acme", "faq", "gpt-4o", "u1")
