"""Feature extraction of the guard: one pass over a text gives the pattern matches and the
named features the learned scorer weighs.

Two scans per text (a third and fourth only for the rare text with obfuscation): a literal
database of every cue of :mod:`sidecar.guard.cues` and of the model's n-grams, and a regex
database of the pattern families plus the regex cues. Feature names:

Whole text: ``g:<group>`` a context group occurs (security write-up, code, git, install docs,
customer mail, docs, question), ``t:<group>`` the same in a tool result;
- ``p:<family>`` a pattern family matched, ``p:strong`` its noisy-OR reached 0.5, ``p:bare``
  the same with no context group in the text (a textbook attack nobody is discussing);
- ``s:<signal>`` an obfuscation signal; ``d:<group>`` a group found only in a decoded view;
- ``w:<ngram>`` an n-gram of the model's vocabulary; ``src:tool``; ``len:<0-3>``; ``cjk``.

Per window of two consecutive sentences: ``n:<a>+<b>`` two groups within one sentence and
``NEAR_BYTES``; ``g:``/``t:`` of the attack groups specific enough to count alone.

Hyperscan runs both databases when installed; otherwise the same features come from
``bytes.find`` and Python's ``re`` (a test checks they agree), far slower.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import NamedTuple

from sidecar import hyperscan_db
from sidecar.guard.cues import (
    BOUNDARIES,
    CASE_SENSITIVE_CUES,
    CONTEXT_GROUPS,
    DEOBFUSCATION_TRIGGERS,
    LITERAL_CUES,
    NEAR_BYTES,
    REGEX_CUES,
    STANDALONE_GROUPS,
)
from sidecar.guard.normalise import SIGNAL_EXPRESSIONS, deobfuscate, unescape
from sidecar.guard.patterns import PATTERNS, Pattern

GROUPS: tuple[str, ...] = tuple(dict.fromkeys([*LITERAL_CUES, *REGEX_CUES]))
_GROUP_INDEX = {name: i for i, name in enumerate(GROUPS)}
_CONTEXT = frozenset(i for i, name in enumerate(GROUPS) if name in CONTEXT_GROUPS)
_STANDALONE_ATTACK = frozenset(
    i for i, name in enumerate(GROUPS) if name in STANDALONE_GROUPS and i not in _CONTEXT
)
_G = tuple(f"g:{name}" for name in GROUPS)
_T = tuple(f"t:{name}" for name in GROUPS)
_D = tuple(f"d:{name}" for name in GROUPS)
_N = tuple(tuple(f"n:{min(a, b)}+{max(a, b)}" if a != b else "" for b in GROUPS) for a in GROUPS)
_CJK_RX = re.compile("[\u4e00-\u9fff]")
_BOUNDARY = -2  # the group of the sentence-end literals (". ", "\n", "。" ...)
_SIGNALS = tuple(SIGNAL_EXPRESSIONS)
_ATTACK = tuple(name not in CONTEXT_GROUPS for name in GROUPS)
_TRIGGER_GROUPS = {_GROUP_INDEX[g]: t for g, t in DEOBFUSCATION_TRIGGERS.items()}
_TRIGGERING = frozenset(_TRIGGER_GROUPS)


class _Scan(NamedTuple):
    cues: list[tuple[int, int, int]]  # (end offset, sentence, group), sorted
    ngrams: list[int]
    patterns: list[Pattern]
    signals: list[str]


class Extraction(NamedTuple):
    """The features of one text: ``features`` hold for the whole text (context, source,
    patterns, signals), each of ``windows`` for two consecutive sentences; the model adds the
    best window to the whole-text part. Also the patterns that matched (text and views)."""

    features: list[str]
    windows: list[list[str]]
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
    for boundary in BOUNDARIES:
        literals.append(boundary.encode("utf-8"))
        groups.append(_BOUNDARY)
    cues = len(literals)
    for ngram in ngrams:
        literals.append(ngram.lower().encode("utf-8"))
        groups.append(-1)
    return literals, groups, cues


def _literal_db(literals: tuple[bytes, ...], cues: int) -> hyperscan_db.Database:
    caseless, single = hyperscan_db.flag("CASELESS"), hyperscan_db.flag("SINGLEMATCH")
    return hyperscan_db.shared_database(
        literals,
        range(len(literals)),
        [caseless if i < cues else caseless | single for i in range(len(literals))],
        literal=True,
    )


def _regex_db(
    patterns: tuple[str, ...],
    cues: tuple[tuple[str, bool], ...],
    signals: tuple[str, ...],
    first_id: int = 0,
) -> hyperscan_db.Database:
    flag = hyperscan_db.flag
    base = flag("SINGLEMATCH") | flag("MULTILINE")
    caseless, utf8 = flag("CASELESS"), flag("UTF8")
    expressions = [*patterns, *(e for e, _ in cues), *signals]
    return hyperscan_db.shared_database(
        [e.encode("utf-8") for e in expressions],
        range(first_id, first_id + len(expressions)),
        [base | caseless | utf8] * len(patterns)
        + [base | (caseless if folded else 0) for _, folded in cues]
        + [base | utf8] * len(signals),
    )


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
        self._hs = hyperscan_db.available() and use_hyperscan
        if self._hs:
            self._lit_db = _literal_db(tuple(literals), self._cue_count)
            self._rx_db = _regex_db(
                tuple(p.expression for p in self.patterns),
                tuple((e, folded) for _, e, folded in self._regex_cues),
                (),
            )
            # Every obfuscation signal needs a non-ASCII character: ASCII texts skip this scan.
            self._sig_db = _regex_db(
                (),
                (),
                tuple(SIGNAL_EXPRESSIONS.values()),
                len(self.patterns) + len(self._regex_cues),
            )
        else:
            self._py_patterns = [
                re.compile(p.expression, re.IGNORECASE | re.MULTILINE) for p in self.patterns
            ]
            self._py_cues = [
                re.compile(e.encode("utf-8"), (re.IGNORECASE if folded else 0) | re.MULTILINE)
                for _, e, folded in self._regex_cues
            ]
            self._py_signals = [re.compile(e) for e in SIGNAL_EXPRESSIONS.values()]

    # --- one scan --------------------------------------------------------------------------
    def _scan(self, text: str) -> _Scan:
        """Cue hits as (end offset, sentence, group), n-gram ids, matched patterns and the
        obfuscation signals of one text. The bytes scanned start with a newline, so a literal
        cue starting with one also matches on the first line."""
        data = b"\n" + text.encode("utf-8", "surrogatepass")
        if self._hs:
            return self._scan_hyperscan(data)
        return self._scan_python(text, data)

    def warm(self) -> None:
        """Compile (or load) the databases now rather than at the first scan."""
        if self._hs:
            for db in (self._lit_db, self._rx_db, self._sig_db):
                db.warm()

    def _scan_hyperscan(self, data: bytes) -> _Scan:
        """The hot path: the callbacks sort hits into cues, sentence ends and n-grams at once
        (same result as :meth:`_collect` on the same hits)."""
        groups, cue_count = self._literal_group, self._cue_count
        cues: list[tuple[int, int]] = []
        bounds: list[int] = []
        ngrams: list[int] = []
        regex_hits: list[tuple[int, int]] = []
        add_cue, add_bound = cues.append, bounds.append

        def on_literal(index: int, start: int, end: int, flags: int, context: object) -> None:
            if index < cue_count:
                group = groups[index]
                if group >= 0:
                    add_cue((group, end))
                else:
                    add_bound(end)
            else:
                ngrams.append(index - cue_count)

        def on_regex(index: int, start: int, end: int, flags: int, context: object) -> None:
            regex_hits.append((index, end))

        self._lit_db.scan(data, on_literal)
        self._rx_db.scan(data, on_regex)
        if not data.isascii():
            self._sig_db.scan(data, on_regex)
        return self._place(cues, sorted(bounds), ngrams, regex_hits)

    def _scan_python(self, text: str, data: bytes) -> _Scan:
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
        offset += len(self._py_cues)
        if not text.isascii():
            for index, srx in enumerate(self._py_signals):
                if srx.search(text):
                    regex_hits.append((offset + index, 0))
        return self._collect(literal_hits, regex_hits)

    def _collect(
        self, literal_hits: list[tuple[int, int]], regex_hits: list[tuple[int, int]]
    ) -> _Scan:
        groups = self._literal_group
        cues = [(groups[i], end) for i, end in literal_hits if i < self._cue_count]
        bounds = sorted(end for group, end in cues if group == _BOUNDARY)
        if bounds:
            cues = [hit for hit in cues if hit[0] != _BOUNDARY]
        ngrams = [i - self._cue_count for i, _ in literal_hits if i >= self._cue_count]
        return self._place(cues, bounds, ngrams, regex_hits)

    def _place(
        self,
        cues: list[tuple[int, int]],
        bounds: list[int],
        ngrams: list[int],
        regex_hits: list[tuple[int, int]],
    ) -> _Scan:
        """Regex hits split into patterns, cues and signals; cues placed in sentences."""
        patterns: list[Pattern] = []
        signals: list[str] = []
        n_patterns, n_cues = len(self.patterns), len(self._regex_cues)
        for index, end in sorted(regex_hits):
            if index < n_patterns:
                patterns.append(self.patterns[index])
            elif index < n_patterns + n_cues:
                cues.append((self._regex_cues[index - n_patterns][0], end))
            else:
                signals.append(_SIGNALS[index - n_patterns - n_cues])
        if len(cues) > 1:
            where = bisect.bisect_right
            placed = sorted((end, where(bounds, end), group) for group, end in cues)
        else:
            placed = [(end, 0, group) for group, end in cues]
        return _Scan(placed, ngrams, patterns, signals)

    # --- features --------------------------------------------------------------------------
    def extract(self, text: str, source: str = "user") -> Extraction:
        """The features of ``text`` arriving from ``source`` (``user`` or ``tool_result``)."""
        text = unescape(text)
        tool = source == "tool_result"
        scan = self._scan(text)
        ngrams, patterns = scan.ngrams, scan.patterns
        present = {g for _, _, g in scan.cues}
        triggers = {_TRIGGER_GROUPS[g] for g in present & _TRIGGERING} if present else set()
        if scan.signals:
            triggers.update(scan.signals)
        signals: set[str] = set()
        decoded: set[int] = set()
        windows = _windows(scan.cues, tool) if scan.cues else []
        if triggers:
            signals, views = deobfuscate(text, triggers)
            for view in views:
                seen = self._scan(view)
                decoded |= {g for _, _, g in seen.cues} - present
                ngrams.extend(seen.ngrams)
                patterns.extend(p for p in seen.patterns if p not in patterns)
                windows.extend(_windows(seen.cues, tool))
            present |= decoded
        context = present & _CONTEXT
        features = [_G[g] for g in context]
        if tool:
            features.append("src:tool")
            features.extend(_T[g] for g in context)
        if decoded:
            features.extend(_D[g] for g in decoded)
        if patterns:
            keep = 1.0
            for family in {p.family for p in patterns}:
                features.append(f"p:{family}")
            for pattern in patterns:
                keep *= 1.0 - pattern.weight
            if keep <= 0.5:
                features.append("p:strong")
                if not context:
                    features.append("p:bare")
        if signals:
            features.extend(f"s:{signal}" for signal in sorted(signals))
        if ngrams:
            names = self._ngram_names
            features.extend(dict.fromkeys(names[i] for i in ngrams))
        size = len(text)
        features.append("len:0" if size < 200 else "len:1" if size < 600 else
                        "len:2" if size < 1500 else "len:3")  # fmt: skip
        if not text.isascii() and _CJK_RX.search(text):
            features.append("cjk")
        return Extraction(features, windows, patterns, frozenset(signals))

    def pattern_matches(self, text: str) -> list[Pattern]:
        """Only the patterns that occur in ``text`` (each once), in pattern order."""
        return self._scan(text).patterns


def _windows(cues: Sequence[tuple[int, int, int]], tool: bool) -> list[list[str]]:
    """The local evidence of each window of two consecutive sentences: ``n:a+b`` for two groups
    (one an attack group) within one sentence and NEAR_BYTES, and standalone attack groups
    (``g:``, and ``t:`` in a tool result). ``cues`` are (end offset, sentence, group), sorted;
    the features come in the order found (deterministic, no sort on the hot path)."""
    per_sentence: dict[int, dict[str, None]] = {}
    attack, standalone = _ATTACK, _STANDALONE_ATTACK
    count = len(cues)
    for i in range(count):
        end, where, group = cues[i]
        local = per_sentence.get(where)
        if local is None:
            local = per_sentence[where] = {}
        if group in standalone:
            local[_G[group]] = None
            if tool:
                local[_T[group]] = None
        row, attacking = _N[group], attack[group]
        for j in range(i + 1, count):
            other_end, other_where, other = cues[j]
            if other_where != where or other_end - end > NEAR_BYTES:
                break
            if other != group and (attacking or attack[other]):
                local[row[other]] = None
    windows = []
    for where, local in per_sentence.items():
        if local:
            following = per_sentence.get(where + 1)
            windows.append(list({**local, **following} if following else local))
    return windows
