"""The inverted index stays exact through adds and removes, small and large."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sidecar.cache.index import WORDS_INDEX_FROM, Entry, ScopeIndex
from sidecar.cache.scope import CacheScope
from sidecar.cache.text import analyse

SCOPE = CacheScope("t", "n")
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


def _entry(text: str) -> Entry:
    a = analyse(text)
    return Entry(SCOPE, a.exact_key, text, a, b"1", created_at=0.0, expires_at=1e12)


def _expected_postings(entries: list[Entry]) -> dict[str, set[Entry]]:
    out: dict[str, set[Entry]] = {}
    for e in entries:
        for unit in e.features:
            out.setdefault(unit, set()).add(e)
    return out


def test_postings_match_the_entries_through_random_adds_and_removes() -> None:
    rng = random.Random(3)
    index = ScopeIndex()
    live: list[Entry] = []
    for step in range(600):
        if live and rng.random() < 0.4:
            victim = live.pop(rng.randrange(len(live)))
            index.remove(victim)
        else:
            text = " ".join(rng.sample(WORDS, 3)) + f" {step}"
            entry = _entry(text)
            index.add(entry)
            live.append(entry)
        if step % 50 == 0:
            expected = _expected_postings(live)
            assert set(index.postings) == set(expected)
            assert all(index.holders(u) == held for u, held in expected.items())
    assert len(index) == len(live)


def test_candidates_hold_every_known_unit_or_a_typo_partner() -> None:
    index = ScopeIndex()
    entries = [_entry(t) for t in ("capital of france", "capital of spain", "france travel")]
    for e in entries:
        index.add(e)
    found = index.candidates(("capital", "frnace"), (), (), 100).entries
    assert found == [entries[0]]
    assert index.candidates(("capital", "germany"), (), (), 100).entries == []
    assert index.candidates(("capital",), ("42",), (), 100).entries == []


def test_typo_partners_are_found_with_and_without_the_words_index() -> None:
    small = ScopeIndex()
    small.add(_entry("symptoms of dehydration"))
    assert small.words is None
    assert small.typo_partners("symtpom") == ["symptom"]

    large = ScopeIndex()
    for i in range(WORDS_INDEX_FROM + 10):
        large.add(_entry(f"token{i} symptoms"))
    assert large.words is not None
    assert large.typo_partners("symtpom") == ["symptom"]
    assert large.typo_partners("sympathy") == []


def test_a_query_of_many_unseen_words_costs_at_most_eight_typo_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sidecar.cache.index import MAX_TYPO_SEARCHES

    index = ScopeIndex()
    # every unseen word below has a typo partner, so only the cap stops the searches
    words = [f"{c}andidatex" for c in "bcdfghjklmnpqrstvw"]
    index.add(_entry(" ".join(words)))
    calls: list[str] = []
    real = ScopeIndex.typo_partners

    def counting(self: ScopeIndex, unit: str) -> Any:
        calls.append(unit)
        return real(self, unit)

    monkeypatch.setattr(ScopeIndex, "typo_partners", counting)
    typos = tuple(w[:-1] + "z" for w in words)  # "bandidatez": a neighbouring key each
    assert index.candidates(typos, (), (), 100).entries == []
    assert len(calls) == MAX_TYPO_SEARCHES
    assert index.candidates(typos[:MAX_TYPO_SEARCHES], (), (), 100).entries
