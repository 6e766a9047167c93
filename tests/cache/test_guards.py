"""Each guard turns away a wrong hit that every other part of the cache would serve.

For every lexical guard: with all guards the lookup misses; with that one guard removed (and only
it), the very same lookup hits. So each test fails if its guard stops working. The semantic
tier's guards have the same kind of test in tests/cache/test_semantic.py. Path: the in-process
``SemanticCache`` API (the HTTP routes call the same lookup; tests/cache/test_cache_http.py).
"""

from __future__ import annotations

import pytest

from sidecar.cache import DEFAULT_GUARDS, CacheConfig, CacheScope, SemanticCache
from sidecar.cache.guards import LEXICAL_GUARD_NAMES, Guard

SCOPE = CacheScope("acme", "qa", "m", "u1")

# guard name -> (stored prompt, asked prompt): same words, different answers.
CASES: dict[str, list[tuple[str, str]]] = {
    "numbers": [
        (
            "Convert 5 kilometres to miles for my running plan",
            "Convert 50 kilometres to miles for my running plan",
        ),
        (
            "Schedule the quarterly review meeting on 2024-03-05",
            "Schedule the quarterly review meeting on 2024-03-06",
        ),
        ("计算三加四等于多少并解释过程", "计算三加五等于多少并解释过程"),
        ("Give me two hundred ideas for a party", "Give me two ideas for a party"),
        ("find rows where qty >= 10 in the orders", "find rows where qty <= 10 in the orders"),
    ],
    "units": [
        (
            "How much is $20 in Japanese yen at the current exchange rate today",
            "How much is £20 in Japanese yen at the current exchange rate today",
        ),
        ("Convert 26 miles into steps for walking", "Convert 26 kilometres into steps for walking"),
        ("100华氏度是多少度", "100摄氏度是多少度"),
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
    "user_scope": [
        ("List my open invoices.", "List the open invoices."),
        (
            "email the quarterly sales report for the northern region to me",
            "email the quarterly sales report for the northern region",
        ),
        ("查看我的上个月在网上商城的全部订单", "查看上个月在网上商城的全部订单"),
    ],
    "literals": [
        (
            "set the safe search flag of the image search request to true",
            "set the safe search flag of the image search request to false",
        ),
        (
            "what does the parser return for the optional field when the value is null",
            "what does the parser return for the optional field when the value is true",
        ),
    ],
    "word_order": [
        (
            "flights from paris to london on friday morning",
            "flights from london to paris on friday morning",
        ),
        ("从北京到上海的高铁", "从上海到北京的高铁"),
        ("translate english to french", "translate french to english"),
        ("is a dolphin bigger than a shark", "is a shark bigger than a dolphin"),
    ],
    "content": [
        (
            "what is the capital city of france and how many people lived there in the year",
            "what is the capital city of spain and how many people lived there in the year",
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
}

# Rephrasings each recall feature must accept (a regression test for each).
REPHRASINGS = [
    ("How do I reset my password?", "Sorry to bother you, but how do I reset my password?"),
    (
        "How do I reset my password?",
        "I was wondering, how do I reset my password? Thanks in advance.",
    ),
    ("上海明天天气怎么样", "你好，请问上海明天天气怎么样"),
    ("上海明天天气怎么样", "麻烦问一下，上海明天天气怎么样"),
    ("pandas merge two dataframes", "merge two dataframes pandas"),
    ("上海明天天气", "明天上海天气"),
    ("What is the capital of Canada?", "What is teh capital of Canada?"),
    ("How do I open the settings menu on the phone", "How do I opne the setings menu on the phone"),
    ("为什么我无法登录系统", "为什么我无法登陆系统"),
    ("Set a timer for twenty five minutes", "Set a timer for 25 minutes"),
    ("Is 38 °C a fever?", "Is 38 degrees C a fever?"),
]


def _lookup(guards: tuple[Guard, ...], stored: str, asked: str) -> bool:
    cache = SemanticCache(CacheConfig(), guards=guards)
    cache.store(SCOPE, stored, "answer")
    return cache.lookup(SCOPE, asked).hit


def test_every_lexical_guard_has_cases() -> None:
    assert set(CASES) == set(LEXICAL_GUARD_NAMES)


@pytest.mark.parametrize(
    ("guard", "stored", "asked"),
    [(g, s, a) for g, pairs in CASES.items() for s, a in pairs],
)
def test_guard_is_needed(guard: str, stored: str, asked: str) -> None:
    without = tuple(g for g in DEFAULT_GUARDS if g.name != guard)
    assert _lookup(without, stored, asked), "the case must reach this guard to test it"
    assert not _lookup(DEFAULT_GUARDS, stored, asked)


@pytest.mark.parametrize(("stored", "asked"), REPHRASINGS)
def test_rephrasings_hit(stored: str, asked: str) -> None:
    assert _lookup(DEFAULT_GUARDS, stored, asked)


def test_real_word_swaps_are_not_typos_even_in_an_empty_scope() -> None:
    assert not _lookup(DEFAULT_GUARDS, "how do I measure the angle", "how do I measure the angel")
    assert not _lookup(DEFAULT_GUARDS, "flights from paris", "flights form paris")


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


def test_json_sent_as_a_string_is_parsed() -> None:
    cache = SemanticCache(CacheConfig())
    cache.store(SCOPE, '{"tool": "search", "args": {"q": "x", "safe": true}}', "r")
    assert cache.lookup(SCOPE, '{"args": {"safe": true, "q": "x"}, "tool": "search"}').hit
    assert cache.lookup(SCOPE, {"args": {"safe": True, "q": "x"}, "tool": "search"}).hit
    assert not cache.lookup(SCOPE, '{"args": {"safe": false, "q": "x"}, "tool": "search"}').hit
    assert not cache.lookup(SCOPE, '{"args": {"safe": null, "q": "x"}, "tool": "search"}').hit


def test_sql_conditions_are_order_free_and_operators_count() -> None:
    cache = SemanticCache(CacheConfig())
    cache.store(SCOPE, "SELECT id FROM orders WHERE qty != 0 AND region = 'EU'", "r")
    assert cache.lookup(SCOPE, "select id from orders where region = 'EU' and qty <> 0").hit
    assert not cache.lookup(SCOPE, "SELECT id FROM orders WHERE qty = 0 AND region = 'EU'").hit
    assert not cache.lookup(SCOPE, "SELECT id FROM invoices WHERE qty != 0 AND region = 'EU'").hit
    assert not cache.lookup(SCOPE, "SELECT id FROM orders WHERE qty != 0 AND region = 'eu'").hit


def test_a_stricter_namespace_threshold_turns_typo_hits_into_misses() -> None:
    from sidecar.cache import NamespaceConfig

    config = CacheConfig(namespaces={"strict": NamespaceConfig(min_score=99)})
    cache = SemanticCache(config)
    strict = SCOPE._replace(namespace="strict")
    for s in (SCOPE, strict):
        cache.store(s, "What are the symptoms of dehydration?", "thirst")
    assert cache.lookup(SCOPE, "What are the symtpoms of dehydration?").match == "fuzzy"
    assert not cache.lookup(strict, "What are the symtpoms of dehydration?").hit
