"""One semantic tier (the real int8 MiniLM model) shared by the tests of a session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.cache import SemanticConfig
from sidecar.cache.semantic import SemanticTier


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the int8 model is built once per session (the tests never touch ~/.cache)."""
    return tmp_path_factory.mktemp("models")


def semantic_config(model_dir: Path, **kw: object) -> SemanticConfig:
    return SemanticConfig(enabled=True, model_cache_dir=str(model_dir), **kw)  # type: ignore[arg-type]


@pytest.fixture
def tier(model_dir: Path) -> Iterator[SemanticTier]:
    tier = SemanticTier(semantic_config(model_dir))
    assert tier.wait_ready(300), "the model did not load"
    yield tier
    tier.close()
