"""Many texts through the pre-filter in one Hyperscan scan: which of them hold no match, and
where each expression first and last matched in each.

On a 32-character id a Hyperscan scan costs far more per call than per byte, and a batch of 500
events holds about 600 identifier values the clean memo has not seen (every event id is new):
scanned one by one they take about 750 µs, joined by ``"\\n"`` and scanned once about 130 µs.
The scan uses a database of the same expressions that reports *every* match end (no
single-match flag: with it a reported match may hide an earlier one of the same expression),
and each end is mapped back to the text whose span holds it.

Guarantee: a text reported clean has no pre-filter match of its own, exactly as a scan of it
alone would find, so ``Redactor.find`` of it is empty. Proof: an expression that passes
:func:`joinable` has no anchor (``^ $ \\A \\Z \\z``) and no inline flag but ``(?i)``, so whether a
match occurs depends only on the matched bytes and, through ``\\b``/``\\B``, on whether the bytes
just outside are word characters; the separator is not one, like the edge of a lone text. Any
match inside a text is therefore a match of the joined bytes ending inside that text's span,
and is reported. Matches that span a separator only make a text *not* clean (it is then looked
at alone), never the other way. A set with an expression that is not joinable is not scanned
joined at all (the caller scans each text alone).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate

from sidecar import hyperscan_db

_ANCHOR_ESCAPES = frozenset("AZzG")


def joinable(expression: str) -> bool:
    """Whether ``expression``'s matches in a text are the same when the text is joined to others
    by ``"\\n"``: no anchor, no inline option but ``(?i)``, no group but ``(?:``. Conservative:
    it may refuse an expression that would be fine (then the texts are scanned one by one)."""
    i, size = 0, len(expression)
    while i < size:
        char = expression[i]
        if char == "\\":
            if expression[i + 1 : i + 2] in _ANCHOR_ESCAPES:
                return False
            i += 2
        elif char == "[":
            i += 2 if expression[i + 1 : i + 2] == "^" else 1  # a negated class, not an anchor
        elif char in "^$":
            return False
        elif char == "(" and expression[i + 1 : i + 2] == "?":
            if expression[i + 2 : i + 3] == ":":
                i += 3
            elif expression[i + 2 : i + 4] == "i)":
                i += 4
            else:
                return False
        else:
            i += 1
    return True


def suspects(db: hyperscan_db.Database, texts: Sequence[str]) -> set[int]:
    """Indexes of ``texts`` that may hold a match of ``db`` (a database of joinable expressions
    compiled without the single-match flag); every other text holds none."""
    data, ascii_only = _join(texts)
    ends: list[int] = []
    add = ends.append

    def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
        add(end)

    db.scan(data, on_match)
    if not ends:
        return set()
    starts = _starts(texts, ascii_only)
    return {bisect_right(starts, end) - 1 for end in ends}


Hits = dict[int, tuple[int, int]]


def hits(db: hyperscan_db.Database, texts: Sequence[str]) -> list[Hits]:
    """For each of ``texts``, expression id -> (first, last): the first and the last end
    (code points into that text) of the expression's matches in it, from one scan of all of
    them joined by ``"\\n"`` (``db`` as for :func:`suspects`). A text without a match gets an
    empty dict.

    Guarantee: for every match a scan of a text alone would report, the text's entry holds its
    expression with ``first`` no later and ``last`` no earlier than that match's end (the
    module's proof: the joined scan reports every such match at the same place). A match that
    spans a separator only widens an entry, so a window placed from these bounds holds every
    window placed from a lone scan's."""
    data, ascii_only = _join(texts)
    ends: list[int] = []
    ids: list[int] = []
    add_end, add_id = ends.append, ids.append

    def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
        add_end(end)
        add_id(index)

    db.scan(data, on_match)
    found: list[Hits] = [{} for _ in texts]
    if not ends:
        return found
    starts = _starts(texts, ascii_only)
    for end, index in zip(ends, ids, strict=True):
        at = bisect_right(starts, end) - 1
        local = end - starts[at]
        entry = found[at]
        span = entry.get(index)
        if span is None:
            entry[index] = (local, local)
        elif local < span[0]:
            entry[index] = (local, span[1])
        elif local > span[1]:
            entry[index] = (span[0], local)
    if not ascii_only:  # byte offsets to code points: first rounded down, last up
        for at, entry in enumerate(found):
            text = texts[at]
            if entry and not text.isascii():
                base, size = starts[at], len(text)
                for index, (first, last) in entry.items():
                    head = data[base : base + first].decode("utf-8", "ignore")
                    entry[index] = (len(head), min(last, size))
    return found


def _join(texts: Sequence[str]) -> tuple[bytes, bool]:
    """The UTF-8 bytes of ``texts`` joined by the separator, and whether they are ASCII (then
    a code point is a byte)."""
    joined = "\n".join(texts)
    data = joined.encode("utf-8", "surrogatepass")
    return data, len(data) == len(joined)


def _starts(texts: Sequence[str], ascii_only: bool) -> list[int]:
    """``starts[i]``: the offset of text ``i`` in the joined bytes (each text is followed by the
    separator), and one past the end last."""
    if ascii_only:
        sizes: Iterable[int] = map(len, texts)
    else:
        sizes = (len(text.encode("utf-8", "surrogatepass")) for text in texts)
    return [0, *accumulate(size + 1 for size in sizes)]
