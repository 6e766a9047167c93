"""Card numbers inside runs of digits: ``20240101 4111 1111 1111 1111``, CSV cells, dumps.

The card pattern matches a whole run of digits, spaces and dashes; this module finds the
card inside it. Every sub-run that starts and ends on a group boundary, uses
one separator kind, has 12-19 digits in a printed card layout (or is one unseparated group)
and passes the issuer (IIN and length) and Luhn checks is a card; the leftmost, then longest,
wins, and the search goes on after it. A comma, semicolon, tab or pipe ends a run, so
``4111111111111111,20240101,123456789012`` is a card followed by two other cells, while a dot
does not (``0.4111111111111111`` is a float, not a card).

Context decides for an unseparated run: a Luhn-valid number labelled as something else
(``order_id=4111111111111111``, a CSV column headed ``tracking``) is not a card; one labelled
``card`` is. A grouped ``4111 1111 1111 1111`` is a card whatever its label.
"""

from __future__ import annotations

import re

from sidecar.redact import validators as v
from sidecar.redact.base import part_of_identifier
from sidecar.redact.context import context_verdict

CARD_WORDS = frozenset(
    {
        "card",
        "cards",
        "cc",
        "ccn",
        "pan",
        "credit",
        "debit",
        "visa",
        "mastercard",
        "amex",
        "cardnumber",
        "payment",
        "卡号",
        "银行卡",
        "信用卡",
    }
)
NOT_CARD_WORDS = frozenset(
    {
        "order",
        "orders",
        "invoice",
        "inv",
        "txn",
        "transaction",
        "tracking",
        "shipment",
        "parcel",
        "ref",
        "reference",
        "receipt",
        "confirmation",
        "booking",
        "id",
        "ids",
        "uid",
        "guid",
        "imei",
        "iccid",
        "meid",
        "isbn",
        "ean",
        "upc",
        "gtin",
        "sku",
        "serial",
        "barcode",
        "account",
        "acct",
        "routing",
        "phone",
        "tel",
        "mobile",
        "fax",
        "timestamp",
        "ts",
        "epoch",
        "seq",
        "sequence",
        "nonce",
        "span",
        "trace",
        "pid",
        "ticket",
        "订单",
        "单号",
        "流水",
    }
)

_MAX_CARD_GROUPS = 5


def find_cards(text: str, match: re.Match[str]) -> list[tuple[int, int]]:
    """The card spans inside the digit run ``match`` (offsets into ``text``)."""
    run = match.group()
    run_start = match.start()
    if run.isdigit():  # one unseparated run, the common case: no sub-runs to try
        if not (12 <= len(run) <= 19 and "2" <= run[0] <= "6"):
            return []
        if part_of_identifier(text, run_start) or not v.card_issuer_known(run):
            return []
        if not v.luhn_valid(run):
            return []
        end = run_start + len(run)
        if context_verdict(text, run_start, end, CARD_WORDS, NOT_CARD_WORDS) is False:
            return []
        return [(run_start, end)]
    found: list[tuple[int, int]] = []
    for part in _PART.finditer(run):  # runs split where two separators meet ("2024 - 2025")
        found += _cards_in(text, part.group(), run_start + part.start())
    return found


_PART = re.compile(r"[0-9]+(?:[ \-][0-9]+)*")


def _cards_in(text: str, run: str, run_start: int) -> list[tuple[int, int]]:
    groups = _groups(run, run_start)
    found = []
    first = 0
    while first < len(groups):
        span = _card_from(text, groups, first)
        if span is None:
            first += 1
            continue
        found.append((groups[first][0], groups[span][1]))
        first = span + 1
    return found


def _groups(run: str, offset: int) -> list[tuple[int, int, str]]:
    """``(start, end, separator before)`` of each digit group of the run."""
    groups = []
    separator = ""
    position = 0
    size = len(run)
    while position < size:
        begin = position
        while position < size and "0" <= run[position] <= "9":
            position += 1
        groups.append((offset + begin, offset + position, separator))
        if position < size:
            separator = run[position]
            position += 1
    return groups


def _card_from(text: str, groups: list[tuple[int, int, str]], first: int) -> int | None:
    """The index of the last group of the longest card starting at group ``first``."""
    if not "2" <= text[groups[first][0]] <= "6":
        return None
    if first == 0 and part_of_identifier(text, groups[0][0]):
        return None
    last = min(len(groups), first + _MAX_CARD_GROUPS) - 1
    separator = groups[first + 1][2] if first + 1 < len(groups) else ""
    while last > first and any(groups[i][2] != separator for i in range(first + 1, last + 1)):
        last -= 1
    for end in range(last, first - 1, -1):
        if end + 1 < len(groups) and groups[end + 1][2] != separator and end > first:
            continue  # "... 3873 554-76-5267": the last group starts another number
        sizes = tuple(g[1] - g[0] for g in groups[first : end + 1])
        total = sum(sizes)
        if not 12 <= total <= 19 or not v.card_grouping_valid(sizes):
            continue
        digits = "".join(text[g[0] : g[1]] for g in groups[first : end + 1])
        if not (v.card_issuer_known(digits) and v.luhn_valid(digits)):
            continue
        if len(sizes) == 1:
            start, stop = groups[first][0], groups[end][1]
            if context_verdict(text, start, stop, CARD_WORDS, NOT_CARD_WORDS) is False:
                continue
        return end
    return None
