"""Precision and recall of the cache on the hard labelled set (tests/cache/labelled_set.py),
lexical tier alone and with the semantic tier, through the in-process API.

The set's held-out part was written before tuning and is only scored in aggregate; its figures
are printed with the tune part's (run with ``-s`` to see them).
"""

from __future__ import annotations

from collections import Counter

from sidecar.cache import CacheConfig, SemanticCache
from sidecar.cache.semantic import SemanticTier
from tests.cache.labelled_pairs import labelled_pairs
from tests.cache.labelled_set import KINDS, evaluate, labelled_set


def test_the_set_is_large_balanced_and_partly_chinese() -> None:
    pairs = labelled_set()
    assert len(pairs) >= 1000
    assert sum(p.lang == "zh" for p in pairs) >= 0.15 * len(pairs)
    for split in ("tune", "heldout"):
        kinds = Counter(p.kind for p in pairs if p.split == split)
        assert set(kinds) == set(KINDS), split
        assert min(kinds.values()) >= 12, kinds
    assert sum(p.split == "heldout" for p in pairs) >= 300


def test_lexical_tier_precision_0_99_recall_0_65() -> None:
    report = evaluate(lambda: SemanticCache(CacheConfig()), labelled_set())
    print("\nlexical:", report.summary(), *report.kinds_table(), sep="\n")
    assert report.precision() >= 0.99, report.false_hits
    assert report.recall() >= 0.65


def test_semantic_tier_precision_0_99_recall_0_85_chinese_0_7(tier: SemanticTier) -> None:
    config = CacheConfig(semantic=tier.config)
    report = evaluate(
        lambda: SemanticCache(config, semantic=tier),
        labelled_set(),
        settle=lambda cache: cache.semantic.wait_idle(600),
    )
    print("\nsemantic:", report.summary(), *report.kinds_table(), sep="\n")
    assert report.precision() >= 0.99, report.false_hits
    assert report.recall() >= 0.85
    assert report.recall("zh") >= 0.7


def test_the_earlier_easier_set_stays_precise() -> None:
    """The 471 pairs the cache was first built on (tense, quantifiers, tool calls...)."""
    from sidecar.cache import CacheScope

    cache = SemanticCache(CacheConfig())
    fp = tp = 0
    for i, pair in enumerate(labelled_pairs()):
        scope = CacheScope("t", "legacy", None, f"pair-{i}")
        cache.store(scope, pair.stored, i)
        hit = cache.lookup(scope, pair.asked).hit
        tp += hit and pair.same
        fp += hit and not pair.same
    assert tp / (tp + fp) >= 0.99
