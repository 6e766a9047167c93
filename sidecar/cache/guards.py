"""Guards: checks a fuzzy candidate must pass *after* its similarity score.

A similarity score cannot tell "capital of France" from "capital of Spain" (87 with ``ratio``),
nor a question from its negation (peers report 0.83-0.9997 between a question and its reversal).
So a fuzzy hit also needs every guard below to agree; each one only ever turns a hit into a miss:

- ``numbers``: numbers, dates, ids, amounts and unit symbols are equal as multisets
  ("5 km" vs "50 km", "$5" vs "€5", "2024-01-05" vs "2024-01-06", "三" vs "四").
- ``negation``: negation and exclusion words agree ("not", "never", "without", "except", "不",
  "没", "除了").
- ``entities``: URLs, e-mails, code identifiers and quoted strings are identical (case kept); a
  capitalised word or acronym of one prompt appears in the other, up to a swap of two adjacent
  letters ("Frnace" is France, "Jansen" is not "Janssen"; names of 8+ letters may have any near
  typo), and as a capitalised word there too unless the other prompt is written without case
  ("the price of Apple" is not "the price of an apple").
- ``content``: every other word present in one prompt but not in the other is a near typo of
  a word of the other (:mod:`sidecar.cache.typos`) that the scope has never seen. Fillers
  ("please", "the", "tell me") may differ; so "capital of france" and "capital of spain" miss in
  lowercase too. Chinese characters must all agree.
- ``interrogatives``: when both prompts have a question word, they have the same ones ("when" vs
  "where").
- ``word_order``: the units both prompts share come in the same order, up to moving a clause
  from the end to the front ("in Python, how do I sort a list"); "flights from Paris to London"
  and "...from London to Paris" miss, and so do "english to french" and "french to english".

A guard is a named predicate; :data:`DEFAULT_GUARDS` is the set every lookup uses unless the
cache is built with another one (tests drop one guard at a time to show each is needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sidecar.cache.text import Analysis
from sidecar.cache.typos import is_near_typo, is_transposition

KnownWord = Callable[[str], bool]
LONG_ENTITY = 8  # names shorter than this must match up to a swap of two letters


class Guard(NamedTuple):
    name: str
    check: Callable[[Analysis, Analysis, KnownWord], bool]


def typo_pairs(query: Analysis, cand: Analysis, known: KnownWord) -> dict[str, str] | None:
    """Map each word only the query has to its typo partner in the candidate.

    ``None`` when some difference is not a near typo of a word the scope has not seen. Only
    words are compared: numbers, negations and entities belong to their own guards.
    """
    q_units, c_units = set(query.words), set(cand.words)
    only_q = q_units - c_units
    only_c = c_units - q_units
    if not only_q and not only_c:
        return {}
    pairs: dict[str, str] = {}
    for unit in only_q:
        if known(unit):
            return None
        partner = next((other for other in only_c if is_near_typo(unit, other)), None)
        if partner is None:
            return None
        pairs[unit] = partner
    partners = set(pairs.values())
    if any(other not in partners for other in only_c):
        return None
    return pairs


def _content(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return typo_pairs(query, cand, known) is not None


def _dedupe(units: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(units))


def _word_order(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    pairs = typo_pairs(query, cand, known) or {}
    c_units = set(cand.content)
    q = [u for u in _dedupe(tuple(pairs.get(u, u) for u in query.content)) if u in c_units]
    shared = set(q)
    c = [u for u in _dedupe(cand.content) if u in shared]
    if q == c:
        return True
    q_starts = {pairs.get(u, u) for u in query.clause_starts}
    for k in range(1, len(q)):
        if q[k:] + q[:k] == c:
            # A moved clause: two blocks of 2+ units ("in python | merge two dicts"), or a
            # punctuated boundary ("France: what is the capital?"). "english to french" vs
            # "french to english" is a swap, not a moved clause.
            return (k >= 2 and len(q) - k >= 2) or q[k] in q_starts or q[0] in cand.clause_starts
    return False


def _numbers(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.numbers == cand.numbers


def _negation(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.negations == cand.negations


def _same_entity(a: str, b: str) -> bool:
    return (
        a == b
        or is_transposition(a, b)
        or (min(len(a), len(b)) >= LONG_ENTITY and is_near_typo(a, b))
    )


def _entity_in(entity: str, other: Analysis) -> bool:
    """``entity`` appears in ``other``, and not written in lower case there when ``other``
    uses case ("Apple" vs "an apple"; a capital at a sentence start says nothing)."""
    if other.cased and entity in other.lowercase_words and entity not in other.soft_entities:
        return False
    return any(_same_entity(entity, unit) for unit in other.units)


def _entities(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    if query.strict_entities != cand.strict_entities:
        return False
    return all(_entity_in(e, cand) for e in query.soft_entities) and all(
        _entity_in(e, query) for e in cand.soft_entities
    )


def _interrogatives(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    if query.interrogatives and cand.interrogatives:
        return query.interrogatives == cand.interrogatives
    return True


DEFAULT_GUARDS: tuple[Guard, ...] = (
    Guard("numbers", _numbers),
    Guard("negation", _negation),
    Guard("entities", _entities),
    Guard("content", _content),
    Guard("interrogatives", _interrogatives),
    Guard("word_order", _word_order),
)
GUARD_NAMES = tuple(g.name for g in DEFAULT_GUARDS)


def first_failing(
    guards: tuple[Guard, ...], query: Analysis, cand: Analysis, known: KnownWord
) -> str | None:
    """The name of the first guard ``cand`` fails for ``query``, or ``None`` when all pass."""
    for guard in guards:
        if not guard.check(query, cand, known):
            return guard.name
    return None
