"""Which embedding model for the semantic cache tier: measured, not assumed.

``python -m bench.cache_models`` compares, each in a fresh process, on one thread:

- ``onnx-int8``: all-MiniLM-L6-v2 as built by sidecar.cache.minilm_onnx (the shipped choice);
- ``sentence-transformers``: the same model through sentence-transformers and torch (baseline);
- ``model2vec``: static embeddings distilled from the same model (``model2vec.distill``).

For each: query latency (p50/p99 of single embeddings of the labelled prompts), RSS added by
loading and using the model, and precision / recall on the labelled set with the cache's
guards on top. Prints a markdown table (kept in docs/cache.md). Needs torch and model2vec
beside the ``semantic`` extra; takes several minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

MODELS = ("onnx-int8", "sentence-transformers", "model2vec")


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _Wrapped:
    dim = 384

    def __init__(self, fn: Any, model_id: str) -> None:
        self._fn = fn
        self.model_id = model_id

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(self._fn(texts), dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _load(name: str) -> _Wrapped:
    from sidecar.cache.embedding import MiniLMEmbedder, packaged_model_dir

    path = str(packaged_model_dir())
    if name == "onnx-int8":
        e = MiniLMEmbedder()
        return _Wrapped(e.embed, e.model_id)
    if name == "sentence-transformers":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        st = SentenceTransformer(path, device="cpu")
        return _Wrapped(lambda t: st.encode(t, normalize_embeddings=True), "st")
    import torch
    from model2vec.distill import distill

    torch.set_num_threads(1)
    m2v = distill(model_name=path, pca_dims=256)
    dim = m2v.encode(["x"]).shape[1]
    wrapped = _Wrapped(m2v.encode, "m2v")
    wrapped.dim = dim
    return wrapped


def measure(name: str) -> dict[str, Any]:
    sys.path.insert(0, os.getcwd())
    from sidecar.cache import CacheConfig, SemanticCache, SemanticConfig
    from sidecar.cache.semantic import SemanticTier
    from tests.cache.labelled_set import evaluate, labelled_set

    rss0 = _rss_mb()
    embedder = _load(name)
    pairs = labelled_set()
    queries = [p.asked for p in pairs if isinstance(p.asked, str)][:400]
    embedder.embed(queries[:8])
    times = []
    for q in queries:
        t = time.perf_counter()
        embedder.embed([q])
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    config = CacheConfig(semantic=SemanticConfig(enabled=True))
    if embedder.dim != 384:  # the vector index is 384 wide: pad the static vectors
        inner = embedder

        class Padded(_Wrapped):
            def embed(self, texts: list[str]) -> np.ndarray:
                v = inner.embed(texts)
                return np.pad(v, ((0, 0), (0, 384 - v.shape[1])))

        embedder = Padded(None, inner.model_id)
    tier = SemanticTier(config.semantic, embedder=embedder)
    report = evaluate(lambda: SemanticCache(config, semantic=tier), pairs,
                      settle=lambda c: tier.wait_idle(3600))  # fmt: skip
    return {
        "model": name,
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[int(len(times) * 0.99)],
        "rss_mb": _rss_mb() - rss0,
        "precision": report.precision(),
        "recall": report.recall(),
        "recall_zh": report.recall("zh"),
    }


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(sys.argv[2])))
        return
    rows = []
    for name in MODELS:
        out = subprocess.run([sys.executable, "-m", "bench.cache_models", "--one", name],
                             capture_output=True, text=True)  # fmt: skip
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| model | query p50 ms | p99 ms | RSS added MB | precision | recall | recall zh |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['rss_mb']:.0f} | "
              f"{r['precision']:.3f} | {r['recall']:.3f} | {r['recall_zh']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
