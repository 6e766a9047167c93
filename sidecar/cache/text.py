"""Normalisation of cache keys, and the analysis the index and the guards work on.

Two prompts get the same *exact key* when they differ only by Unicode form (NFKC: full-width
"？" is "?"), letter case, whitespace and punctuation: "What is the capital of France?" and
"what  is the capital of france" share one key. Comparison operators are kept (``!=``, ``<>``,
``<=``, ``>=`` are not ``=``). URLs, e-mails, code identifiers and quoted strings keep their
case. JSON (decoded, or sent as a string) and SQL get a canonical form of their own
(:mod:`sidecar.cache.structured`) and only ever match exactly.

The analysis splits a prompt into *units*: words (contractions expanded, number words as
values: "two hundred" is "200", 三十 is "30"), numbers ("1,000" is "1000"; "3.10" stays
"3.10"), operators, units of measure and currencies (canonical: "km" is "kilometres" is 公里),
strict entities and, for Chinese and Japanese, single characters. Politeness is dropped, also
as whole phrases ("Sorry to bother you, but", "Thanks in advance", 你好，请问, 麻烦问一下),
and common homophone misspellings of Chinese words are read as the right word (登陆 is 登录).
Units that are not fillers are the *content*; each content unit belongs to one guard:
``numbers`` (numbers, operators), ``units``, ``negation``, ``entities``, ``user_scope`` (my, me,
我的), ``literals`` (true, false, null) and ``content`` (every other word or character).

Long module: normalisation and the key analysis feed each other (the exact key is computed from
the analysis); the lexicons and typo rules are modules of their own.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sidecar.cache.lexicon import (
    AMOUNT_SYMBOLS,
    CJK_FILLER_PHRASES,
    CJK_HOMOPHONES,
    CJK_NEGATIONS,
    CJK_NOT_NUMBERS,
    CJK_ROLE_MARKERS,
    CJK_SCOPE_PHRASES,
    CJK_UNIT_WORDS,
    FILLER_PHRASES,
    FILLERS,
    INTERROGATIVES,
    LITERALS,
    NEGATIONS,
    NUMBER_WORDS,
    ROLE_MARKERS,
    UNIT_OF,
)
from sidecar.cache.numerals import cjk_numeral_value, combine_number_words, is_cjk_numeral
from sidecar.cache.structured import JSON_PREFIX, SQL_PREFIX, structured_key
from sidecar.cache.structured import canonical_json as _canonical_json
from sidecar.cache.typos import (
    MIN_TYPO_LENGTH,
    is_filler_typo,
    is_near_typo,
    is_real_word,
    is_transposition,
)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SYMBOLS = re.escape("".join(sorted(AMOUNT_SYMBOLS | {"€", "£", "¥", "₹", "℃", "℉"})))
_TOKEN = re.compile(
    r"(?P<url>(?:https?|ftp)://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]])"
    r"|(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<ident>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?|[A-Za-z]\w*_\w+|_\w+|[a-z]+[A-Z]\w*)"
    r"|(?P<num>(?:(?<![\w.])[-−])?\d+(?:[.,:/\-]\d+)*(?:st|nd|rd|th)?(?![^\W\d_]))"
    rf"|(?P<cjk>[{_CJK}]+)"
    r"|(?P<op>!=|<>|<=|>=|==|=>|->|&&|\|\|)"
    r"|(?P<degree>°\s?[CFcf](?![^\W\d_]))"
    rf"|(?P<word>[^\W\d_{_CJK}]+(?:[-'][^\W\d_{_CJK}]+)*[+#]*)"
    r"|(?P<num2>\d+)"
    rf"|(?P<sym>[{_SYMBOLS}])"
)
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]{1,200}?)'(?!\w)|\"([^\"\n]{1,200}?)\"|“([^”\n]{1,200}?)”"
    r"|「([^」\n]{1,200}?)」|`([^`\n]{1,200}?)`"
)
_FILLER_PHRASE = re.compile(
    r"(?<![\w'])(?:" + "|".join(FILLER_PHRASES) + r")(?![\w'])", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?:;。！？]")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SUFFIXES = (("n't", ("not",)), ("'ll", ("will",)), ("'ve", ("have",)), ("'re", ()), ("'m", ()))
_CONTRACTIONS = {
    "can't": ("can", "not"), "cannot": ("can", "not"), "won't": ("will", "not"),
    "shan't": ("shall", "not"), "ain't": ("is", "not"), "dont": ("do", "not"),
    "doesnt": ("does", "not"), "isnt": ("is", "not"), "arent": ("are", "not"),
    "wasnt": ("was", "not"), "werent": ("were", "not"), "cant": ("can", "not"),
    "couldnt": ("could", "not"), "wouldnt": ("would", "not"), "shouldnt": ("should", "not"),
    "wont": ("will", "not"), "didnt": ("did", "not"), "hasnt": ("has", "not"),
    "havent": ("have", "not"), "hadnt": ("had", "not"), "whats": ("what",),
    "i'd": ("i", "would"), "it's": ("it", "is"), "that's": ("that", "is"),
}  # fmt: skip
_NUMBER_VALUES = frozenset(NUMBER_WORDS.values())
_SCOPE_OF = {"my": "me", "mine": "me", "me": "me", "myself": "me", "our": "us", "ours": "us",
             "us": "us", "ourselves": "us"}  # fmt: skip
_CJK_SCOPE_OF = {"我们的": "us", "咱们的": "us", "我的": "me", "本人的": "me",
                 "自己的": "me", "我自己": "me"}  # fmt: skip
_CJK_SPECIAL = tuple(
    sorted(
        {*CJK_FILLER_PHRASES, *CJK_SCOPE_PHRASES, *CJK_UNIT_WORDS, *CJK_NOT_NUMBERS},
        key=len,
        reverse=True,
    )
)
_CJK_FILLER_SET = frozenset(CJK_FILLER_PHRASES)
_CJK_HOMOPHONE = re.compile("|".join(sorted(map(re.escape, CJK_HOMOPHONES), key=len, reverse=True)))
_ENTITY_GUARDS = ("numbers", "units", "negation", "entities", "user_scope", "literals")


class InvalidCacheKeyError(ValueError):
    """A cache key that is neither text nor a JSON value (or holds NaN/infinity)."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the index and the guards need to know about one text key."""

    exact_key: str
    content: tuple[str, ...]
    words: tuple[str, ...]
    guarded_units: tuple[tuple[str, str], ...]  # (unit, the guard that demands it exactly)
    numbers: tuple[str, ...]
    negations: tuple[str, ...]
    interrogatives: frozenset[str]
    strict_entities: frozenset[str]
    soft_entities: frozenset[str]
    cased: bool
    lowercase_words: frozenset[str]
    units: frozenset[str]  # every unit, fillers included
    measures: tuple[str, ...]  # units of measure and currencies, canonical, sorted
    quantities: tuple[str, ...]  # the measures written right after a number, sorted
    scope: frozenset[str]  # "me" / "us" when the prompt is about the asker's own data
    literals: tuple[str, ...]
    roles: frozenset[tuple[str, str]]  # (marker, the content unit after it): ("from", "paris")
    markers: frozenset[str]
    structured: bool = False  # JSON or SQL: exact matches only

    @property
    def sorted_content(self) -> str:
        return " ".join(sorted(self.content))


