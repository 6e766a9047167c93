"""Telling a typo from a different word.

Two words are a *near typo* when both are alphabetic, at least 5 letters long, start with the same
letter, and differ by one edit (two when both have 9 letters or more), where an edit is an adjacent
transposition ("captial"), an inserted or dropped letter ("Sweeden"), or a substitution between
neighbouring QWERTY keys ("capitsl"). "weight"/"height", "Iran"/"Iraq" and "Austria"/"Australia"
are not typos of each other. Real-word transpositions ("angle"/"angel") pass this test, which is
why the cache also refuses to treat a word it has already seen in the scope as a typo.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA, Levenshtein

from sidecar.cache.lexicon import KEYBOARD_NEIGHBOURS

MIN_TYPO_LENGTH = 5
LONG_WORD = 9


def is_near_typo(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are plausibly the same word mistyped."""
    if a == b:
        return True
    if len(a) < MIN_TYPO_LENGTH or len(b) < MIN_TYPO_LENGTH or a[0] != b[0]:
        return False
    if not (a.isalpha() and b.isalpha()):
        return False
    budget = 2 if min(len(a), len(b)) >= LONG_WORD else 1
    if OSA.distance(a, b, score_cutoff=budget + 1) > budget:
        return False
    if Levenshtein.distance(a, b) > budget:
        return True  # the difference includes a transposition, which OSA counted as one edit
    for op in Levenshtein.editops(a, b):
        if op.tag == "replace" and b[op.dest_pos] not in KEYBOARD_NEIGHBOURS.get(
            a[op.src_pos], frozenset()
        ):
            return False
    return True


def is_transposition(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with two adjacent letters swapped ("Frnace" for "France")."""
    if len(a) != len(b) or len(a) < MIN_TYPO_LENGTH or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and (a[diff[1]] == b[diff[0]])
    )
