"""The semantic tier with the real model (the ``semantic`` extra, installed by ``make test``).

Paths covered: the in-process API (``lookup``, ``lookup_async``, ``store_many``), a restart
from SQLite (vectors restored, not recomputed), the vector index in both of its forms (exact
and prefiltered by sign codes), what a vector and a queued store cost; the HTTP routes and the
environment switch are in tests/cache/test_cache_http.py.
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


class GatedEmbedder:
    """Embeds nothing until ``gate`` is set (every text then gets the same unit vector)."""

    dim, model_id = DIM, "gated"

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    def embed(self, texts: list[str]) -> np.ndarray:
        self.gate.wait(30)
        return np.ones((len(texts), DIM), np.float32) / np.sqrt(DIM)


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
    # the token table is read from its file page by page, not held in the graph
    assert isinstance(int8._tokens, np.memmap) and int8._tokens.shape == (30522, 384)


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
    assert tier2.stats().vectors == 3  # searchable when load returns: no queued copies
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

    slow = SemanticTier(semantic_config(model_dir, max_pending=5), embedder=GatedEmbedder(gate))
    cache = _cache(slow)
    for i in range(20):
        assert cache.store(SCOPE, f"question number {i} about topic", i)
    assert slow.stats().dropped >= 14
    gate.set()
    assert slow.wait_idle()
    assert cache.lookup(SCOPE, "question number 3 about topic").match == "exact"
    slow.close()


def test_vector_index_answers_like_brute_force_through_adds_removes_and_prefilter() -> None:
    rng = np.random.default_rng(4)
    vectors: ScopeVectors[int] = ScopeVectors(prefilter_from=64)
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


def _near(rng: np.random.Generator, base: np.ndarray, spread: float) -> np.ndarray:
    v = base + spread * rng.standard_normal(DIM).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_the_prefiltered_search_finds_what_an_exact_search_finds() -> None:
    """Clusters of close vectors (cosines about 0.85, like rewordings of templated prompts):
    the sign-code prefilter keeps the exact search's best and every neighbour above 0.8."""
    from sidecar.cache.embedding import quantise

    rng = np.random.default_rng(7)
    centres = [_near(rng, np.zeros(DIM, np.float32), 1.0) for _ in range(60)]
    exact: ScopeVectors[str] = ScopeVectors(prefilter_from=100_000)
    prefiltered: ScopeVectors[str] = ScopeVectors(prefilter_from=64)
    items = [f"entry {i}" for i in range(6000)]
    for i, item in enumerate(items):
        data = quantise(_near(rng, centres[i % 60], 0.02))
        exact.add(item, data)
        prefiltered.add(item, data)
    for victim in items[::7]:
        exact.remove(victim)
        prefiltered.remove(victim)
    assert len(prefiltered) == len(exact) == 6000 - 858
    close = 0
    for i in range(200):
        query = _near(rng, centres[i % 60], 0.02)
        want, got = exact.search(query, 8), prefiltered.search(query, 8)
        above = [key for key, cosine in want if cosine >= 0.8]
        assert [key for key, _ in got[: len(above)]] == above
        assert [c for _, c in got[: len(above)]] == pytest.approx(
            [c for _, c in want[: len(above)]]
        )
        close += len(above)
    assert close > 1000  # most of the 200 queries have several such neighbours


def test_a_vector_is_held_once_in_452_bytes() -> None:
    """int8 row, sign code, norm and item id in flat arrays, a reference to the item in a list:
    no object and no copy per vector."""
    import tracemalloc

    from sidecar.cache.embedding import quantise

    rng = np.random.default_rng(3)
    data = [quantise(_near(rng, np.zeros(DIM, np.float32), 1.0)) for _ in range(2048)]
    items = [f"entry {i}" for i in range(2048)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        vectors: ScopeVectors[str] = ScopeVectors(prefilter_from=64)
        for item, vector in zip(items, data, strict=True):
            vectors.add(item, vector)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert vectors.vector(items[4]) == data[4]
    assert vectors.vector("entry 4") is None  # an equal string is another item
    assert held <= 2048 * 460, held / 2048


def _queued_bytes_per_store(tier: SemanticTier | None) -> float:
    """Traced bytes a store adds to a cache, with its embedding still queued."""
    import tracemalloc

    cache = SemanticCache(CacheConfig(max_entries=5000, max_entries_per_scope=5000), semantic=tier)
    cache.store(SCOPE, "the first store takes the worker into the gated embedder", 0)
    keys = [f"question number {i} about the topic" for i in range(3000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for key in keys:
            cache.store(SCOPE, key, 1)
        return (tracemalloc.get_traced_memory()[0] - before) / len(keys)
    finally:
        tracemalloc.stop()


def test_a_queued_store_holds_its_entry_and_nothing_more(model_dir: Path) -> None:
    """While the embedder is busy, a store waiting for its embedding costs the tier about 60
    bytes (a queue reference), not 270 (a tuple of its text, scope and key, a vector key and a
    dict entry from that key to the entry)."""
    gate = threading.Event()

    tier = SemanticTier(semantic_config(model_dir, max_pending=5000), embedder=GatedEmbedder(gate))
    try:
        _queued_bytes_per_store(None)  # fills the text analysis' caches, shared by the others
        extra = _queued_bytes_per_store(tier) - _queued_bytes_per_store(None)
    finally:
        gate.set()
        tier.close()
    assert tier.stats().dropped == 0
    assert extra < 100, extra