def exact_key(key: Any) -> str:
    """The O(1) lookup key of a text or JSON key."""
    if isinstance(key, str):
        return analyse(key).exact_key
    return canonical_json(key)


def canonical_json(value: Any) -> str:
    """Key order and spacing removed; raises :class:`InvalidCacheKeyError` for a non-JSON value."""
    try:
        return _canonical_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidCacheKeyError(f"cache key is not a JSON value: {exc}") from exc


def is_json_key(normalised: str) -> bool:
    return normalised.startswith(JSON_PREFIX)


def is_structured_key(normalised: str) -> bool:
    return normalised.startswith((JSON_PREFIX, SQL_PREFIX))


@lru_cache(maxsize=65536)
def _word_units(word: str) -> tuple[str, ...]:
    lower = word.casefold().replace("’", "'")
    expanded = _CONTRACTIONS.get(lower)
    if expanded is not None:
        return expanded
    for suffix, extra in _SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return (*_word_units(lower[: -len(suffix)]), *extra)
    if lower.endswith("'s") and len(lower) > 2:
        lower = lower[:-2]
    out = []
    for part in lower.split("-"):
        part = part.strip("'")
        if part:
            out.append(sys.intern(NUMBER_WORDS.get(part, part)))
    return tuple(out)


def _cjk_pieces(run: str) -> list[str]:
    """A CJK run as special words (fillers, scope, units, non-numbers), numeral runs and
    single characters, after homophone misspellings are corrected."""
    run = _CJK_HOMOPHONE.sub(lambda m: CJK_HOMOPHONES[m.group()], run)
    out: list[str] = []
    i = 0
    while i < len(run):
        for phrase in _CJK_SPECIAL:
            if run.startswith(phrase, i):
                out.append(phrase)
                i += len(phrase)
                break
        else:
            j = i
            while j < len(run) and is_cjk_numeral(run[j]):
                j += 1
            if j > i:
                out.append(run[i:j])
                i = j
            else:
                out.append(run[i])
                i += 1
    return out


