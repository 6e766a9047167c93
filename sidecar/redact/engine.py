"""The redactor: every PII and secret type found in one pre-filtered pass, then masked.

Guarantee: each finding's ``start``/``end`` index the *input* string (Python code points), and
no two findings overlap. Overlaps between candidates are resolved deterministically: the higher
type priority wins (checksummed and secret types over looser ones, see ``PRIORITY``), then the
longer span, then the earlier one; the result never depends on recogniser order.

Speed: the Hyperscan pre-filter decides which Python patterns run at all, so clean text costs
one pre-filter pass and text with findings pays only for the types present, far less than a
naive pass of one regex per type (figures in docs/benchmarks.md, "Redaction throughput").

Example::

    >>> r = Redactor()
    >>> r.redact("mail bob@example.com, card 4111 1111 1111 1111").text
    'mail [EMAIL], card [CREDIT_CARD]'
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from sidecar.redact import masking
from sidecar.redact.base import PatternRecogniser, RawFinding, Recogniser
from sidecar.redact.config import MaskMode, RedactConfig
from sidecar.redact.prefilter import Hits, Prefilter, make_prefilter
from sidecar.redact.recognisers import builtin_recognisers
from sidecar.redact.walk import redact_value


class Finding(msgspec.Struct, frozen=True):
    """One recognised value: ``text[start:end]`` of the input is of type ``type``."""

    type: str
    start: int
    end: int


class RedactionResult(msgspec.Struct, frozen=True):
    """The masked text and the findings, with offsets into the input text."""

    text: str
    findings: list[Finding]


class RedactConfigError(ValueError):
    """The redact configuration cannot be used (bad custom pattern, unknown type, ...)."""


def custom_recognisers(config: RedactConfig) -> list[PatternRecogniser]:
    """Recognisers built from ``config.custom`` (pattern compiled once, group selects the span)."""
    recognisers = []
    for custom in config.custom:
        try:
            pattern = re.compile(custom.pattern)
        except re.error as exc:
            raise RedactConfigError(f"custom recogniser {custom.type}: {exc}") from exc
        if custom.group > pattern.groups:
            raise RedactConfigError(f"custom recogniser {custom.type}: no group {custom.group}")
        group = custom.group

        def accept(text: str, match: re.Match[str], group: int = group) -> tuple[int, int] | None:
            start, end = match.span(group)
            return (start, end) if end > start else None

        recognisers.append(
            PatternRecogniser(custom.type, pattern, custom.pattern, accept, custom.priority)
        )
    return recognisers


def resolve_overlaps(raw: list[RawFinding]) -> list[RawFinding]:
    """A non-overlapping subset, sorted by start: priority, then length, then position decide.
    O(n log n) in the number of findings (a bisect per finding), so a text dense with findings
    costs no more per finding than a sparse one."""
    if len(raw) < 2:
        return raw
    raw.sort(key=lambda f: (-f[2], f[0] - f[1], f[0], f[3]))
    if any(f[1] <= f[0] for f in raw):
        return _resolve_pairwise(raw)
    kept: list[RawFinding] = []  # sorted by start, pairwise disjoint: O(log n) per check
    starts: list[int] = []
    for finding in raw:
        start, end = finding[0], finding[1]
        at = bisect.bisect_right(starts, start)
        if at and kept[at - 1][1] > start:
            continue
        if at < len(kept) and kept[at][0] < end:
            continue
        kept.insert(at, finding)
        starts.insert(at, start)
    return kept


def _resolve_pairwise(raw: list[RawFinding]) -> list[RawFinding]:
    """The same choice, quadratic: for empty spans, which the sorted check does not model."""
    kept: list[RawFinding] = []
    for finding in raw:
        start, end = finding[0], finding[1]
        if all(end <= other[0] or start >= other[1] for other in kept):
            kept.append(finding)
    kept.sort()
    return kept


class Redactor:
    """Finds and masks PII and secrets in text. Cheap to call, not cheap to build (compiles
    patterns): build one per configuration and share it. Thread-safe except for the counters,
    which may undercount under free threading."""

    def __init__(self, config: RedactConfig | None = None) -> None:
        self.config = config or RedactConfig()
        recognisers = builtin_recognisers(self.config.secret_assignments)
        recognisers += custom_recognisers(self.config)
        if self.config.types:
            wanted = set(self.config.types)
            unknown = wanted - {r.type for r in recognisers}
            if unknown:
                raise RedactConfigError(f"unknown types in redact.types: {sorted(unknown)}")
            recognisers = [r for r in recognisers if r.type in wanted]
        self._recognisers: list[Recogniser] = recognisers
        self._prefilter: Prefilter = make_prefilter(
            [r.prefilter for r in recognisers], self.config.fast_prefilter
        )
        key = self.config.hash_key.encode() if self.config.hash_key else os.urandom(32)
        self._key = key
        self._allow = frozenset(value.lower() for value in self.config.allow)
        self._allow_patterns = [re.compile(p) for p in self.config.allow_patterns]
        self.counts: dict[str, int] = {}

    def warm(self) -> None:
        """Compile (or load from the disk cache) the pre-filter and load the phone metadata
        now, so the first text does not pay for them."""
        warm = getattr(self._prefilter, "warm", None)
        if warm is not None:
            warm()
        if self.config.enabled:
            self.find("call +44 20 7946 0958 or mail a@example.com")

    @property
    def types(self) -> list[str]:
        """Every type this redactor reports, sorted."""
        return sorted({r.type for r in self._recognisers})

    def find(self, text: str) -> list[Finding]:
        """The findings in ``text``, sorted by start, non-overlapping, allow-list applied."""
        return [Finding(f[3], f[0], f[1]) for f in self._find_raw(text)]

    def suspects(self, texts: Sequence[str]) -> set[int] | None:
        """Indexes of ``texts`` whose :meth:`find` may be non-empty; :meth:`find` of every other
        one is certainly empty. One pre-filter scan of all of them
        (:mod:`~sidecar.redact.joined_scan`); None when the pre-filter cannot decide in a batch
        (no Hyperscan, an always-run recogniser, an expression that cannot be scanned joined)."""
        if not self.config.enabled:
            return set()
        found = self._prefilter.suspects(texts)
        if found is None:
            return None
        return {i for i in found if len(texts[i]) >= 3}

    def _find_raw(self, text: str) -> list[RawFinding]:
        if len(text) < 3 or not self.config.enabled:
            return []
        return self._find_selected(text, self._prefilter.candidates(text))

    def _find_selected(self, text: str, selected: Hits | None) -> list[RawFinding]:
        raw: list[RawFinding] = []
        if selected is None:
            for recogniser in self._recognisers:
                recogniser.find(text, raw)
        else:
            for index, (first, last) in selected.items():
                self._recognisers[index].find(text, raw, first, last)
        if not raw:
            return raw
        if self._allow or self._allow_patterns:
            raw = [f for f in raw if not self._allowed(text[f[0] : f[1]])]
        return resolve_overlaps(raw)

    def _allowed(self, value: str) -> bool:
        if value.lower() in self._allow:
            return True
        return any(p.fullmatch(value) for p in self._allow_patterns)

    def mask(self, type_: str, value: str, mode: MaskMode | None = None) -> str:
        """The replacement for ``value`` of ``type_`` under ``mode`` (default: configured)."""
        mode = mode or self.config.modes.get(type_, self.config.mode)
        if mode == "hash":
            return masking.pseudonym(self._key, type_, value)
        if mode == "partial":
            return masking.partial(type_, value)
        return masking.label(type_)

    @property
    def has_configured_key(self) -> bool:
        """Whether ``hash_key`` is set (otherwise the app supplies one kept in the database)."""
        return bool(self.config.hash_key)

    def use_key(self, key: bytes) -> None:
        """Use ``key`` for pseudonyms (the app's generated key when none is configured)."""
        self._key = key

    def pseudonym(self, value: str, type_: str = "ID") -> str:
        """The keyed pseudonym of a whole value (used for identifiers that contain PII)."""
        return masking.pseudonym(self._key, type_, value)

    def redact(self, text: str, mode: MaskMode | None = None) -> RedactionResult:
        """Mask every finding in ``text``; offsets in the result refer to ``text``."""
        return self._result(text, self._find_raw(text), mode)

    def redact_many(
        self, texts: Sequence[str], mode: MaskMode | None = None
    ) -> list[RedactionResult]:
        """:meth:`redact` of each of ``texts``, in order, with one pre-filter scan of all of
        them instead of one per text (the same results: the joined scan's windows hold the
        lone scans' windows, see :func:`~sidecar.redact.joined_scan.hits`)."""
        hits = self._prefilter.candidates_many(texts) if self.config.enabled else None
        if hits is None:
            return [self.redact(text, mode) for text in texts]
        return [
            self._result(
                text,
                self._find_selected(text, selected) if selected and len(text) >= 3 else [],
                mode,
            )
            for text, selected in zip(texts, hits, strict=True)
        ]

    def _result(self, text: str, raw: list[RawFinding], mode: MaskMode | None) -> RedactionResult:
        if not raw:
            return RedactionResult(text, [])
        return RedactionResult(
            self._apply(text, raw, mode), [Finding(f[3], f[0], f[1]) for f in raw]
        )

    def redact_text(self, text: str, mode: MaskMode | None = None) -> str:
        """Only the masked text (no finding objects built): the ingest fast path."""
        raw = self._find_raw(text)
        return self._apply(text, raw, mode) if raw else text

    def _apply(self, text: str, raw: Iterable[RawFinding], mode: MaskMode | None) -> str:
        parts: list[str] = []
        position = 0
        counts = self.counts
        for start, end, _, type_ in raw:
            parts.append(text[position:start])
            parts.append(self.mask(type_, text[start:end], mode))
            position = end
            counts[type_] = counts.get(type_, 0) + 1
        parts.append(text[position:])
        return "".join(parts)

    def redact_value(self, value: Any, mode: MaskMode | None = None) -> Any:
        """Redact every string inside a JSON value (dict keys too); see :mod:`walk`."""
        return redact_value(self, value, mode)

    def stats(self) -> dict[str, int]:
        """Redactions so far by type (a snapshot for the metrics layer)."""
        return dict(self.counts)
