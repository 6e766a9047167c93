"""Normalisation: what makes two keys the same exact key, and what does not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.cache import InvalidCacheKeyError
from sidecar.cache.text import analyse, canonical_json, exact_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the capital of France?", "what   is the capital of france"),
        ("Ｗｈａｔ ｉｓ ｔｈｉｓ？", "what is this"),
        ("Hello,\tworld!", "hello world"),
        ("What is 1,000 times 3?", "what is 1000 times 3"),
        ("法国的首都是哪里？", "法国的首都是哪里"),
    ],
)
def test_same_exact_key(a: str, b: str) -> None:
    assert exact_key(a) == exact_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Is it -5 degrees?", "Is it 5 degrees?"),
        ("Python 3.10", "Python 3.1"),
        ("What is C++?", "What is C?"),
        ("cost in $", "cost in €"),
        ("Open https://x.com/ABC", "Open https://x.com/abc"),
        ("don't", "do"),
    ],
)
def test_different_exact_key(a: str, b: str) -> None:
    assert exact_key(a) != exact_key(b)


def test_json_keys_are_canonical_and_typed() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
    assert canonical_json({"a": 1}) != canonical_json({"a": "1"})
    assert exact_key({"q": "x"}) == exact_key('{ "q" : "x" }')  # JSON text is parsed
    with pytest.raises(InvalidCacheKeyError):
        canonical_json({"a": float("nan")})
    with pytest.raises(InvalidCacheKeyError):
        canonical_json({"a": {1, 2}})


def test_analysis_separates_what_each_guard_owns() -> None:
    a = analyse("Hey, can't I convert $1,000 to EUR at https://fx.example.com on 2024-01-05?")
    assert a.negations == ("not",)
    assert set(a.numbers) == {"1000", "2024-01-05"}
    assert a.measures == ("EUR", "USD") and a.quantities == ("USD",)
    assert "https://fx.example.com" in a.strict_entities
    assert "eur" in a.soft_entities
    assert "hey" not in a.content and "convert" in a.words


def test_chinese_is_split_into_characters_without_fillers() -> None:
    a = analyse("请问北京今天不下雨吗")
    assert a.words == ("北", "京", "今", "天", "下", "雨")
    assert a.negations == ("不",)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("WHERE qty != 0", "WHERE qty = 0"),
        ("x <> 1", "x = 1"),
        ("a <= b", "a >= b"),
        ("List my open invoices.", "List the open invoices."),
    ],
)
def test_operators_and_scope_words_are_kept(a: str, b: str) -> None:
    assert exact_key(a) != exact_key(b)
    assert analyse(a).content != analyse(b).content


def test_number_words_and_chinese_numerals_are_values() -> None:
    assert analyse("two hundred and five").numbers == ("200", "5")
    assert analyse("twenty five people").numbers == ("25",)
    assert analyse("三十公里").numbers == ("30",) and analyse("三十公里").measures == ("km",)
    assert analyse("我们一起去").numbers == ()


def test_multi_word_fillers_are_dropped() -> None:
    plain = analyse("how do I reset my password")
    polite = analyse("Sorry to bother you, but how do I reset my password? Thanks in advance.")
    assert polite.content == plain.content
    assert analyse("你好，请问上海明天天气").content == analyse("上海明天天气").content


@given(st.text(max_size=80))
def test_normalisation_is_stable_under_case_and_spacing(text: str) -> None:
    key = exact_key(text)
    assert exact_key(" " + text.upper().lower() + "  ") == exact_key(text.lower())
    assert isinstance(key, str)
