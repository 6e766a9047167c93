"""Normalisation of cache keys, and the analysis the index and the guards work on.

Two prompts get the same *exact key* when they differ only by Unicode form (NFKC: full-width
"？" is "?"), letter case, whitespace and punctuation: "What is the capital of France?" and
"what  is the capital of france" share one key. URLs, e-mails, code identifiers and quoted
strings keep their case. A JSON key (tool arguments) is canonicalised instead: key order and
spacing do not matter, every value does ("1" and 1 differ).

The analysis splits a prompt into *units*: words (contractions expanded, number words as digits),
numbers ("1,000" is "1000"; "3.10" stays "3.10"), amount symbols, strict entities and, for
Chinese and Japanese, single characters (no spaces to split on). Units that are not fillers are
the *content*. Each content unit belongs to one guard: numbers and amount symbols to
``numbers``, negation words to ``negation``, URLs/e-mails/identifiers to ``entities``, and every
other word or character (``words``) to ``content``. Analysing a 12-word prompt takes about 15 µs.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sidecar.cache.lexicon import (
    AMOUNT_SYMBOLS,
    CJK_FILLER_PHRASES,
    CJK_NEGATIONS,
    CJK_NUMERALS,
    FILLERS,
    INTERROGATIVES,
    NEGATIONS,
    NUMBER_WORDS,
)
from sidecar.cache.typos import MIN_TYPO_LENGTH, is_transposition

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SYMBOLS = re.escape("".join(sorted(AMOUNT_SYMBOLS)))
_TOKEN = re.compile(
    r"(?P<url>(?:https?|ftp)://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]])"
    r"|(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<ident>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?|[A-Za-z]\w*_\w+|_\w+|[a-z]+[A-Z]\w*)"
    r"|(?P<num>(?:(?<![\w.])[-−])?\d+(?:[.,:/\-]\d+)*(?:st|nd|rd|th)?(?![^\W\d_]))"
    rf"|(?P<cjk>[{_CJK}]+)"
    rf"|(?P<word>[^\W\d_{_CJK}]+(?:[-'][^\W\d_{_CJK}]+)*[+#]*)"
    r"|(?P<num2>\d+)"
    rf"|(?P<sym>[{_SYMBOLS}])"
)
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]{1,200}?)'(?!\w)|\"([^\"\n]{1,200}?)\"|“([^”\n]{1,200}?)”"
    r"|「([^」\n]{1,200}?)」|`([^`\n]{1,200}?)`"
)
_CLAUSE_BREAK = re.compile(r"[,.:;!?()\[\]\-–—、。！？；：]")
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
}  # fmt: skip
_JSON_PREFIX = "\x00json:"
_NUMBER_VALUES = frozenset(NUMBER_WORDS.values())


class InvalidCacheKeyError(ValueError):
    """A cache key that is neither text nor a JSON value (or holds NaN/infinity)."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the index and the guards need to know about one text key."""

    exact_key: str
    content: tuple[str, ...]
    words: tuple[str, ...]
    guarded_units: tuple[tuple[str, str], ...]
    numbers: tuple[str, ...]
    negations: tuple[str, ...]
    interrogatives: frozenset[str]
    strict_entities: frozenset[str]
    soft_entities: frozenset[str]
    cased: bool
    lowercase_words: frozenset[str]
    clause_starts: frozenset[str]  # content units that open a clause after , : ; ? ! - ...
    units: frozenset[str]

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
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidCacheKeyError(f"cache key is not a JSON value: {exc}") from exc
    return _JSON_PREFIX + text


def is_json_key(normalised: str) -> bool:
    return normalised.startswith(_JSON_PREFIX)


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


