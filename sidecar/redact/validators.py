"""Checksums and plausibility rules that turn a pattern match into a finding.

A regex alone finds look-alikes: order numbers pass a card pattern, timestamps pass a phone
pattern, version strings pass an IPv4 pattern. Each function here answers one question about a
candidate string in O(len) time with no allocation beyond a few small ints, so it can run on
every candidate.

Worked example: ``luhn_valid("4111111111111111")`` is True, ``luhn_valid("4111111111111112")``
is False; a random 16-digit number passes Luhn with probability 1/10 and also needs a known
issuer prefix (about 1/4 of prefixes) to be reported as a card.

Long module: one small checksum or plausibility function per identifier type.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import ipaddress
import json
import re

_DIGIT_VALUE = {str(d): d for d in range(10)}
_NOT_DIGITS = re.compile(r"[^0-9]+")


def digits_of(text: str) -> str:
    """The ASCII digits of ``text`` in order (separators dropped)."""
    return _NOT_DIGITS.sub("", text)


def luhn_valid(number: str) -> bool:
    """Luhn mod-10 check over a string of digits (ISO/IEC 7812-1)."""
    total = 0
    parity = len(number) % 2
    for index, ch in enumerate(number):
        value = _DIGIT_VALUE[ch]
        if index % 2 == parity:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_issuer_known(number: str) -> bool:
    """True when the first digits and length belong to a known card network (IIN ranges)."""
    length = len(number)
    if length < 13:
        return False
    two = int(number[:2])
    four = int(number[:4])
    six = int(number[:6]) if length >= 6 else 0
    if number[0] == "4":  # Visa
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:  # Mastercard
        return length == 16
    if two in (34, 37):  # American Express
        return length == 15
    if number.startswith("6011") or two == 65 or 644 <= int(number[:3]) <= 649:  # Discover
        return 16 <= length <= 19
    if 622126 <= six <= 622925 or two == 62:  # UnionPay
        return 16 <= length <= 19
    if 3528 <= four <= 3589:  # JCB
        return 16 <= length <= 19
    if 300 <= int(number[:3]) <= 305 or two in (36, 38, 39):  # Diners Club
        return 14 <= length <= 19
    if two == 50 or 56 <= two <= 69:  # Maestro (12-15 digit Maestro exists but is rare)
        return 16 <= length <= 19
    return False


# Accepted digit-group layouts of a card number written with separators.
_CARD_GROUPS = {
    (4, 4, 4, 4),
    (4, 4, 4, 4, 3),
    (4, 6, 5),
    (4, 6, 4),
    (4, 4, 4, 2),
    (4, 4, 4, 3),
    (4, 4, 4, 4, 1),
    (4, 4, 4, 4, 2),
    (4, 4, 5),
}


def card_grouping_valid(groups: tuple[int, ...]) -> bool:
    """A card is written as one run of digits or in one of the networks' printed layouts."""
    return len(groups) == 1 or groups in _CARD_GROUPS


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """US SSN rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    area_n = int(area)
    return area_n != 0 and area_n != 666 and area_n < 900 and group != "00" and serial != "0000"


_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}


def iban_length(country: str) -> int | None:
    """The registered IBAN length for a country code, or None when the code has no IBAN."""
    return _IBAN_LENGTHS.get(country)


def iban_valid(compact: str) -> bool:
    """ISO 13616: the country's registered length, and the rearranged number mod 97 is 1."""
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for ch in rearranged:
        value = ord(ch) - 55 if ch >= "A" else ord(ch) - 48
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder == 1


_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"
_CN_PROVINCES = frozenset(
    (
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
        83,
        91,
    )
)


def cn_id_valid(number: str) -> bool:
    """GB 11643-1999 resident ID: province code, a real birth date, ISO 7064 MOD 11-2 check."""
    if len(number) != 18 or int(number[:2]) not in _CN_PROVINCES:
        return False
    try:
        _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(number[i]) * _CN_ID_WEIGHTS[i] for i in range(17))
    return _CN_ID_CHECK[total % 11] == number[17].upper()


def ipv4_valid(text: str) -> bool:
    """Four decimal octets 0-255 without leading zeros (``01.2.3.4`` is not an address)."""
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part or len(part) > 3 or (len(part) > 1 and part[0] == "0") or int(part) > 255:
            return False
    return True