def _is_cased(text: str) -> bool:
    """Whether letter case carries information: some upper case (besides "I"), not shouting."""
    upper = sum(map(str.isupper, _PRONOUN_I.sub("", text)))
    lower = sum(map(str.islower, text))
    return upper > 0 and upper < 4 * lower


_PRONOUN_I = re.compile(r"\bI\b")
_FILLERS_BY_LENGTH: dict[int, list[str]] = {}
for _filler in FILLERS:
    if len(_filler) >= MIN_TYPO_LENGTH:
        _FILLERS_BY_LENGTH.setdefault(len(_filler), []).append(_filler)


@lru_cache(maxsize=65536)
def _is_filler_typo(unit: str) -> bool:
    """ "Expalin" is "explain" with two letters swapped: still a filler."""
    return any(is_transposition(unit, f) for f in _FILLERS_BY_LENGTH.get(len(unit), ()))


class _Builder:
    """Collects the units of one prompt in order."""

    def __init__(self) -> None:
        self.units: list[str] = []
        self.content: list[str] = []
        self.words: list[str] = []
        self.guarded: list[tuple[str, str]] = []
        self.numbers: list[str] = []
        self.negations: list[str] = []
        self.measures: list[str] = []
        self.quantities: list[str] = []
        self.scope: set[str] = set()
        self.literals: list[str] = []
        self.roles: set[tuple[str, str]] = set()
        self.markers: set[str] = set()
        self.pending_markers: list[str] = []
        self.last_number_word = False  # the previous content unit was a number word
        self.after_number = False
        self.prefix_unit: str | None = None  # "$" before "20": the unit of the next number
        self.last_word = ""

    def add(self, unit: str, guard: str) -> None:
        """A content unit owned by ``guard``."""
        self.content.append(unit)
        if guard == "content":
            self.words.append(unit)
        else:
            self.guarded.append((unit, guard))
        for marker in self.pending_markers:
            self.roles.add((marker, unit))
        self.pending_markers.clear()

    def number(self, value: str, from_word: bool = False) -> None:
        if from_word and self.last_number_word and self.numbers:
            combined = combine_number_words(self.numbers[-1], value)
            if combined is not None:
                old = self.numbers.pop()
                self.content.remove(old)
                self.guarded.remove((old, "numbers"))
                value = combined
        self.numbers.append(value)
        self.add(value, "numbers")
        self.last_number_word = from_word
        self.after_number = True
        if self.prefix_unit is not None:
            self.quantities.append(self.prefix_unit)
            self.prefix_unit = None
            self.after_number = False

    def measure(self, raw: str, unit: str) -> None:
        self.measures.append(unit)
        if self.after_number:
            self.quantities.append(unit)
        self.add(unit, "units")
        self.after_number = False
        self.last_number_word = False

    def other(self) -> None:
        self.last_number_word = False
        self.after_number = False
        self.prefix_unit = None


