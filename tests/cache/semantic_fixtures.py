"""Configuration of the semantic tier in tests (the fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from sidecar.cache import SemanticConfig


def semantic_config(model_dir: Path, **kw: object) -> SemanticConfig:
    return SemanticConfig(enabled=True, model_cache_dir=str(model_dir), **kw)  # type: ignore[arg-type]
