"""What a value is written next to: the label before it and the header of its table column.

A bare ``123456789`` is nothing; after ``ssn:`` it is a social security number. A Luhn-valid
``4111111111111111`` is a card, unless it is labelled ``order_id``. These helpers give the
recognisers that context cheaply and only for candidates that passed their own checks:

- :func:`label_words`: the words of the key or phrase right before a value on the same line
  (``Order ID: 4111`` → ``["order", "id"]``, ``"phoneNumber": "0151"`` → ``["phone",
  "number"]``), at most 48 characters back, cut at a digit, a sentence end or a line break.
- :func:`column_header`: for a value that is a whole cell of a delimited line (``,`` ``;``
  tab ``|``), the header cell of its column: the nearest line above with the same number of
  delimiters and no cell that starts with a digit (at most 200 lines back, up to a blank line).
"""

from __future__ import annotations

import re

_WINDOW = 48
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[\u4e00-\u9fff]+")
_STOPS = (*"0123456789\n", ". ", "! ", "? ", "; ")
DELIMITERS = ",;\t|"
_MAX_HEADER_LINES = 200
RULE_LINE = re.compile(r"[\s|:+=\-]*")
DATA_CELL = re.compile(r"[\s\"'+\-]*[0-9]")


def label_words(text: str, start: int, limit: int = 3) -> list[str]:
    """The last ``limit`` words (lowercased, camelCase split) before ``start`` on its line."""
    window = text[max(0, start - _WINDOW) : start]
    cut = 0
    for stop in _STOPS:
        index = window.rfind(stop)
        if index >= 0 and index + len(stop) > cut:
            cut = index + len(stop)
    return words_of(window[cut:])[-limit:]


def column_header(text: str, start: int, end: int) -> str | None:
    """The header of the column whose cell is ``text[start:end]`` (as written), or ``None``."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    delimiter = _cell_delimiter(text, line_start, start, end, line_end)
    if delimiter is None:
        return None
    cells = cell_spans(text[line_start:line_end].rstrip("\r"), delimiter)
    offset = start - line_start
    index = next(i for i, (_, stop) in enumerate(cells) if offset <= stop)
    position = line_start - 1
    for _ in range(_MAX_HEADER_LINES):
        if position <= 0:
            return None
        previous_start = text.rfind("\n", 0, position) + 1
        previous = text[previous_start:position].rstrip("\r")
        position = previous_start - 1
        if not previous.strip():
            return None
        if RULE_LINE.fullmatch(previous):
            continue  # a Markdown table's |---|---| line
        header = [previous[a:b] for a, b in cell_spans(previous, delimiter)]
        if len(header) != len(cells):
            return None
        if not any(DATA_CELL.match(cell) for cell in header):
            return header[index].strip().strip("\"'`*").strip()
    return None


def cell_spans(line: str, delimiter: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each cell of a delimited line; delimiters inside double quotes
    (CSV quoting, ``""`` escapes included) do not split."""
    if '"' not in line:
        spans = []
        start = 0
        for cell in line.split(delimiter):
            spans.append((start, start + len(cell)))
            start += len(cell) + 1
        return spans
    spans = []
    start = 0
    quoted = False
    for index, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            spans.append((start, index))
            start = index + 1
    spans.append((start, len(line)))
    return spans


def _cell_delimiter(text: str, line_start: int, start: int, end: int, line_end: int) -> str | None:
    """The delimiter around a whole cell (quotes and spaces around the value allowed)."""
    before = start
    while before > line_start and text[before - 1] in " \"'":
        before -= 1
    after = end
    while after < line_end and text[after] in " \"'\r":
        after += 1
    left = text[before - 1] if before > line_start else None
    right = text[after] if after < line_end else None
    if left is not None and left not in DELIMITERS:
        return None
    if right is not None and right not in DELIMITERS:
        return None
    if left is not None and right is not None and left != right:
        return None
    return left or right


def nearest_verdict(
    words: list[str], positive: frozenset[str], negative: frozenset[str]
) -> bool | None:
    """``True`` if the nearest word found in either set is in ``positive``, ``False`` if it is
    in ``negative``, ``None`` if no word is in either (CJK words match by substring)."""
    for word in reversed(words):
        if word in positive:
            return True
        if word in negative:
            return False
        if word[0] >= "\u4e00":
            if any(term in word for term in positive if term[0] >= "\u4e00"):
                return True
            if any(term in word for term in negative if term[0] >= "\u4e00"):
                return False
    return None


def context_verdict(
    text: str, start: int, end: int, positive: frozenset[str], negative: frozenset[str]
) -> bool | None:
    """:func:`nearest_verdict` on the label before the value, else on its column header."""
    verdict = nearest_verdict(label_words(text, start), positive, negative)
    if verdict is not None:
        return verdict
    header = column_header(text, start, end)
    if header is None:
        return None
    return nearest_verdict(words_of(header), positive, negative)


def words_of(label: str) -> list[str]:
    """``"customerPhone_no"`` → ``["customer", "phone", "no"]``."""
    return [word.lower() for word in _WORD.findall(label)]