def _cjk_units(run: str) -> list[tuple[str, bool]]:
    """(unit, is_filler) for a run of CJK characters."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(run):
        for phrase in CJK_FILLER_PHRASES:
            if run.startswith(phrase, i):
                out.append((phrase, True))
                i += len(phrase)
                break
        else:
            out.append((run[i], False))
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


def analyse(text: str) -> Analysis:
    """Split ``text`` into the units, content and guard features the cache compares."""
    text = unicodedata.normalize("NFKC", text).replace("−", "-").replace("’", "'")
    units: list[str] = []
    content: list[str] = []
    words: list[str] = []
    guarded: list[tuple[str, str]] = []  # (unit, name of the guard that owns it)
    numbers: list[str] = []
    negations: list[str] = []
    interrogatives: set[str] = set()
    strict: set[str] = set()
    soft: set[str] = set()
    lowercase: set[str] = set()
    clause_starts: set[str] = set()
    pending_break, mark = False, 0
    for m in _QUOTED.finditer(text):
        quoted = next(g for g in m.groups() if g is not None)
        strict.add("q:" + " ".join(quoted.split()))
    prev_end = 0
    kind: str | None = None
    cased = _is_cased(text)
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if pending_break and len(content) > mark:
            clause_starts.add(content[mark])
            pending_break = False
        if prev_end and _CLAUSE_BREAK.search(text, prev_end, m.start()):
            pending_break, mark = True, len(content)
        sentence_start = prev_end == 0 or bool(_SENTENCE_END.search(text, prev_end, m.start()))
        prev_end = m.end()
        prev_kind, kind = kind, m.lastgroup
        if kind in ("url", "email", "ident"):
            strict.add(raw)
            units.append(raw)
            content.append(raw)
            guarded.append((raw, "entities"))
        elif kind in ("num", "num2"):
            unit = raw.replace(",", "") if _THOUSANDS.fullmatch(raw.lstrip("-")) else raw
            units.append(unit)
            content.append(unit)
            numbers.append(unit)
            guarded.append((unit, "numbers"))
        elif kind == "cjk":
            for unit, filler in _cjk_units(raw):
                units.append(unit)
                if filler:
                    continue
                content.append(unit)
                if unit in CJK_NEGATIONS:
                    negations.append(unit)
                    guarded.append((unit, "negation"))
                elif unit in CJK_NUMERALS:
                    numbers.append(CJK_NUMERALS[unit])
                    guarded.append((unit, "numbers"))
                else:
                    words.append(unit)
        elif kind == "sym":
            if raw == "-" and prev_kind not in ("num", "num2"):
                continue  # a dash between words, not a minus
            units.append(raw)
            content.append(raw)
            numbers.append(raw)
            guarded.append((raw, "numbers"))
        else:
            is_entity = cased and (
                (not sentence_start and raw[0].isupper() and raw != "I")
                or (len(raw) > 1 and raw.isupper())
            )
            written_lower = raw.islower()
            for unit in _word_units(raw):
                units.append(unit)
                if is_entity:
                    soft.add(unit)
                elif written_lower:
                    lowercase.add(unit)
                if unit in INTERROGATIVES:
                    interrogatives.add(unit)
                    continue
                if unit in FILLERS or _is_filler_typo(unit):
                    continue
                content.append(unit)
                if unit in NEGATIONS:
                    negations.append(unit)
                    guarded.append((unit, "negation"))
                elif unit in _NUMBER_VALUES or unit[0].isdigit():
                    numbers.append(unit)
                    guarded.append((unit, "numbers"))
                else:
                    words.append(unit)
    if pending_break and len(content) > mark:
        clause_starts.add(content[mark])
    intern = sys.intern
    return Analysis(
        exact_key=" ".join(units),
        content=tuple(intern(u) for u in content),
        words=tuple(words),
        guarded_units=tuple(guarded),
        numbers=tuple(sorted(numbers)),
        negations=tuple(sorted(negations)),
        interrogatives=frozenset(interrogatives),
        strict_entities=frozenset(strict),
        soft_entities=frozenset(soft),
        cased=cased,
        lowercase_words=frozenset(lowercase),
        clause_starts=frozenset(clause_starts),
        units=frozenset(units),
    )
