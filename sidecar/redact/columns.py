"""Values of a table column whose header names the type: ``name,ssn,dob`` / ``Bob,123456789,...``.

In CSV, TSV, ``;``- or ``|``-delimited output (Markdown tables included) the label of a value
is its column header, lines away. :class:`ColumnRecogniser` finds header lines (a line split by
one delimiter into cells none of which starts with a digit, one of them naming the type), then
checks that column's cell in each following row with the same number of delimiters, up to a
blank line. A cell counts when its whole value (quotes and spaces stripped) passes the type's
check, so a table headed ``ssn`` reports ``123456789`` and a table headed ``order`` does not.
Cost: one keyword scan of texts that contain the keyword, then one split per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sidecar.redact import validators as v
from sidecar.redact.base import RawFinding
from sidecar.redact.context import DATA_CELL, DELIMITERS, RULE_LINE, cell_spans, words_of
from sidecar.redact.phones import phone_digits_valid

_STRIP = " \t\"'`\r"


@dataclass(frozen=True, slots=True)
class ColumnRecogniser:
    """``type`` for cells of a column whose header ``names`` it and whose value ``accept``s."""

    type: str
    prefilter: str
    keyword: re.Pattern[str]
    names: Callable[[list[str]], bool]
    accept: Callable[[str], bool]
    priority: int

    def find(
        self, text: str, out: list[RawFinding], first: int = 0, last: int | None = None
    ) -> None:
        """Append the accepted cells of every table whose header names this type."""
        position = text.rfind("\n", 0, max(0, first - 64)) + 1
        done = 0
        for hit in self.keyword.finditer(text, position):
            if hit.start() < done:
                continue
            line_start = text.rfind("\n", 0, hit.start()) + 1
            line_end = text.find("\n", hit.end())
            if line_end < 0:
                return  # a header on the last line has no rows
            done = line_end
            line = text[line_start:line_end].rstrip("\r")
            for delimiter in DELIMITERS:
                if delimiter not in line:
                    continue
                cells = [line[a:b] for a, b in cell_spans(line, delimiter)]
                if any(DATA_CELL.match(cell) for cell in cells):
                    continue
                columns = [i for i, cell in enumerate(cells) if self.names(words_of(cell))]
                if columns:
                    done = self._rows(text, line_end + 1, delimiter, len(cells), columns, out)
                    break

    def _rows(
        self,
        text: str,
        position: int,
        delimiter: str,
        width: int,
        columns: list[int],
        out: list[RawFinding],
    ) -> int:
        size = len(text)
        while position < size:
            end = text.find("\n", position)
            if end < 0:
                end = size
            line = text[position:end]
            if not line.strip():
                return end
            spans = cell_spans(line, delimiter)
            if len(spans) != width:
                return position
            if not RULE_LINE.fullmatch(line):
                for index in columns:
                    cell_start, cell_end = spans[index]
                    cell = line[cell_start:cell_end]
                    value = cell.strip(_STRIP)
                    if value and self.accept(value):
                        start = position + cell_start + cell.index(value)
                        out.append((start, start + len(value), self.priority, self.type))
            position = end + 1
        return size


def names_ssn(words: list[str]) -> bool:
    """A header such as ``ssn``, ``SSN``, ``customer_ssn``, ``Social Security Number``."""
    return "ssn" in words or "ssns" in words or ("social" in words and "security" in words)


_PHONE_HEADER_WORDS = frozenset(
    {"phone", "phones", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "whatsapp"}
    | {"handy", "telefon", "telefonnummer", "tél", "téléphone", "portable"}
)


def names_phone(words: list[str]) -> bool:
    """A header such as ``phone``, ``Mobile``, ``phone_number``, ``tel``, ``电话``, ``手机``."""
    return any(
        word in _PHONE_HEADER_WORDS or "电话" in word or "手机" in word or "座机" in word
        for word in words
    )


_SSN_CELL = re.compile(r"([0-9]{3})([ .\-]?)([0-9]{2})\2([0-9]{4})")
_PHONE_CELL = re.compile(r"(\+?)[0-9][0-9 .\-()/]{6,22}[0-9]")


def ssn_cell(value: str) -> bool:
    """A whole cell that is an SSN by the SSA rules, with or without separators."""
    match = _SSN_CELL.fullmatch(value)
    return match is not None and v.ssn_valid(match.group(1), match.group(3), match.group(4))


def phone_cell(value: str) -> bool:
    """A whole cell that is a valid phone number in any layout (CN mobiles are CN_PHONE)."""
    match = _PHONE_CELL.fullmatch(value)
    if match is None:
        return False
    digits = v.digits_of(value)
    plus = bool(match.group(1))
    if not plus and v.cn_mobile_valid(digits):
        return False
    return phone_digits_valid(digits, plus)
