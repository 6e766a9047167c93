"""What every recogniser is: a type, a pre-filter expression, a priority and ``find``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

RawFinding = tuple[int, int, int, str]  # start, end, priority, type
Accept = Callable[[str, "re.Match[str]"], "tuple[int, int] | None"]
AcceptMany = Callable[[str, "re.Match[str]"], "list[tuple[int, int]]"]

CUSTOM_PRIORITY = 30

_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


class Recogniser(Protocol):
    """Finds one type: ``find`` appends ``(start, end, priority, type)`` with offsets into the
    text. ``prefilter`` (a Hyperscan expression, or ``None`` for "always run") must match
    inside every finding; ``first``/``last`` are the first and last end of its matches."""

    @property
    def type(self) -> str: ...

    @property
    def prefilter(self) -> str | None: ...

    def find(
        self, text: str, out: list[RawFinding], first: int = 0, last: int | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class PatternRecogniser:
    """A type found by one regex, confirmed by ``accept`` (which may narrow the span).

    ``prefilter`` is a Hyperscan-compatible expression such that every match of ``pattern``
    contains a pre-filter match ending at most ``back`` code points after the match's start
    (often the pattern's prefix without look-arounds); ``None`` means "always run".
    ``max_length`` bounds a match's length (``None``: unbounded); ``back=None`` scans from the
    start of the text. Together they let :meth:`find` scan only the window that can hold a
    match: from ``first - back`` to ``last + max_length``.
    """

    type: str
    pattern: re.Pattern[str]
    prefilter: str | None
    accept: Accept | None = None
    priority: int = CUSTOM_PRIORITY
    back: int | None = None
    max_length: int | None = None
    accept_many: AcceptMany | None = None  # instead of accept: several findings per match

    def find(
        self, text: str, out: list[RawFinding], first: int = 0, last: int | None = None
    ) -> None:
        """Append every validated match of this type in ``text`` to ``out``.

        ``first``/``last``: the first and last end of this type's pre-filter matches; the
        pattern then runs only on the window that can hold a match (same result as a full scan).
        """
        accept = self.accept
        pos, endpos = 0, len(text)
        if self.back is not None:
            pos = max(0, first - self.back)
            if self.max_length is not None and last is not None:
                endpos = min(endpos, last + self.max_length + 4)
        if self.accept_many is not None:
            for match in self.pattern.finditer(text, pos, endpos):
                for start, end in self.accept_many(text, match):
                    out.append((start, end, self.priority, self.type))
            return
        for match in self.pattern.finditer(text, pos, endpos):
            if accept is None:
                out.append((match.start(), match.end(), self.priority, self.type))
                continue
            span = accept(text, match)
            if span is not None:
                out.append((span[0], span[1], self.priority, self.type))


def part_of_identifier(text: str, start: int) -> bool:
    """``ORD-4111...``, ``user_1381...``: a number glued to a word is an identifier's tail."""
    return start >= 2 and text[start - 1] in "-_" and text[start - 2] in _ALNUM
