"""One pass over the text that tells which recognisers can possibly match.

Most agent text holds no PII, and a Python regex costs the same whether or not it matches
(CPython's ``re`` tries each pattern at every position). Hyperscan runs all pre-filter
expressions together in one SIMD pass over the UTF-8 bytes, so a text with no candidate is done
after that one pass, and a text with an email runs only the email pattern (figures in
docs/benchmarks.md, "Redaction throughput").

Guarantee: a pre-filter expression matches a superset of its recogniser's matches (ASCII
classes, no upper bounds on negated classes), so skipping never loses a finding; the tests
compare the result with and without the pre-filter. Without Hyperscan (not installed, or an
expression it cannot compile) the recogniser simply always runs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from sidecar import hyperscan_db

Hits = dict[int, tuple[int, int]]
"""Recogniser index -> (first, last): the end offset (code points) of its first pre-filter
match, and the end of the text."""


class Prefilter(Protocol):
    """Which recognisers (by index) may match ``text`` and where their pre-filter matched
    (``None``: all recognisers, anywhere). An always-run recogniser gets ``(0, len(text))``."""

    def candidates(self, text: str) -> Hits | None: ...


# One report per expression and scan: the first match is all a recogniser needs to place its
# window, and on dense text (a match every few bytes) a Python callback per match would cost
# more than the scan itself.
_FLAGS = hyperscan_db.flag("ALLOWEMPTY") | hyperscan_db.flag("SINGLEMATCH")


class NoPrefilter:
    """Every recogniser runs on every text (the portable fallback)."""

    def candidates(self, text: str) -> Hits | None:
        return None


class HyperscanPrefilter:
    """Hyperscan block-mode database of the pre-filter expressions, reporting the end offset
    of each expression's first match (start-of-match tracking would make the scan about twice
    as slow).

    Recognisers whose expression is ``None`` or fails to compile are always reported. The
    database is compiled (or loaded from the disk cache) at the first scan or :meth:`warm`.
    Thread-safe: each thread gets its own scratch space.
    """

    def __init__(self, expressions: Sequence[str | None]) -> None:
        if not hyperscan_db.available():
            raise RuntimeError("hyperscan is not installed")
        self._expressions = tuple(expressions)
        self._db: hyperscan_db.Database | None = None
        self._always: frozenset[int] = frozenset()
        self._ready = False
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Compile (or load) the database now rather than at the first scan."""
        self._prepare()
        if self._db is not None:
            self._db.warm()

    def _prepare(self) -> None:
        with self._lock:
            if not self._ready:
                self._db, self._always = _database(self._expressions)
                self._ready = True

    def candidates(self, text: str) -> Hits | None:
        if not self._ready:
            self._prepare()
        everywhere = (0, len(text))
        found: Hits = {index: everywhere for index in self._always}
        if self._db is None:
            return found
        firsts: dict[int, int] = {}

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            firsts[index] = end

        data = text.encode("utf-8", "surrogatepass")
        self._db.scan(data, on_match)
        size = len(text)
        ascii_only = len(data) == size
        for index, first in firsts.items():
            found[index] = (first if ascii_only else _chars_before(data, first), size)
        return found


def _database(
    expressions: tuple[str | None, ...],
) -> tuple[hyperscan_db.Database | None, frozenset[int]]:
    """The compiled database of the expressions Hyperscan accepts, and the indexes that must
    always run. Shared by every prefilter of the same expressions; the per-expression probe
    runs only when the whole set does not compile (a custom expression Hyperscan refuses)."""
    present = [(i, e) for i, e in enumerate(expressions) if e is not None]
    always = {i for i, e in enumerate(expressions) if e is None}
    for attempt in range(2):
        if not present:
            return None, frozenset(always)
        db = hyperscan_db.shared_database(
            [e.encode("utf-8") for _, e in present], [i for i, _ in present],
            [_FLAGS] * len(present),
        )  # fmt: skip
        try:
            db.warm()
        except hyperscan_db.CompileError:
            if attempt:
                raise
            always |= {i for i, e in present if not hyperscan_db.compiles(e, _FLAGS)}
            present = [(i, e) for i, e in present if i not in always]
            continue
        return db, frozenset(always)
    raise AssertionError("unreachable")


def _chars_before(data: bytes, offset: int) -> int:
    return len(data[:offset].decode("utf-8", "ignore"))


def make_prefilter(expressions: Sequence[str | None], enabled: bool = True) -> Prefilter:
    """Hyperscan when installed and enabled, else :class:`NoPrefilter`."""
    if enabled and hyperscan_db.available():
        return HyperscanPrefilter(expressions)
    return NoPrefilter()


def hyperscan_available() -> bool:
    """True when the Hyperscan bindings are importable."""
    return hyperscan_db.available()