def ipv6_valid(text: str) -> bool:
    """A syntactically valid IPv6 address that is not a code path like ``a::b`` (needs a digit)."""
    if not any("0" <= ch <= "9" for ch in text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# E.164 country calling codes (1-3 digits); a leading "+" must be followed by one of them.
_COUNTRY_CODES = frozenset(
    [
        "1",
        "7",
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
        "211",
        "212",
        "213",
        "216",
        "218",
        "220",
        "221",
        "222",
        "223",
        "224",
        "225",
        "226",
        "227",
        "228",
        "229",
        "230",
        "231",
        "232",
        "233",
        "234",
        "235",
        "236",
        "237",
        "238",
        "239",
        "240",
        "241",
        "242",
        "243",
        "244",
        "245",
        "246",
        "248",
        "249",
        "250",
        "251",
        "252",
        "253",
        "254",
        "255",
        "256",
        "257",
        "258",
        "260",
        "261",
        "262",
        "263",
        "264",
        "265",
        "266",
        "267",
        "268",
        "269",
        "290",
        "291",
        "297",
        "298",
        "299",
        "350",
        "351",
        "352",
        "353",
        "354",
        "355",
        "356",
        "357",
        "358",
        "359",
        "370",
        "371",
        "372",
        "373",
        "374",
        "375",
        "376",
        "377",
        "378",
        "380",
        "381",
        "382",
        "383",
        "385",
        "386",
        "387",
        "389",
        "420",
        "421",
        "423",
        "500",
        "501",
        "502",
        "503",
        "504",
        "505",
        "506",
        "507",
        "508",
        "509",
        "590",
        "591",
        "592",
        "593",
        "594",
        "595",
        "596",
        "597",
        "598",
        "599",
        "670",
        "672",
        "673",
        "674",
        "675",
        "676",
        "677",
        "678",
        "679",
        "680",
        "681",
        "682",
        "683",
        "685",
        "686",
        "687",
        "688",
        "689",
        "690",
        "691",
        "692",
        "850",
        "852",
        "853",
        "855",
        "856",
        "880",
        "886",
        "960",
        "961",
        "962",
        "963",
        "964",
        "965",
        "966",
        "967",
        "968",
        "970",
        "971",
        "972",
        "973",
        "974",
        "975",
        "976",
        "977",
        "992",
        "993",
        "994",
        "995",
        "996",
        "998",
    ]
)


def country_code_of(digits: str) -> str | None:
    """The E.164 country code that ``digits`` (after the "+") starts with, if any."""
    for size in (1, 2, 3):
        if digits[:size] in _COUNTRY_CODES:
            return digits[:size]
    return None


def nanp_valid(digits: str) -> bool:
    """North American number (10 digits): area and exchange start with 2-9, area not N11."""
    if len(digits) != 10:
        return False
    area, exchange = digits[:3], digits[3:6]
    return area[0] >= "2" and exchange[0] >= "2" and area[1:] != "11" and exchange[1:] != "11"


def international_phone_valid(digits: str) -> bool:
    """A "+" number: known country code and 8-15 digits in all (E.164), NANP rules for +1."""
    if not 8 <= len(digits) <= 15:
        return False
    code = country_code_of(digits)
    if code is None:
        return False
    national = digits[len(code) :]
    if code == "1":
        return nanp_valid(national)
    if code == "86" and national[:1] == "1" and national[1:2] in "3456789":
        return len(national) == 11  # mobile; landlines such as Beijing 10 xxxx xxxx fall through
    return 6 <= len(national) <= 13


def cn_mobile_valid(digits: str) -> bool:
    """Mainland China mobile: 11 digits starting 13-19 (MIIT number plan)."""
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


_SECRET_FIELD = re.compile(
    rb"(?i)secret|passw|private|token|credential|auth|api.?key|signature|session"
)


def decode_base64_text(value: str) -> bytes | None:
    """The bytes of a base64 or base64url string (padding optional), or None if it is not one."""
    body = value.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        return base64.b64decode(
            body.replace("-", "+").replace("_", "/") + "=" * (-len(body) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        return None


def jwt_header_valid(segment: str) -> bool:
    """A JWS/JWE header: base64url of a JSON object with a string ``alg`` (RFC 7515 §4.1.1)."""
    decoded = decode_base64_text(segment)
    if decoded is None:
        return False
    try:
        header = json.loads(decoded)
    except ValueError:
        return False
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def plain_json_base64(value: str) -> bool:
    """True for base64 of plain JSON data, such as a pagination cursor (``eyJvZmZzZXQiOjEwfQ``
    is ``{"offset":10}``, also when a signature follows after a dot): a JSON object or array
    that is not a JWT header and names no secret-like field (``token``, ``password``,
    ``private_key``, ``auth``, ...)."""
    if value[:1] not in ("e", "W"):  # base64 of "{" or "[" starts with these
        return False
    value = value.split(".", 1)[0]  # a signed cursor: "<base64 JSON>.<signature>"
    decoded = decode_base64_text(value)
    if decoded is None or decoded.lstrip()[:1] not in (b"{", b"["):
        return False
    try:
        data = json.loads(decoded)
    except ValueError:
        return False
    if isinstance(data, dict) and "alg" in data:
        return False
    return _SECRET_FIELD.search(decoded) is None
