"""Each guard turns away a wrong hit that every other part of the cache would serve.

For every guard: with all guards the lookup misses; with that one guard removed (and only it),
the very same lookup hits. So each test fails if its guard stops working.
"""

from __future__ import annotations

import pytest

from sidecar.cache import DEFAULT_GUARDS, GUARD_NAMES, CacheConfig, CacheScope, SemanticCache

SCOPE = CacheScope("acme", "qa", "m", "u1")

# guard name -> (stored prompt, asked prompt): same words, different answers.
CASES: dict[str, list[tuple[str, str]]] = {
    "numbers": [
        (
            "Convert 5 kilometres to miles for my running plan",
            "Convert 50 kilometres to miles for my running plan",
        ),
        ("How much is $20 in euros today", "How much is £20 in euros today"),
        (
            "Schedule the quarterly review meeting on 2024-03-05",
            "Schedule the quarterly review meeting on 2024-03-06",
        ),
        ("计算三加四等于多少并解释过程", "计算三加五等于多少并解释过程"),
    ],
    "negation": [
        (
            "Which fruits are high in vitamin C and fibre",
            "Which fruits are not high in vitamin C and fibre",
        ),
        (
            "Recipes for a quick weeknight dinner that has peanuts",
            "Recipes for a quick weeknight dinner that has no peanuts",
        ),
        ("这个药可以和酒一起吃吗", "这个药不可以和酒一起吃吗"),
    ],
    "entities": [
        (
            "Summarise https://example.com/articles/introduction",
            "Summarise https://example.com/articles/introductions",
        ),
        ("Who is Mark Jansen and what did he write", "Who is Mark Janssen and what did he write"),
        ("What is the current stock price of an apple", "What is the current stock price of Apple"),
    ],
    "content": [
        (
            "what is the capital city of france and how many people live there",
            "what is the capital city of spain and how many people live there",
        ),
        (
            "what is the weight of an adult african elephant",
            "what is the height of an adult african elephant",
        ),
        ("法国的首都是哪里有多少人口", "德国的首都是哪里有多少人口"),
    ],
    "interrogatives": [
        ("When was the Eiffel Tower in Paris built", "Where was the Eiffel Tower in Paris built"),
    ],
    "word_order": [
        (
            "flights from paris to london on friday morning",
            "flights from london to paris on friday morning",
        ),
        ("从北京到上海的高铁", "从上海到北京的高铁"),
        ("translate english to french", "translate french to english"),
        ("english to french", "french to english"),
    ],
}


def _lookup(guards: tuple, stored: str, asked: str) -> bool:
    cache = SemanticCache(CacheConfig(), guards=guards)
    cache.store(SCOPE, stored, "answer")
    return cache.lookup(SCOPE, asked).hit


def test_every_guard_has_cases() -> None:
    assert set(CASES) == set(GUARD_NAMES)


@pytest.mark.parametrize(
    ("guard", "stored", "asked"),
    [(g, s, a) for g, pairs in CASES.items() for s, a in pairs],
)
def test_guard_is_needed(guard: str, stored: str, asked: str) -> None:
    without = tuple(g for g in DEFAULT_GUARDS if g.name != guard)
    assert _lookup(without, stored, asked), "the case must reach this guard to test it"
    assert not _lookup(DEFAULT_GUARDS, stored, asked)


def test_rejection_is_counted_by_guard_name() -> None:
    cache = SemanticCache(CacheConfig())
    cache.store(SCOPE, "When was the Eiffel Tower in Paris built", "1889")
    result = cache.lookup(SCOPE, "Where was the Eiffel Tower in Paris built")
    assert result.result == "rejected_by_guard" and result.guard == "interrogatives"
    stats = cache.stats()
    assert stats.lookups["rejected_by_guard"] == 1
    assert stats.guard_rejections["interrogatives"] == 1


def test_json_keys_never_match_fuzzily() -> None:
    cache = SemanticCache(CacheConfig())
    cache.store(SCOPE, {"tool": "search", "args": {"q": "red shoes", "limit": 10}}, ["r1"])
    assert cache.lookup(SCOPE, {"args": {"limit": 10, "q": "red shoes"}, "tool": "search"}).hit
    assert not cache.lookup(SCOPE, {"tool": "search", "args": {"q": "red shoe", "limit": 10}}).hit
    assert not cache.lookup(SCOPE, {"tool": "search", "args": {"q": "red shoes", "limit": 11}}).hit


def test_a_stricter_namespace_threshold_turns_typo_hits_into_misses() -> None:
    from sidecar.cache import NamespaceConfig

    config = CacheConfig(namespaces={"strict": NamespaceConfig(min_score=99)})
    cache = SemanticCache(config)
    strict = SCOPE._replace(namespace="strict")
    for s in (SCOPE, strict):
        cache.store(s, "What are the symptoms of dehydration?", "thirst")
    assert cache.lookup(SCOPE, "What are the symtpoms of dehydration?").match == "fuzzy"
    assert not cache.lookup(strict, "What are the symtpoms of dehydration?").hit
