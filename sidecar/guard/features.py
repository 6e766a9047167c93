"""Feature extraction of the guard: one pass over a text gives the pattern matches and the
named features the learned scorer weighs.

Two scans per text (a third and fourth only for the rare text with obfuscation): a literal
database of every cue of :mod:`sidecar.guard.cues` and of the model's n-grams, and a regex
database of the pattern families plus the regex cues. Feature names:

- ``g:<group>`` a cue group occurs; ``t:<group>`` the same in a tool result;
- ``n:<a>+<b>`` two groups occur within ``NEAR_BYTES`` of each other;
- ``p:<family>`` a pattern family matched, ``p:strong`` its noisy-OR reached 0.5;
- ``s:<signal>`` an obfuscation signal; ``d:<group>`` a group found only in a decoded view;
- ``w:<ngram>`` an n-gram of the model's vocabulary; ``src:tool``; ``len:<0-3>``; ``cjk``.

Hyperscan runs both databases when installed; otherwise the same features come from
``bytes.find`` and Python's ``re`` (a test checks they agree), far slower.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sidecar.guard.cues import (
    CASE_SENSITIVE_CUES,
    DEOBFUSCATION_TRIGGERS,
    LITERAL_CUES,
    NEAR_BYTES,
    REGEX_CUES,
)
from sidecar.guard.normalise import deobfuscate
from sidecar.guard.patterns import PATTERNS, Pattern

try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - platforms without the wheel
    _hs = None  # type: ignore[assignment]

GROUPS: tuple[str, ...] = tuple(dict.fromkeys([*LITERAL_CUES, *REGEX_CUES]))
_GROUP_INDEX = {name: i for i, name in enumerate(GROUPS)}
_G = tuple(f"g:{name}" for name in GROUPS)
_T = tuple(f"t:{name}" for name in GROUPS)
_D = tuple(f"d:{name}" for name in GROUPS)
_N = tuple(
    tuple(f"n:{min(a, b)}+{max(a, b)}" if a != b else "" for b in GROUPS) for a in GROUPS
)
_CJK_RX = re.compile("[\u4e00-\u9fff]")
_TRIGGER_GROUPS = {_GROUP_INDEX[g]: t for g, t in DEOBFUSCATION_TRIGGERS.items()}


class Extraction(NamedTuple):
    """The features of one text and the patterns that matched it (text and decoded views)."""

    features: list[str]
    patterns: list[Pattern]
    signals: frozenset[str]


def _literal_table(ngrams: Sequence[str]) -> tuple[list[bytes], list[int], int]:
    """Distinct lowercase literals, the group index of each cue literal (-1 for n-grams after
    it), and how many are cues. A literal in two groups is listed once per group."""
    literals: list[bytes] = []
    groups: list[int] = []
    for name, items in LITERAL_CUES.items():
        for item in dict.fromkeys(items):
            literals.append(item.lower().encode("utf-8"))
            groups.append(_GROUP_INDEX[name])
    cues = len(literals)
    for ngram in ngrams:
        literals.append(ngram.lower().encode("utf-8"))
        groups.append(-1)
    return literals, groups, cues


@functools.lru_cache(maxsize=4)
def _literal_db(literals: tuple[bytes, ...], cues: int) -> Any:
    assert _hs is not None
    db = _hs.Database()
    caseless = _hs.HS_FLAG_CASELESS
    db.compile(
        expressions=list(literals),
        ids=list(range(len(literals))),
        elements=len(literals),
        flags=[caseless if i < cues else caseless | _hs.HS_FLAG_SINGLEMATCH
               for i in range(len(literals))],
        literal=True,
    )  # fmt: skip
    return db


@functools.lru_cache(maxsize=4)
def _regex_db(patterns: tuple[str, ...], cues: tuple[tuple[str, bool], ...]) -> Any:
    assert _hs is not None
    base = _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_MULTILINE
    caseless = _hs.HS_FLAG_CASELESS
    expressions = [*patterns, *(e for e, _ in cues)]
    db = _hs.Database()
    db.compile(
        expressions=[e.encode("utf-8") for e in expressions],
        ids=list(range(len(expressions))),
        elements=len(expressions),
        flags=[base | caseless | _hs.HS_FLAG_UTF8] * len(patterns)
        + [base | (caseless if folded else 0) for _, folded in cues],
    )
    return db


class FeatureExtractor:
    """Features of texts for the learned scorer; see the module docstring for the names."""

    def __init__(
        self,
        patterns: Sequence[Pattern] = PATTERNS,
        ngrams: Sequence[str] = (),
        *,
        use_hyperscan: bool = True,
    ) -> None:
        self.patterns = list(patterns)
        self.ngrams = list(ngrams)
        literals, self._literal_group, self._cue_count = _literal_table(self.ngrams)
        self._literals = literals
        self._ngram_names = [f"w:{n}" for n in self.ngrams]
        self._regex_cues: list[tuple[int, str, bool]] = [
            (_GROUP_INDEX[name], expression, name not in CASE_SENSITIVE_CUES)
            for name, expressions in REGEX_CUES.items()
            for expression in expressions
        ]
        self._hs = _hs is not None and use_hyperscan
        self._local = threading.local()
        if self._hs:
            self._lit_db = _literal_db(tuple(literals), self._cue_count)
            self._rx_db = _regex_db(
                tuple(p.expression for p in self.patterns),
                tuple((e, folded) for _, e, folded in self._regex_cues),
            )
        else:
            self._py_patterns = [
                re.compile(p.expression, re.IGNORECASE | re.MULTILINE) for p in self.patterns
            ]
            self._py_cues = [
                re.compile(e.encode("ascii"), (re.IGNORECASE if folded else 0) | re.MULTILINE)
                for _, e, folded in self._regex_cues
            ]

    # --- one scan --------------------------------------------------------------------------
    def _scan(self, text: str) -> tuple[list[tuple[int, int]], list[int], list[Pattern]]:
        """(cue hits as (group, end offset), n-gram ids, matched patterns) of one text."""
        data = text.encode("utf-8", "surrogatepass")
        if self._hs:
            return self._scan_hyperscan(data)
        return self._scan_python(text, data)

    def _scratches(self) -> tuple[Any, Any]:
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = (_hs.Scratch(self._lit_db), _hs.Scratch(self._rx_db))
            self._local.scratches = scratches
        return scratches

    def _scan_hyperscan(
        self, data: bytes
    ) -> tuple[list[tuple[int, int]], list[int], list[Pattern]]:
        lit_scratch, rx_scratch = self._scratches()
        literal_hits: list[tuple[int, int]] = []
        regex_hits: list[tuple[int, int]] = []

        def on_literal(index: int, start: int, end: int, flags: int, context: object) -> None:
            literal_hits.append((index, end))

        def on_regex(index: int, start: int, end: int, flags: int, context: object) -> None:
            regex_hits.append((index, end))

        self._lit_db.scan(data, match_event_handler=on_literal, scratch=lit_scratch)
        self._rx_db.scan(data, match_event_handler=on_regex, scratch=rx_scratch)
        return self._collect(literal_hits, regex_hits)

    def _scan_python(
        self, text: str, data: bytes
    ) -> tuple[list[tuple[int, int]], list[int], list[Pattern]]:
        low = data.lower()
        literal_hits: list[tuple[int, int]] = []
        for index, literal in enumerate(self._literals):
            at = low.find(literal)
            while at >= 0:
                literal_hits.append((index, at + len(literal)))
                if index >= self._cue_count:
                    break
                at = low.find(literal, at + 1)
        regex_hits: list[tuple[int, int]] = []
        for index, rx in enumerate(self._py_patterns):
            if rx.search(text):
                regex_hits.append((index, 0))
        offset = len(self._py_patterns)
        for index, crx in enumerate(self._py_cues):
            found = crx.search(data)
            if found:
                regex_hits.append((offset + index, found.end()))
        return self._collect(literal_hits, regex_hits)

    def _collect(
        self, literal_hits: list[tuple[int, int]], regex_hits: list[tuple[int, int]]
    ) -> tuple[list[tuple[int, int]], list[int], list[Pattern]]:
        groups = self._literal_group
        cues = [(groups[i], end) for i, end in literal_hits if i < self._cue_count]
        ngrams = [i - self._cue_count for i, _ in literal_hits if i >= self._cue_count]
        patterns: list[Pattern] = []
        n_patterns = len(self.patterns)
        for index, end in sorted(regex_hits):
            if index < n_patterns:
                patterns.append(self.patterns[index])
            else:
                cues.append((self._regex_cues[index - n_patterns][0], end))
        return cues, ngrams, patterns

    # --- features --------------------------------------------------------------------------
    def extract(self, text: str, source: str = "user") -> Extraction:
        """The features of ``text`` arriving from ``source`` (``user`` or ``tool_result``)."""
        cues, ngrams, patterns = self._scan(text)
        present = {g for g, _ in cues}
        triggers = {_TRIGGER_GROUPS[g] for g in present if g in _TRIGGER_GROUPS}
        signals: set[str] = set()
        decoded: set[int] = set()
        extra_pairs: set[str] = set()
        if triggers or not text.isascii() or "\\u" in text or "&#" in text:
            signals, views = deobfuscate(text, triggers)
            for view in views:
                v_cues, v_ngrams, v_patterns = self._scan(view)
                new = {g for g, _ in v_cues} - present
                decoded |= new
                ngrams.extend(v_ngrams)
                patterns.extend(p for p in v_patterns if p not in patterns)
                extra_pairs.update(_near_pairs(v_cues))
            present |= decoded
        features = [_G[g] for g in present]
        if source == "tool_result":
            features.append("src:tool")
            features.extend(_T[g] for g in present)
        features.extend(_D[g] for g in decoded)
        pairs = _near_pairs(cues)
        pairs.update(extra_pairs)
        features.extend(pairs)
        if patterns:
            keep = 1.0
            for family in {p.family for p in patterns}:
                features.append(f"p:{family}")
            for pattern in patterns:
                keep *= 1.0 - pattern.weight
            if keep <= 0.5:
                features.append("p:strong")
        features.extend(f"s:{signal}" for signal in sorted(signals))
        names = self._ngram_names
        features.extend(dict.fromkeys(names[i] for i in ngrams))
        size = len(text)
        features.append("len:0" if size < 200 else "len:1" if size < 600 else
                        "len:2" if size < 1500 else "len:3")  # fmt: skip
        if not text.isascii() and _CJK_RX.search(text):
            features.append("cjk")
        return Extraction(features, patterns, frozenset(signals))

    def pattern_matches(self, text: str) -> list[Pattern]:
        """Only the patterns that occur in ``text`` (each once), in pattern order."""
        return self._scan(text)[2]


def _near_pairs(cues: Iterable[tuple[int, int]]) -> set[str]:
    """``n:a+b`` for each two groups whose hits lie within NEAR_BYTES of each other."""
    ordered = sorted(cues, key=lambda hit: hit[1])
    pairs: set[str] = set()
    for i, (group, end) in enumerate(ordered):
        row = _N[group]
        for other, other_end in ordered[i + 1 :]:
            if other_end - end > NEAR_BYTES:
                break
            if other != group:
                pairs.add(row[other])
    return pairs
