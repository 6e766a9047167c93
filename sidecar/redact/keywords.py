"""Keyword-context rules: numbers that are PII because of the word written before them.

``ssn: 123456789``, ``--ssn 123456789``, "SSN 123456789 does not match our records", "social
security number is 123456789": nine bare digits are an SSN only next to an SSN keyword, and
only when they pass the SSA rules (no area 000, 666 or 900-999, no group 00, no serial 0000).
``phone: 02079460958``, ``"mobile": "4155550132"``: digits written without a layout are a
phone number only after a phone keyword, and only when they are a valid number
(:func:`phones.phone_digits_valid`).

The keyword must be a word of its own (``ssn`` inside ``classname`` is not one; ``userSSN``,
``customer_ssn`` and ``ssn_number`` are) and the number must follow within a short gap of
punctuation (``: = # " ' ( [ < > | *``, dashes) and at most two filler words (``is``,
``was``, ``on file``, ``number``, ``no.``, ``at``, ``to``, ...): a keyword further away, or
another word between, does not count. The span reported is the number only.
"""

from __future__ import annotations

import re

from sidecar.redact import validators as v
from sidecar.redact.phones import phone_digits_valid

_PUNCT = r"[ \t\"'`:=#(\[<>|*.\-：]"
_FILLER = r"(?:is|was|are|of|on file|number|num|nr|no\.?|at|on|to|me|us|send|provided|given|reads)"
_GAP = _PUNCT + r"{0,6}(?:" + _FILLER + _PUNCT + r"{1,4}){0,2}"
_SUFFIX = r"(?:[ _\-]?(?i:number|num|nbr|nr|no|#))?"


def keyword_regex(words: list[str], camel: tuple[str, ...] = ()) -> str:
    """A regex for any of ``words`` (regex fragments, matched case-insensitively, each starting
    with a plain letter) as a word of its own, or any of ``camel`` (case-sensitive) right after
    a lower-case letter (``userSSN``). It starts with a character class and checks the word
    boundary behind its first character, so CPython's ``re`` skips ahead in C between
    candidates: faster than a pattern that starts with a look-behind."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0].lower(), []).append(word[1:])
    firsts = {ch for first in by_first for ch in (first, first.upper())}
    firsts |= {word[0] for word in camel}
    plain = "|".join(f"(?<={first})(?:{'|'.join(rests)})" for first, rests in by_first.items())
    branch = f"(?<![A-Za-z0-9].)(?i:{plain})"
    if camel:
        capitalised = "|".join(f"(?<={word[0]})(?:{word[1:]})" for word in camel)
        branch = f"(?:{branch}|(?<=[a-z].)(?:{capitalised}))"
    return f"[{''.join(sorted(firsts))}]{branch}"


SSN_KEYWORD = (
    "(?:"
    + keyword_regex(
        [r"ssns?", r"s\.s\.n\.?", r"social[ _\-]?security", r"soc\.?[ _\-]?sec\.?"],
        ("SSNs?", "Ssns?"),
    )
    + ")"
    + _SUFFIX
    + r"(?![A-Za-z])"
)
SSN_PATTERN = (
    SSN_KEYWORD + _GAP + r"(?<![0-9])([0-9]{3})([ .\-]?)([0-9]{2})\2([0-9]{4})"
    r"(?![0-9A-Za-z_])(?![.\-][0-9])"
)
SSN_PREFILTER = r"(?i)(?:ssn|social.?security|soc\.?.?sec|s\.s\.n)[^0-9\n]{0,48}[0-9]{3}"

PHONE_KEYWORD = (
    "(?:"
    + keyword_regex(
        [
            "phone",
            "telephone",
            "tel",
            "mobile",
            "cell(?:phone)?",
            "fax",
            "whatsapp",
            "sms",
            "mob",
            "handy",
            "telefon(?:nummer)?",
            "t[ée]l[ée]phone",
            "t[ée]l",
            "portable",
            "contact",
            "电话",
            "手机",
            "座机",
            "联系方式",
            r"call(?: (?:me|us))?",
        ],
        ("Phone", "Tel", "Mobile", "Cell", "Fax"),
    )
    + ")"
    + _SUFFIX
    + r"(?![A-Za-z])"
)
PHONE_PATTERN = (
    PHONE_KEYWORD + _GAP + r"(?<![0-9+])(\+?)([0-9](?:[ .\-/]?[0-9]){8,14})"
    r"(?![0-9A-Za-z_])(?![.\-/][0-9])"
)
PHONE_PREFILTER = (
    r"(?i)(?:ph|tel|t\xc3\xa9l|mob|cell|fax|whatsapp|sms|handy|portable|contact|call"
    r"|\xe7\x94\xb5\xe8\xaf\x9d|\xe6\x89\x8b\xe6\x9c\xba|\xe5\xba\xa7\xe6\x9c\xba"
    r"|\xe8\x81\x94\xe7\xb3\xbb)[^0-9\n]{0,48}\+?[0-9](?:[ .\-/]?[0-9]){8}"
)
SSN_WORDS = frozenset({"ssn", "ssns", "social", "security", "taxpayer", "tin", "itin"})
NOT_SSN_WORDS = frozenset(
    [
        "order",
        "orders",
        "invoice",
        "inv",
        "ref",
        "reference",
        "ticket",
        "rma",
        "po",
        "sku",
        "serial",
        "part",
        "tracking",
        "routing",
    ]
)
_NON_DIGIT = re.compile(r"[^0-9]")
KEYWORD_BACK = 90
KEYWORD_MAX_LENGTH = 120


def accept_ssn(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The number after an SSN keyword, if it follows the SSA rules."""
    if not v.ssn_valid(match.group(1), match.group(3), match.group(4)):
        return None
    return match.start(1), match.end(4)


def accept_phone(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The number after a phone keyword, if it is a valid number (CN mobiles are CN_PHONE)."""
    number = match.group(2)
    digits = v.digits_of(number)
    plus = bool(match.group(1))
    separators = set(_NON_DIGIT.findall(number))
    if len(separators) > 1:
        return None
    if separators and [len(g) for g in _NON_DIGIT.split(number)][:3] == [4, 2, 2]:
        return None  # a date: "call on 2024-05-06 10:30"
    if not plus and v.cn_mobile_valid(digits):
        return None
    if not phone_digits_valid(digits, plus):
        return None
    return match.start(1) if plus else match.start(2), match.end(2)
