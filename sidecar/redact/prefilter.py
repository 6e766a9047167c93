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
from sidecar.redact import joined_scan

Hits = joined_scan.Hits
"""Recogniser index -> (first, last): the end offset (code points) of its first pre-filter
match, and of its last one (at most the end of the text: a bound, not always the very end)."""


class Prefilter(Protocol):
    """Which recognisers (by index) may match ``text`` and where their pre-filter matched
    (``None``: all recognisers, anywhere). An always-run recogniser gets ``(0, len(text))``."""

    def candidates(self, text: str) -> Hits | None: ...

    def suspects(self, texts: Sequence[str]) -> set[int] | None:
        """Indexes of ``texts`` for which ``candidates`` may be non-empty, decided for all of
        them at once (every other text has no candidate); None when this pre-filter cannot
        tell in a batch."""
        ...

    def candidates_many(self, texts: Sequence[str]) -> list[Hits] | None:
        """``candidates`` of each of ``texts`` from one scan of all of them, each entry's
        bounds at least as wide as a lone scan's; None when this pre-filter cannot tell in a
        batch."""
        ...


# One report per expression and scan: the first match is all a recogniser needs to place its
# window, and on dense text (a match every few bytes) a Python callback per match would cost
# more than the scan itself.
_FLAGS = hyperscan_db.flag("ALLOWEMPTY") | hyperscan_db.flag("SINGLEMATCH")
_JOINED_FLAGS = hyperscan_db.flag("ALLOWEMPTY")


class NoPrefilter:
    """Every recogniser runs on every text (the portable fallback)."""

    def candidates(self, text: str) -> Hits | None:
        return None

    def suspects(self, texts: Sequence[str]) -> set[int] | None:
        return None

    def candidates_many(self, texts: Sequence[str]) -> list[Hits] | None:
        return None


class HyperscanPrefilter:
    """Hyperscan block-mode database of the pre-filter expressions, reporting the end offset
    of each expression's first match (start-of-match tracking would make the scan about twice
    as slow).

    Recognisers whose expression is ``None`` or fails to compile are always reported. The
    database is compiled (or loaded from the disk cache) at the first scan or :meth:`warm`.
    Thread-safe: each thread gets its own scratch space.

    :meth:`suspects` and :meth:`candidates_many` scan many texts in one call
    (:mod:`~sidecar.redact.joined_scan`) with a second database of the same expressions that
    reports every match, compiled (or loaded) at the first of them or :meth:`warm`.
    """

    def __init__(self, expressions: Sequence[str | None]) -> None:
        if not hyperscan_db.available():
            raise RuntimeError("hyperscan is not installed")
        self._expressions = tuple(expressions)
        self._db: hyperscan_db.Database | None = None
        self._always: frozenset[int] = frozenset()
        self._joined: hyperscan_db.Database | None = None
        self._ready = self._joined_ready = False
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Compile (or load) the databases now rather than at the first scan."""
        self._prepare()
        if self._db is not None:
            self._db.warm()
        self._prepare_joined()

    def _prepare(self) -> None:
        with self._lock:
            if not self._ready:
                self._db, self._always = _database(self._expressions)
                self._ready = True

    def _prepare_joined(self) -> None:
        if not self._ready:
            self._prepare()
        with self._lock:
            if not self._joined_ready:
                self._joined = _joined_database(self._expressions, self._db, self._always)
                self._joined_ready = True

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

    def suspects(self, texts: Sequence[str]) -> set[int] | None:
        joined = self._joined_database()
        return None if joined is None else joined_scan.suspects(joined, texts)

    def candidates_many(self, texts: Sequence[str]) -> list[Hits] | None:
        joined = self._joined_database()
        return None if joined is None else joined_scan.hits(joined, texts)

    def _joined_database(self) -> hyperscan_db.Database | None:
        if not self._joined_ready:
            self._prepare_joined()
        return self._joined


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
        db = _shared(present, _FLAGS)
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


def _joined_database(
    expressions: tuple[str | None, ...], db: hyperscan_db.Database | None, always: frozenset[int]
) -> hyperscan_db.Database | None:
    """The every-match twin of ``db`` for :meth:`HyperscanPrefilter.suspects`, or None when the
    set cannot be scanned joined (an always-run recogniser, an expression that is not
    :func:`~sidecar.redact.joined_scan.joinable`, or one Hyperscan refuses without the
    single-match flag)."""
    if db is None or always:
        return None
    present = [(i, e) for i, e in enumerate(expressions) if e is not None]
    if not all(joined_scan.joinable(e) for _, e in present):
        return None
    twin = _shared(present, _JOINED_FLAGS)
    try:
        twin.warm()
    except hyperscan_db.CompileError:
        return None
    return twin


def _shared(present: list[tuple[int, str]], flags: int) -> hyperscan_db.Database:
    """The process's database of ``(id, expression)`` pairs, all with ``flags``."""
    return hyperscan_db.shared_database(
        [e.encode("utf-8") for _, e in present], [i for i, _ in present], [flags] * len(present)
    )


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
