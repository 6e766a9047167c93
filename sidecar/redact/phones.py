"""National-format phone numbers: the trunk-prefix ``0`` forms of GB, DE, FR and CN numbers.

``020 7946 0958``, ``07700 900123``, ``030 12345678``, ``01 23 45 67 89``, ``010-12345678`` are
how people write their own country's numbers. A candidate is first held to a written layout
(:func:`layout_valid`: one separator kind, 9-12 digits, French pairs only as ``0X XX XX XX XX``,
no IP-like dotted quads), then to the numbering plans: the national significant number must
match a number type (fixed line, mobile, toll free, ...) of one of :data:`NATIONAL_REGIONS` in
libphonenumber's metadata (the ``phonenumbers`` package), or an Ofcom range reserved for
examples (``07700 900xxx``, ``01632 960xxx``, ``0115 496 0xxx``), which people copy into test
data and documents as if real.

Cost: the metadata is imported on the first candidate that passes the layout (once per
process) and compiled per region on first use; a check then reads it directly, far cheaper
than ``phonenumbers.parse`` plus ``is_valid_number``. Without ``phonenumbers`` installed, the
layout and per-region lengths alone decide.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from sidecar.redact import validators as v

NATIONAL_REGIONS = ("GB", "DE", "FR", "CN")
"""Regions whose national (trunk ``0``) format is recognised without a ``+`` country code."""

_NUMBER_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
)

# Ofcom drama and example ranges (national significant numbers), absent from libphonenumber.
_GB_EXAMPLES = re.compile(r"7700900[0-9]{3}|1632960[0-9]{3}|1154960[0-9]{3}")

# Lengths of the national significant number (after the trunk 0), the fallback rule.
_FALLBACK_LENGTHS = {"GB": (9, 10), "DE": (8, 9, 10, 11), "FR": (9,), "CN": (10, 11)}

_SEPARATOR = re.compile(r"([^0-9])")
_lock = threading.Lock()
_checkers: list[Callable[[str], bool]] | None = None


def layout_valid(groups: tuple[int, ...], separator: str) -> bool:
    """A national number as written: 2-5 groups, 9-12 digits, the first (with its trunk 0)
    2-6 digits, the others at least 2; all-pairs only in the French ``0X XX XX XX XX`` (the
    only layout written with dots: other dotted groups are versions or IP-like quads); a
    slash only between area code and number (``030/12345678``)."""
    total = sum(groups)
    if not 2 <= len(groups) <= 5 or not 9 <= total <= 12 or not 2 <= groups[0] <= 6:
        return False
    rest = groups[1:]
    if min(rest) < 2:
        return False
    if max(groups) == 2:
        return groups == (2, 2, 2, 2, 2)
    if separator == ".":
        return False  # dotted groups are versions and IP-like quads unless French pairs
    if separator == "/" and len(groups) != 2:
        return False  # "030/12345678": the slash sets the area code apart, nothing else
    return rest.count(2) <= 1  # "030 123 456 78" has one pair; "0151 123 45 67" is no layout


def national_valid(digits: str) -> bool:
    """True when ``digits`` (with the trunk ``0``) is a number of one of the regions."""
    if len(digits) < 9 or digits[0] != "0" or digits[1] == "0":
        return False
    significant = digits[1:]
    if _GB_EXAMPLES.fullmatch(significant):
        return True
    return any(check(significant) for check in _region_checkers())


def _region_checkers() -> list[Callable[[str], bool]]:
    global _checkers
    if _checkers is None:
        with _lock:
            if _checkers is None:
                _checkers = _load_checkers()
    return _checkers


def _load_checkers() -> list[Callable[[str], bool]]:
    try:
        from phonenumbers.phonemetadata import PhoneMetadata
    except ImportError:  # pragma: no cover - phonenumbers is a dependency
        return [_length_checker(_FALLBACK_LENGTHS[region]) for region in NATIONAL_REGIONS]
    checkers = []
    for region in NATIONAL_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:  # pragma: no cover - every listed region has metadata
            continue
        descs = [getattr(metadata, name, None) for name in _NUMBER_TYPES]
        patterns = [
            (re.compile(desc.national_number_pattern), frozenset(desc.possible_length or ()))
            for desc in descs
            if desc is not None and desc.national_number_pattern
        ]
        general_desc = metadata.general_desc
        general = re.compile(str(general_desc.national_number_pattern if general_desc else ".*"))
        checkers.append(_pattern_checker(general, patterns))
    return checkers


def _pattern_checker(
    general: re.Pattern[str], patterns: list[tuple[re.Pattern[str], frozenset[int]]]
) -> Callable[[str], bool]:
    def check(significant: str) -> bool:
        if general.fullmatch(significant) is None:
            return False
        size = len(significant)
        return any(
            (not lengths or size in lengths) and pattern.fullmatch(significant)
            for pattern, lengths in patterns
        )

    return check


def _length_checker(lengths: tuple[int, ...]) -> Callable[[str], bool]:
    return lambda significant: len(significant) in lengths


PHONE_WORDS = frozenset(
    {
        "phone",
        "phones",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "cellphone",
        "fax",
        "whatsapp",
        "sms",
        "call",
        "contact",
        "mob",
        "handy",
        "telefon",
        "portable",
        "tél",
        "téléphone",
        "电话",
        "手机",
        "座机",
    }
)
NOT_PHONE_WORDS = frozenset(
    {
        "invoice",
        "inv",
        "order",
        "ref",
        "reference",
        "id",
        "ids",
        "account",
        "acct",
        "isbn",
        "issn",
        "serial",
        "sku",
        "ticket",
        "case",
        "tracking",
        "version",
        "build",
        "ts",
        "timestamp",
        "date",
        "amount",
        "total",
        "price",
        "balance",
        "iban",
        "bic",
        "po",
        "gtin",
        "ean",
        "upc",
        "imei",
        "seq",
        "offset",
        "counter",
        "blz",
        "siret",
        "siren",
        "订单",
        "单号",
    }
)


def national_layout_valid(candidate: str) -> bool:
    """``candidate`` is written in a national layout (``(030) 1234 5678``: the area code may be
    in parentheses) and is a number of one of :data:`NATIONAL_REGIONS`."""
    area = ""
    rest = candidate
    if candidate[0] == "(":
        close = candidate.index(")")
        area, rest = candidate[1:close], candidate[close + 1 :].lstrip(" -")
    groups = [len(area)] if area else []
    separators = []
    for index, part in enumerate(_SEPARATOR.split(rest)):
        if index % 2:
            separators.append(part)
        else:
            groups.append(len(part))
    if not area and len(separators) > 1 and separators[0] == "-":
        separators = separators[1:]  # "0755-1234 5678": the area code is set apart by a dash
    if len(set(separators)) > 1:
        return False
    return layout_valid(tuple(groups), separators[0] if separators else " ") and national_valid(
        v.digits_of(candidate)
    )


def phone_digits_valid(digits: str, plus: bool = False) -> bool:
    """A number written without layout (after a phone label or in a phone column): a ``+``
    number, a national number of :data:`NATIONAL_REGIONS`, or a North American one."""
    if plus:
        return v.international_phone_valid(digits)
    if digits[:1] == "0":
        return national_valid(digits)
    if len(digits) == 11 and digits[0] == "1":
        return v.nanp_valid(digits[1:])
    return v.nanp_valid(digits)
