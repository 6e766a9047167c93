"""The semantic tier with the real model (the ``semantic`` extra, installed by ``make test``).

Paths covered: the in-process API (``lookup``, ``lookup_async``, ``store_many``), a restart
from SQLite (vectors restored, not recomputed), the vector index in both of its forms (exact
and HNSW); the HTTP routes and the environment switch are in tests/cache/test_cache_http.py.
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sidecar.cache import CacheConfig, CacheScope, SemanticCache, SqliteCachePersistence, StoreItem
from sidecar.cache.guards import Guard
from sidecar.cache.semantic import SemanticTier
from sidecar.cache.semantic_guards import SEMANTIC_GUARDS
from sidecar.cache.vectors import DIM, ScopeVectors
from tests.cache.semantic_fixtures import semantic_config

SCOPE = CacheScope("acme", "qa", "m", "u1")


def _cache(
    tier: SemanticTier, guards: tuple[Guard, ...] = SEMANTIC_GUARDS, **kw: object
) -> SemanticCache:
    config = CacheConfig(semantic=tier.config, **kw)  # type: ignore[arg-type]
    return SemanticCache(config, semantic=tier, semantic_guards=guards)


def test_the_onnx_graph_computes_the_sentence_transformers_embedding(
    model_dir: Path,
) -> None:
    """float32: the same vectors as sentence-transformers; int8: within a cosine of 0.98."""
    import json

    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    from sidecar.cache.embedding import MiniLMEmbedder, packaged_model_dir
    from sidecar.cache.minilm_onnx import build_float_model, read_safetensors

    texts = ["How tall is Mount Everest?", "上海明天天气", "SELECT 1", "a"]
    path = packaged_model_dir()
    reference = SentenceTransformer(str(path), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    graph = build_float_model(
        read_safetensors(path / "model.safetensors"), json.loads((path / "config.json").read_text())
    )
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    int8 = MiniLMEmbedder(cache_dir=model_dir)
    for i, text in enumerate(texts):
        ids = int8._tokenizer.encode(text)
        feed = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), np.int64)}
        float_vector = session.run(None, feed)[0][0]
        assert float(float_vector @ reference[i]) > 0.9999
    quantised = int8.embed(texts)
    assert all(float(quantised[i] @ reference[i]) > 0.98 for i in range(len(texts)))


def test_wordpiece_gives_the_ids_of_the_tokenizers_library() -> None:
    from tokenizers import Tokenizer

    from sidecar.cache.embedding import packaged_model_dir
    from sidecar.cache.wordpiece import WordPiece
    from tests.cache.labelled_set import labelled_set

    path = packaged_model_dir()
    reference = Tokenizer.from_file(str(path / "tokenizer.json"))
    reference.no_padding()
    reference.enable_truncation(256)
    ours = WordPiece(path / "vocab.txt", 256)
    texts = [t for p in labelled_set() for t in (p.stored, p.asked) if isinstance(t, str)]
    texts += ["Ünïcödé naïve café", "x" * 300, "a\x00b\tc", "東京 is 日本", "emoji 😀 ok",
              "A" * 150 + " b", " ".join(["word"] * 400)]  # fmt: skip
    assert [ours.encode(t) for t in texts] == [reference.encode(t).ids for t in texts]


def test_rewordings_hit_semantically_and_near_misses_do_not(tier: SemanticTier) -> None:
    cache = _cache(tier)
    cache.store(SCOPE, "How tall is Mount Everest?", "8849 m")
    cache.store(SCOPE, "Can I take ibuprofen with alcohol?", "no")
    assert tier.wait_idle()
    hit = cache.lookup(SCOPE, "What is the height of Mount Everest?")
    assert hit.match == "semantic" and hit.value == "8849 m" and 80 <= (hit.score or 0) <= 100
    assert not cache.lookup(SCOPE, "Can I take ibuprofen without alcohol?").hit
    assert not cache.lookup(SCOPE, "How tall is Mount Fuji?").hit
    assert not cache.lookup(
        SCOPE._replace(user_id="u2"), "What is the height of Mount Everest?"
    ).hit
    assert cache.stats().lookups["semantic"] == 1


# guard -> (stored, asked): the embedding puts them above the threshold, the guard refuses.
SEMANTIC_CASES: dict[str, tuple[str, str]] = {
    "numbers": ("Book a table for 4 people tonight", "Book a table for 6 people tonight"),
    "units": (
        "How long does it take to walk 5 miles?",
        "How long does it take to walk 5 kilometres?",
    ),
    "negation": ("Can I take ibuprofen with alcohol?", "Can I take ibuprofen without alcohol?"),
    "entities": (
        "Summarise the article at https://example.com/a/intro for me",
        "Summarise the article at https://example.com/a/intros for me",
    ),
    "user_scope": ("List my open invoices.", "List the open invoices."),
    "literals": ("set the verbose flag to true", "set the verbose flag to false"),
    "word_order": ("Is a wolf bigger than a bear?", "Is a bear bigger than a wolf?"),
    "question": ("When was the Eiffel Tower built?", "Where was the Eiffel Tower built?"),
    "topic": ("What is the weather in Paris today?", "What is the weather in Paris tomorrow?"),
}


def test_every_semantic_guard_has_a_case() -> None:
    assert set(SEMANTIC_CASES) == {g.name for g in SEMANTIC_GUARDS}


@pytest.mark.parametrize("guard", sorted(SEMANTIC_CASES))
def test_semantic_guard_is_needed(tier: SemanticTier, guard: str) -> None:
    stored, asked = SEMANTIC_CASES[guard]
    without = tuple(g for g in SEMANTIC_GUARDS if g.name != guard)
    outcomes = []
    for guards in (without, SEMANTIC_GUARDS):
        cache = _cache(tier, guards)
        cache.store(SCOPE, stored, "answer")
        assert tier.wait_idle()
        result = cache.lookup(SCOPE, asked)
        outcomes.append(result.match == "semantic")
        cache.invalidate(SCOPE)
        assert tier.wait_idle()
    assert outcomes == [True, False], f"{guard}: hit without it, miss with it ({outcomes})"


def test_a_restart_restores_vectors_without_recomputing(tmp_path: Path, model_dir: Path) -> None:
    config = CacheConfig(semantic=semantic_config(model_dir))
    first = SemanticCache(config, persistence=SqliteCachePersistence(str(tmp_path / "c.db")),
                          semantic=SemanticTier(config.semantic))  # fmt: skip
    first.store_many([StoreItem(SCOPE, f"What is the boiling point of {x}?", x)
                      for x in ("water", "ethanol", "mercury")])  # fmt: skip
    assert first.semantic.wait_idle()
    first.close()

    tier2 = SemanticTier(config.semantic)
    second = SemanticCache(config, persistence=SqliteCachePersistence(str(tmp_path / "c.db")),
                           semantic=tier2)  # fmt: skip
    second.load()
    assert tier2.wait_idle()
    stats = tier2.stats()
    assert stats.restored == 3 and stats.embedded == 0 and stats.vectors == 3
    hit = second.lookup(SCOPE, "At what temperature does ethanol boil?")
    assert hit.match == "semantic" and hit.value == "ethanol"
    second.close()


async def test_async_lookups_leave_the_event_loop_free(tier: SemanticTier) -> None:
    """The query is embedded in a worker thread: another task runs meanwhile."""
    cache = _cache(tier)
    cache.store(SCOPE, "How tall is Mount Everest?", "8849 m")
    assert tier.wait_idle()
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = tier.embed

    def recording(text: str) -> Any:
        seen.append(threading.get_ident())
        return original(text)

    tier.embed = recording  # type: ignore[method-assign]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    result = await cache.lookup_async(SCOPE, "What is the height of Mount Everest?")
    task.cancel()
    assert result.match == "semantic"
    assert seen and all(t != loop_thread for t in seen)
    assert ticks > 0


def test_a_full_embedding_queue_keeps_stores_lexical(model_dir: Path) -> None:
    gate = threading.Event()

    class SlowEmbedder:
        dim, model_id = DIM, "slow"

        def embed(self, texts: list[str]) -> np.ndarray:
            gate.wait(30)
            return np.ones((len(texts), DIM), np.float32) / np.sqrt(DIM)

    slow = SemanticTier(semantic_config(model_dir, max_pending=5), embedder=SlowEmbedder())
    cache = _cache(slow)
    for i in range(20):
        assert cache.store(SCOPE, f"question number {i} about topic", i)
    assert slow.stats().dropped >= 14
    gate.set()
    assert slow.wait_idle()
    assert cache.lookup(SCOPE, "question number 3 about topic").match == "exact"
    slow.close()


def test_vector_index_answers_like_brute_force_through_adds_removes_and_hnsw() -> None:
    rng = np.random.default_rng(4)
    vectors = ScopeVectors(hnsw_from=64)
    live: dict[int, np.ndarray] = {}
    for key in range(1, 400):
        v = rng.standard_normal(DIM).astype(np.float32)
        v /= np.linalg.norm(v)
        from sidecar.cache.embedding import dequantise, quantise

        data = quantise(v)
        vectors.add(key, data)
        live[key] = dequantise(data)
        if key % 7 == 0:
            victim = random.Random(key).choice(list(live))
            vectors.remove(victim)
            del live[victim]
        if key in (30, 63, 65, 200, 399):
            probe = live[next(iter(live))] + 0.01
            probe /= np.linalg.norm(probe)
            expected = max(live, key=lambda k: float(live[k] @ probe))
            found = vectors.search(probe, 3)
            assert found[0][0] == expected, key
            assert len(vectors) == len(live)
            assert vectors.vector(expected) is not None