def analyse(text: str) -> Analysis:
    """Split ``text`` into the units, content and guard features the cache compares."""
    structured = structured_key(text)
    if structured is not None:
        return _structured_analysis(structured)
    text = unicodedata.normalize("NFKC", text).replace("−", "-").replace("’", "'")
    b = _Builder()
    interrogatives: set[str] = set()
    strict: set[str] = set()
    soft: set[str] = set()
    lowercase: set[str] = set()
    for m in _QUOTED.finditer(text):
        quoted = next(g for g in m.groups() if g is not None)
        strict.add("q:" + " ".join(quoted.split()))
    filler_spans = [m.span() for m in _FILLER_PHRASE.finditer(text)]
    span_i = 0
    prev_end = 0
    kind: str | None = None
    cased = _is_cased(text)
    for m in _TOKEN.finditer(text):
        raw = m.group()
        sentence_start = prev_end == 0 or bool(_SENTENCE_END.search(text, prev_end, m.start()))
        prev_end = m.end()
        prev_kind, kind = kind, m.lastgroup
        while span_i < len(filler_spans) and filler_spans[span_i][1] <= m.start():
            span_i += 1
        in_filler = span_i < len(filler_spans) and filler_spans[span_i][0] <= m.start()
        if in_filler and kind == "word":
            b.units.extend(_word_units(raw))
            continue
        if kind in ("url", "email", "ident"):
            strict.add(raw)
            b.units.append(raw)
            b.add(raw, "entities")
            b.other()
        elif kind in ("num", "num2"):
            unit = raw.replace(",", "") if _THOUSANDS.fullmatch(raw.lstrip("-")) else raw
            b.units.append(unit)
            b.number(unit)
        elif kind == "op":
            unit = "!=" if raw == "<>" else raw
            b.units.append(unit)
            b.add(unit, "numbers")
            b.numbers.append(unit)
            b.other()
        elif kind == "degree":
            unit = UNIT_OF["°" + raw[-1].lower()]
            b.units.append(unit)
            b.measure(raw, unit)
        elif kind == "cjk":
            _add_cjk(b, raw)
        elif kind == "sym":
            if raw == "-" and prev_kind not in ("num", "num2"):
                continue  # a dash between words, not a minus
            b.units.append(raw)
            measure = UNIT_OF.get(raw)
            if measure is not None:
                after_number = b.after_number
                b.measure(raw, measure)
                if not after_number:
                    b.prefix_unit = measure  # "$20": the number that follows is in dollars
            else:
                b.add(raw, "numbers")
                b.numbers.append(raw)
                b.other()
        else:
            _add_word(b, raw, cased and not sentence_start, cased, interrogatives, soft, lowercase)
    intern = sys.intern
    return Analysis(
        exact_key=" ".join(b.units),
        content=tuple(intern(u) for u in b.content),
        words=tuple(b.words),
        guarded_units=tuple(b.guarded),
        numbers=tuple(sorted(b.numbers)),
        negations=tuple(sorted(b.negations)),
        interrogatives=frozenset(interrogatives),
        strict_entities=frozenset(strict),
        soft_entities=frozenset(soft),
        cased=cased,
        lowercase_words=frozenset(lowercase),
        units=frozenset(b.units),
        measures=tuple(sorted(b.measures)),
        quantities=tuple(sorted(b.quantities)),
        scope=frozenset(b.scope),
        literals=tuple(sorted(b.literals)),
        roles=frozenset(b.roles),
        markers=frozenset(b.markers),
    )


def _add_word(
    b: _Builder, raw: str, mid_sentence: bool, cased: bool, interrogatives: set[str],
    soft: set[str], lowercase: set[str],
) -> None:  # fmt: skip
    is_entity = cased and (
        (mid_sentence and raw[0].isupper() and raw != "I") or (len(raw) > 1 and raw.isupper())
    )
    if raw in ("C", "F") and b.last_word in ("degree", "degrees"):
        is_entity = False  # "38 degrees C" is a temperature, not a name
    written_lower = raw.islower()
    for unit in _word_units(raw):
        b.units.append(unit)
        if is_entity and unit not in FILLERS:
            soft.add(unit)
        elif written_lower:
            lowercase.add(unit)
        _add_word_unit(b, unit, interrogatives)
        if unit in ROLE_MARKERS:
            b.markers.add(unit)
            b.pending_markers.append(unit)


