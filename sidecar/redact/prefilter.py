"""One pass over the text that tells which recognisers can possibly match.

Most agent text holds no PII, and a Python regex costs 20-40 µs per KB of text whether or not
it matches (CPython's ``re`` tries each pattern at every position). Hyperscan runs all
pre-filter expressions together in one SIMD pass over the UTF-8 bytes: about 3-4 µs per KB for
all built-in types here, so a text with no candidate is done after that one pass, and a text
with an email runs only the email pattern.

Guarantee: a pre-filter expression matches a superset of its recogniser's matches (ASCII
classes, no upper bounds on negated classes), so skipping never loses a finding; the tests
compare the result with and without the pre-filter. Without Hyperscan (not installed, or an
expression it cannot compile) the recogniser simply always runs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

try:  # Optional: x86-64 wheels only.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None


class Prefilter(Protocol):
    """Which of the recognisers (by index) may match ``text``; ``None`` means all of them."""

    def candidates(self, text: str) -> set[int] | None: ...


class NoPrefilter:
    """Every recogniser runs on every text (the portable fallback)."""

    def candidates(self, text: str) -> set[int] | None:
        return None


class HyperscanPrefilter:
    """Hyperscan block-mode database of the pre-filter expressions, one match per id.

    Recognisers whose expression is ``None`` or fails to compile are always reported.
    Thread-safe: each thread gets its own scratch space.
    """

    def __init__(self, expressions: Sequence[str | None]) -> None:
        if _hs is None:
            raise RuntimeError("hyperscan is not installed")
        self._always: set[int] = set()
        compiled: list[tuple[int, bytes]] = []
        for index, expression in enumerate(expressions):
            if expression is None or not self._compiles(expression):
                self._always.add(index)
            else:
                compiled.append((index, expression.encode("utf-8")))
        self._db: Any = None
        if compiled:
            self._db = _hs.Database()
            self._db.compile(
                expressions=[expr for _, expr in compiled],
                ids=[index for index, _ in compiled],
                elements=len(compiled),
                flags=[_hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY] * len(compiled),
            )
        self._local = threading.local()

    @staticmethod
    def _compiles(expression: str) -> bool:
        assert _hs is not None
        db = _hs.Database()
        try:
            db.compile(expressions=[expression.encode("utf-8")], ids=[0], elements=1,
                       flags=[_hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY])
        except _hs.error:
            return False
        return True

    def candidates(self, text: str) -> set[int] | None:
        found = set(self._always)
        if self._db is None:
            return found
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = _hs.Scratch(self._db)
            self._local.scratch = scratch

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            found.add(index)

        self._db.scan(
            text.encode("utf-8", "surrogatepass"), match_event_handler=on_match, scratch=scratch
        )
        return found


def make_prefilter(expressions: Sequence[str | None], enabled: bool = True) -> Prefilter:
    """Hyperscan when installed and enabled, else :class:`NoPrefilter`."""
    if enabled and _hs is not None:
        return HyperscanPrefilter(expressions)
    return NoPrefilter()


def hyperscan_available() -> bool:
    """True when the Hyperscan bindings are importable."""
    return _hs is not None
