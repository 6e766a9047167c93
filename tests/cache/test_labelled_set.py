"""Precision and recall of the cache on the labelled pairs (tests/cache/labelled_pairs.py)."""

from __future__ import annotations

from collections import Counter

from sidecar.cache import CacheConfig, CacheScope, SemanticCache
from tests.cache.labelled_pairs import labelled_pairs


def _evaluate() -> tuple[int, int, int, list[str]]:
    cache = SemanticCache(CacheConfig())
    tp = fp = fn = 0
    false_hits: list[str] = []
    for i, pair in enumerate(labelled_pairs()):
        scope = CacheScope("t", "labelled", None, f"pair-{i}")  # one fresh scope per pair
        cache.store(scope, pair.stored, {"answer": i})
        result = cache.lookup(scope, pair.asked)
        if result.hit:
            assert result.value == {"answer": i}
            if pair.same:
                tp += 1
            else:
                fp += 1
                false_hits.append(f"{pair.category}: {pair.stored!r} -> {pair.asked!r}")
        elif pair.same:
            fn += 1
    return tp, fp, fn, false_hits


def test_the_labelled_set_is_large_and_covers_every_category() -> None:
    pairs = labelled_pairs()
    categories = Counter(p.category for p in pairs)
    assert len(pairs) >= 300
    assert sum(p.same for p in pairs) >= 100 and sum(not p.same for p in pairs) >= 100
    for needed in (
        "fillers",
        "typo",
        "reorder",
        "entity_swap",
        "entity_swap_lower",
        "number_change",
        "negation",
        "unit_change",
        "chinese",
        "tool_call",
    ):
        assert categories[needed] > 0, needed


def test_precision_is_at_least_0_99_and_recall_is_reported() -> None:
    tp, fp, fn, false_hits = _evaluate()
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(
        f"\nlabelled set: precision {precision:.3f}, recall {recall:.3f} (tp={tp} fp={fp} fn={fn})"
    )
    assert precision >= 0.99, false_hits
    assert recall >= 0.6  # a cache that never hits is useless, whatever its precision
