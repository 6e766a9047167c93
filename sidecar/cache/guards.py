"""Guards: checks every non-exact candidate must pass *after* its similarity score.

A similarity score cannot tell "capital of France" from "capital of Spain" (87 with ``ratio``),
nor a question from its negation (embeddings put them at 0.83-0.9997). So a fuzzy or semantic
hit also needs every guard of its tier to agree; each one only ever turns a hit into a miss.
Guards shared by both tiers:

- ``numbers``: numbers (digits or words: "two hundred" is 200, 三十 is 30), dates, ids and
  comparison or arithmetic operators are equal as multisets ("5" / "50", "=" / "!=").
- ``units``: units of measure and currencies are equal, and so are the ones written right after
  a number ("5 miles to km" is not "5 km to miles"; "$20" is "20 dollars"; 华氏度 / 摄氏度).
- ``negation``: negation and exclusion words agree ("not", "never", "without", "except", 不, 没,
  无, 除), and neither prompt has the opposite of a word of the other ("high" / "low").
- ``entities``: URLs, e-mails, code identifiers and quoted strings are identical (case kept); a
  capitalised word or acronym of one prompt appears in the other, up to a swap of two adjacent
  letters, and as a capitalised word there too unless the other is written without case
  ("the price of Apple" is not "the price of an apple").
- ``user_scope``: both prompts are about the asker's own data, or neither is ("my invoices" /
  "the invoices", 我的订单 / 所有订单).
- ``literals``: booleans and nulls agree ("true" / "false" / "null").
- ``word_order``: arguments do not trade places: when the unit after "from", "to", "into",
  "than", "by", "per" (从, 到, 比, 给, 成...) differs between the prompts and each prompt has the
  other's, the prompts are different questions. Clauses and keywords may move freely
  ("pandas merge two dataframes" is "merge two dataframes pandas"; 上海明天天气 is
  明天上海天气), arguments may not ("from Paris to London" is not "from London to Paris").

Lexical tier only (its score is about spelling, so the words themselves must agree):

- ``content``: every other word present in one prompt but not in the other is a typo of a word
  of the other (:mod:`sidecar.cache.typos`), or of a filler, that the scope has never seen.
  Chinese characters must all agree.
- ``interrogatives``: when both prompts have a question word, they have the same ones.

Semantic tier only (other words are the point: "How tall is Everest?" is "What is the height of
Everest?"): ``question`` (the specific question words when / where / who / why agree) and
``topic`` (a swap of a single word for another that is not a synonym, "capital of france" /
"capital of spain", "boiling" / "freezing point", needs its own proof; see
:mod:`sidecar.cache.semantic_guards`).

A guard is a named predicate; :data:`DEFAULT_GUARDS` is the set the lexical tier uses unless the
cache is built with another one (tests drop one guard at a time to show each is needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sidecar.cache.lexicon import ANTONYMS_OF
from sidecar.cache.text import Analysis
from sidecar.cache.typos import is_filler_typo, is_near_typo, is_transposition

KnownWord = Callable[[str], bool]
LONG_ENTITY = 8  # names shorter than this must match up to a swap of two letters


class Guard(NamedTuple):
    name: str
    check: Callable[[Analysis, Analysis, KnownWord], bool]


def typo_pairs(query: Analysis, cand: Analysis, known: KnownWord) -> dict[str, str] | None:
    """Map each word only the query has to its typo partner in the candidate.

    ``None`` when some difference is neither a near typo of a word of the other prompt that the
    scope has not seen, nor a misspelt filler. Only words are compared: numbers, negations and
    entities belong to their own guards.
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
        if partner is not None:
            pairs[unit] = partner
        elif not is_filler_typo(unit):
            return None
    partners = set(pairs.values())
    if any(other not in partners and not is_filler_typo(other) for other in only_c):
        return None
    return pairs


def _content(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return typo_pairs(query, cand, known) is not None


def _word_order(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return roles_agree(query, cand) and roles_agree(cand, query)


def roles_agree(a: Analysis, b: Analysis) -> bool:
    """No two arguments trade places: when ``a`` has (marker, x) and ``b`` has (marker, y),
    x is in ``b`` and y is in ``a``, then ``b`` has (marker, x) too ("from Paris to London" /
    "from London to Paris", "english to french" / "french to english")."""
    for marker, x in a.roles:
        if (marker, x) in b.roles or x not in b.content:
            continue
        for other_marker, y in b.roles:
            if other_marker == marker and y != x and y in a.content:
                return False
    return True


def _numbers(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.numbers == cand.numbers


def _units(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.measures == cand.measures and query.quantities == cand.quantities


def has_antonym(a: Analysis, b: Analysis) -> bool:
    """Some word of ``a`` has its opposite in ``b`` but not in ``a`` itself."""
    b_words = set(b.content)
    a_words = set(a.content)
    for word in a_words - b_words:
        opposite = ANTONYMS_OF.get(word)
        if opposite and any(o in b_words and o not in a_words for o in opposite):
            return True
    return False


def _negation(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.negations == cand.negations and not has_antonym(query, cand)


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


def _user_scope(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.scope == cand.scope


def _literals(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return query.literals == cand.literals


def _interrogatives(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    if query.interrogatives and cand.interrogatives:
        return query.interrogatives == cand.interrogatives
    return True


SHARED_GUARDS: tuple[Guard, ...] = (
    Guard("numbers", _numbers),
    Guard("units", _units),
    Guard("negation", _negation),
    Guard("entities", _entities),
    Guard("user_scope", _user_scope),
    Guard("literals", _literals),
    Guard("word_order", _word_order),
)
DEFAULT_GUARDS: tuple[Guard, ...] = (
    *SHARED_GUARDS,
    Guard("content", _content),
    Guard("interrogatives", _interrogatives),
)
LEXICAL_GUARD_NAMES = tuple(g.name for g in DEFAULT_GUARDS)
SEMANTIC_ONLY_GUARD_NAMES = ("question", "topic")
GUARD_NAMES = (*LEXICAL_GUARD_NAMES, *SEMANTIC_ONLY_GUARD_NAMES)


def first_failing(
    guards: tuple[Guard, ...], query: Analysis, cand: Analysis, known: KnownWord
) -> str | None:
    """The name of the first guard ``cand`` fails for ``query``, or ``None`` when all pass."""
    for guard in guards:
        if not guard.check(query, cand, known):
            return guard.name
    return None
