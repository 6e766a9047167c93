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

import functools
import threading
from collections.abc import Sequence
from typing import Any, Protocol

try:  # Optional: x86-64 wheels only.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None  # type: ignore[assignment]


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
_FLAGS = (_hs.HS_FLAG_ALLOWEMPTY | _hs.HS_FLAG_SINGLEMATCH) if _hs is not None else 0


class NoPrefilter:
    """Every recogniser runs on every text (the portable fallback)."""

    def candidates(self, text: str) -> Hits | None:
        return None


class HyperscanPrefilter:
    """Hyperscan block-mode database of the pre-filter expressions, reporting the end offset
    of each expression's first match (start-of-match tracking would make the scan about twice
    as slow).

    Recognisers whose expression is ``None`` or fails to compile are always reported.
    Thread-safe: each thread gets its own scratch space.
    """

    def __init__(self, expressions: Sequence[str | None]) -> None:
        if _hs is None:
            raise RuntimeError("hyperscan is not installed")
        self._db, always = _compile(tuple(expressions))
        self._always = set(always)
        self._local = threading.local()

    def candidates(self, text: str) -> Hits | None:
        everywhere = (0, len(text))
        found: Hits = {index: everywhere for index in self._always}
        if self._db is None:
            return found
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = _hs.Scratch(self._db)
            self._local.scratch = scratch
        firsts: dict[int, int] = {}

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            firsts[index] = end

        data = text.encode("utf-8", "surrogatepass")
        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        size = len(text)
        ascii_only = len(data) == size
        for index, first in firsts.items():
            found[index] = (first if ascii_only else _chars_before(data, first), size)
        return found


@functools.lru_cache(maxsize=16)
def _compile(expressions: tuple[str | None, ...]) -> tuple[Any, frozenset[int]]:
    """The database of the expressions that compile, and the indexes that must always run.

    Cached: a database is immutable and shareable between threads (scratch is per thread),
    and compiling takes about half a second.
    """
    assert _hs is not None
    always: set[int] = set()
    compiled: list[tuple[int, bytes]] = []
    for index, expression in enumerate(expressions):
        if expression is None or not _compiles(expression):
            always.add(index)
        else:
            compiled.append((index, expression.encode("utf-8")))
    if not compiled:
        return None, frozenset(always)
    db = _hs.Database()
    db.compile(
        expressions=[expr for _, expr in compiled],
        ids=[index for index, _ in compiled],
        elements=len(compiled),
        flags=[_FLAGS] * len(compiled),
    )
    return db, frozenset(always)


def _compiles(expression: str) -> bool:
    assert _hs is not None
    db = _hs.Database()
    try:
        db.compile(expressions=[expression.encode("utf-8")], ids=[0], elements=1, flags=[_FLAGS])
    except _hs.error:
        return False
    return True


def _chars_before(data: bytes, offset: int) -> int:
    return len(data[:offset].decode("utf-8", "ignore"))


def make_prefilter(expressions: Sequence[str | None], enabled: bool = True) -> Prefilter:
    """Hyperscan when installed and enabled, else :class:`NoPrefilter`."""
    if enabled and _hs is not None:
        return HyperscanPrefilter(expressions)
    return NoPrefilter()


def hyperscan_available() -> bool:
    """True when the Hyperscan bindings are importable."""
    return _hs is not None