def _add_word_unit(b: _Builder, unit: str, interrogatives: set[str]) -> None:
    unit = _closed_class_typo(unit)
    last, b.last_word = b.last_word, unit
    if unit in ("c", "f") and last in ("degree", "degrees"):
        unit = "°" + unit  # "38 degrees C"
    if unit in INTERROGATIVES:
        interrogatives.add(unit)
        b.other()
        return
    scope = _SCOPE_OF.get(unit)
    if scope is not None:
        b.scope.add(scope)
        b.add(scope, "user_scope")
        b.other()
        return
    measure = UNIT_OF.get(unit)
    if measure is not None and (unit not in _AMBIGUOUS_UNITS or b.after_number):
        b.measure(unit, measure)
        return
    if unit in FILLERS or _is_filler_typo(unit):
        return
    if unit in NEGATIONS:
        b.negations.append(unit)
        b.add(unit, "negation")
        b.other()
    elif unit in LITERALS:
        b.literals.append(unit)
        b.add(unit, "literals")
        b.other()
    elif unit in _NUMBER_VALUES or unit[0].isdigit():
        b.number(unit, from_word=True)
    else:
        b.add(_singular(unit), "content")
        b.other()


_CLOSED_CLASS: dict[str, tuple[str, ...]] = {}
for _word in sorted({*INTERROGATIVES, *NEGATIONS, *NUMBER_WORDS, *UNIT_OF}):
    if _word.isalpha() and _word.isascii() and len(_word) >= 3:
        _CLOSED_CLASS[_word[0]] = (*_CLOSED_CLASS.get(_word[0], ()), _word)


@lru_cache(maxsize=65536)
def _closed_class_typo(unit: str) -> str:
    """A misspelt question, negation, number or unit word read as that word ("waht", "fouur",
    "kilogras"), when it is a typo of exactly one of them and no word itself."""
    if unit in FILLERS or not unit.isalpha() or len(unit) < 3 or is_real_word(unit):
        return unit
    if is_filler_typo(unit):
        return unit  # "tne", "foor": the misspelt filler is the likelier reading
    found = [w for w in _CLOSED_CLASS.get(unit[0], ()) if is_near_typo(unit, w)]
    if len(found) != 1:
        return unit
    word = found[0]
    return NUMBER_WORDS.get(word, word)


def _singular(word: str) -> str:
    """ "fruits" and "fruit" are one word to the guards (and "cities" and "city")."""
    if len(word) >= 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_AMBIGUOUS_UNITS = frozenset(
    [
        "mi",
        "hr",
        "hrs",
        "kb",
        "mb",
        "gb",
        "tb",
        "kw",
        "yd",
        "yds",
        "sec",
        "secs",
        "min",
        "mins",
        "gal",
        "cup",
        "cups",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "second",
        "seconds",
    ]
)


def _add_cjk(b: _Builder, run: str) -> None:
    for piece in _cjk_pieces(run):
        b.units.append(piece)
        if piece in _CJK_FILLER_SET:
            continue
        scope = _CJK_SCOPE_OF.get(piece)
        if scope is not None:
            b.scope.add(scope)
            b.add(scope, "user_scope")
            b.other()
            continue
        measure = UNIT_OF.get(piece)
        if measure is not None:
            b.measure(piece, measure)
            continue
        if is_cjk_numeral(piece[0]) and piece not in CJK_NOT_NUMBERS:
            b.number(cjk_numeral_value(piece))
            continue
        for ch in piece:  # a special word that is content (一起), or one character
            if ch in CJK_ROLE_MARKERS:
                b.markers.add(ch)
                b.add(ch, "content")
                b.pending_markers.append(ch)
                b.other()
            elif ch in CJK_NEGATIONS:
                b.negations.append(ch)
                b.add(ch, "negation")
                b.other()
            else:
                b.add(ch, "content")
                b.other()


def _structured_analysis(key: str) -> Analysis:
    empty: frozenset[str] = frozenset()
    return Analysis(
        exact_key=key, content=(), words=(), guarded_units=(), numbers=(), negations=(),
        interrogatives=empty, strict_entities=empty, soft_entities=empty, cased=False,
        lowercase_words=empty, units=empty, measures=(), quantities=(), scope=empty,
        literals=(), roles=frozenset(), markers=empty, structured=True,
    )  # fmt: skip


ENTITY_GUARDS = _ENTITY_GUARDS
