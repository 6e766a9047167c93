"""Shared fixtures of the cache tests: a manual clock, small caches, one model directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.cache import CacheConfig, CacheScope, SemanticCache
from tests.cache.semantic_fixtures import semantic_config


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


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the int8 model is built once per session (the tests never touch ~/.cache)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def tier(model_dir: Path) -> Iterator[object]:
    """A semantic tier with the real model, loaded."""
    from sidecar.cache.semantic import SemanticTier

    tier = SemanticTier(semantic_config(model_dir))
    assert tier.wait_ready(300), "the model did not load"
    yield tier
    tier.close()
