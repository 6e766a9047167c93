"""Telling a typo from a different word.

Two words are a *near typo* when both are alphabetic, start with the same letter, and differ by
one edit (two when both have 9 letters or more), where an edit is an adjacent transposition
("captial"), an inserted or dropped letter ("Sweeden"), or a substitution between neighbouring
QWERTY keys ("capitsl"). Words of 5+ letters may have any such edit; short words (3-4 letters:
"teh", "waht", "opne") only a transposition, a doubled letter or a neighbouring key. Either way
the misspelt word must not be a real word: "weight"/"height", "angle"/"angel", "form"/"from" are
two words, not a typo, whatever the scope holds. Real words are the 21,700 lower-case words of
the uncased BERT vocabulary (``data/words.txt.gz``, loaded on first use).
"""

from __future__ import annotations

import gzip
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA, Levenshtein

from sidecar.cache.lexicon import FILLERS, KEYBOARD_NEIGHBOURS

MIN_TYPO_LENGTH = 5
MIN_SHORT_TYPO = 3
LONG_WORD = 9
_WORDS_FILE = Path(__file__).parent / "data" / "words.txt.gz"


@cache
def _real_words() -> frozenset[str]:
    with gzip.open(_WORDS_FILE, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def is_real_word(word: str) -> bool:
    """Whether ``word`` (lower case) is a dictionary word, so never taken for a typo."""
    return word in _real_words()


def _neighbour_substitutions(a: str, b: str) -> bool:
    for op in Levenshtein.editops(a, b):
        if op.tag == "replace" and b[op.dest_pos] not in KEYBOARD_NEIGHBOURS.get(
            a[op.src_pos], frozenset()
        ):
            return False
    return True


@lru_cache(maxsize=65536)
def is_near_typo(a: str, b: str) -> bool:
    """True when ``a`` (the word in the query) is plausibly ``b`` mistyped."""
    if a == b:
        return True
    if len(a) < MIN_SHORT_TYPO or len(b) < MIN_SHORT_TYPO or a[0] != b[0]:
        return False
    if not (a.isalpha() and b.isalpha()) or is_real_word(a):
        return False
    if min(len(a), len(b)) < MIN_TYPO_LENGTH:
        return _is_short_typo(a, b)
    budget = 2 if min(len(a), len(b)) >= LONG_WORD else 1
    if OSA.distance(a, b, score_cutoff=budget + 1) > budget:
        return False
    if Levenshtein.distance(a, b) > budget:
        return True  # the difference includes a transposition, which OSA counted as one edit
    return _neighbour_substitutions(a, b)


def _is_short_typo(a: str, b: str) -> bool:
    if OSA.distance(a, b, score_cutoff=2) != 1:
        return False
    if len(a) == len(b):
        return is_transposition(a, b, MIN_SHORT_TYPO) or _neighbour_substitutions(a, b)
    if len(a) == len(b) + 1:  # a letter more: only a doubled one ("witth", "thhe")
        return any(a[:i] + a[i + 1 :] == b and a[i] == a[i - 1] for i in range(1, len(a)))
    return len(b) >= 4  # a letter dropped from a word of 4+ letters ("opn")


def is_transposition(a: str, b: str, min_length: int = MIN_TYPO_LENGTH) -> bool:
    """True when ``b`` is ``a`` with two adjacent letters swapped ("Frnace" for "France")."""
    if len(a) != len(b) or len(a) < min_length or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and (a[diff[1]] == b[diff[0]])
    )


_FILLERS_BY_INITIAL: dict[str, tuple[str, ...]] = {}
for _f in sorted(FILLERS):
    if _f.isalpha() and len(_f) >= MIN_SHORT_TYPO:
        _FILLERS_BY_INITIAL[_f[0]] = (*_FILLERS_BY_INITIAL.get(_f[0], ()), _f)


@lru_cache(maxsize=65536)
def is_filler_typo(word: str) -> bool:
    """ "teh", "thhe", "pleaes": a misspelt filler, dropped like the filler itself."""
    return any(is_near_typo(word, f) for f in _FILLERS_BY_INITIAL.get(word[:1], ()))
