"""The built-in recognisers: one pattern, one cheap pre-filter and one validator per type.

A recogniser is the whole contract of a type: ``find(text, out)`` appends raw findings
``(start, end, priority, type)`` with offsets into ``text``. Patterns use ASCII classes only
(``[0-9]``, not ``\\d``), so Chinese text next to a number is a boundary and the pre-filter
(which scans UTF-8 bytes) accepts a superset of what the pattern accepts: a pre-filter may let a
text through that has no finding, never the reverse.

Each validator removes look-alikes before a finding is reported: Luhn and issuer ranges for
cards, mod-97 and the country length for IBANs, the MOD 11-2 check and a real birth date for
Chinese IDs, SSN area rules, E.164 country codes and NANP rules for phones, octet ranges for
IPv4, a parse for IPv6 (which rejects timestamps, MAC addresses and ``std::vector``), a decoded
header for JWTs, digits-and-letters entropy for keys (which rejects slugs and UUIDs).

Long module: one short recogniser per PII and secret type, kept side by side so their priorities
can be read in one place.
"""

from __future__ import annotations

import re

from sidecar.redact import keywords, phones
from sidecar.redact import validators as v
from sidecar.redact.base import (
    Accept,
    AcceptMany,
    PatternRecogniser,
    Recogniser,
    part_of_identifier,
)
from sidecar.redact.cards import find_cards
from sidecar.redact.columns import ColumnRecogniser, names_phone, names_ssn, phone_cell, ssn_cell
from sidecar.redact.context import context_verdict, nearest_verdict, words_of

# Priority decides overlaps: a higher value wins a conflict (then the longer span, then the
# earlier one). Checksum-validated and secret types beat looser ones; an IBAN (country, exact
# length and mod-97) beats the card number its digits may contain (Luhn alone: 1 in 10).
PRIORITY = {
    "PRIVATE_KEY": 100,
    "PASSWORD_IN_URL": 95,
    "JWT": 90,
    "API_KEY": 85,
    "PASSWORD": 84,
    "IBAN": 82,
    "CREDIT_CARD": 80,
    "CN_ID": 70,
    "US_SSN": 65,
    "EMAIL": 60,
    "CN_PHONE": 55,
    "PHONE": 50,
    "IPV6": 45,
    "IPV4": 40,
}


def _digit_groups(candidate: str) -> tuple[str, tuple[int, ...], set[str]]:
    digits, groups, seps = [], [], set()
    run = 0
    for ch in candidate:
        if "0" <= ch <= "9":
            digits.append(ch)
            run += 1
        else:
            seps.add(ch)
            if run:
                groups.append(run)
            run = 0
    if run:
        groups.append(run)
    return "".join(digits), tuple(groups), seps


_COUNTRY_PREFIX = re.compile(r"\+[0-9]{1,3}[ \-]?$")


def _accept_ssn(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    start, end = match.span()
    if part_of_identifier(text, start):
        return None
    if not v.ssn_valid(match.group(1), match.group(3), match.group(4)):
        return None
    if context_verdict(text, start, end, keywords.SSN_WORDS, keywords.NOT_SSN_WORDS) is False:
        return None  # "Order #123-45-6789": the same layout, labelled as something else
    return start, end


_VERSION_WORDS = ("version", "release", "build", "ver ", "ver.", "v.")
_IP_WORDS = frozenset(
    [
        "ip",
        "ips",
        "addr",
        "address",
        "host",
        "server",
        "peer",
        "client",
        "remote",
        "gateway",
        "gw",
        "dns",
        "route",
        "via",
        "ping",
        "ssh",
        "connect",
        "connecting",
        "connected",
        "listen",
        "listening",
        "bind",
        "forwarded",
        "inet",
        "src",
        "dst",
        "nameserver",
        "proxy",
        "origin",
        "subnet",
        "lan",
        "wan",
        "vpn",
        "node",
    ]
)
_NOT_IP_WORDS = frozenset(
    [
        "version",
        "versions",
        "release",
        "build",
        "upgrade",
        "upgraded",
        "upgrading",
        "downgrade",
        "section",
        "sections",
        "chapter",
        "clause",
        "figure",
        "table",
        "step",
        "rule",
        "oid",
        "sdk",
        "firmware",
        "revision",
        "rev",
        "beta",
        "alpha",
        "rc",
        "patch",
        "changelog",
    ]
)


def _accept_ipv4(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    if not v.ipv4_valid(match.group()):
        return None
    start = match.start()
    before = text[max(0, start - 12) : start].lower()
    if any(word in before for word in _VERSION_WORDS) or before.endswith("v"):
        return None
    words = words_of(text[max(0, start - 32) : start])[-4:]
    if nearest_verdict(words, _IP_WORDS, _NOT_IP_WORDS) is False:
        return None  # "upgrade from 1.2.3-beta.4 to 10.2.0.1", "section 4.2.1.3"
    return match.span()


def _accept_ipv6(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    candidate = match.group()
    end = match.end()
    address = candidate.split("%", 1)[0]
    if address.endswith(":") and not address.endswith("::"):
        trimmed = address.rstrip(":")
        if address.endswith("::") or not trimmed:
            return None
        end -= len(candidate) - len(trimmed)
        address = trimmed
    if address.count(":") < 2 or not v.ipv6_valid(address):
        return None
    return match.start(), end


def _accept_iban(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    candidate = match.group()
    length = v.iban_length(candidate[:2])
    if length is None:
        return None
    taken = 0
    for index, ch in enumerate(candidate):
        if ch != " ":
            taken += 1
            if taken == length:
                end = index + 1
                break
    else:
        return None
    # The IBAN must end at a boundary: a space or the end of the match, not mid-token.
    if end < len(candidate) and candidate[end] != " ":
        return None
    if not v.iban_valid(candidate[:end].replace(" ", "")):
        return None
    return match.start(), match.start() + end


def _accept_cn_id(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    if part_of_identifier(text, match.start()):
        return None
    return match.span() if v.cn_id_valid(match.group()) else None


def _accept_cn_phone(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    digits, groups, seps = _digit_groups(match.group(2))
    if len(seps) > 1 or not v.cn_mobile_valid(digits):
        return None
    if len(groups) > 1 and groups != (3, 4, 4):
        return None
    start = match.start()
    if part_of_identifier(text, start):
        return None
    if match.group(1) is None and _COUNTRY_PREFIX.search(text, max(0, start - 6), start):
        return None  # the national part of another country's number (+49 151 ...)
    return match.span()


def _accept_phone_intl(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The number, or the longest prefix of it that ends on a group boundary and is valid
    ("+49 30 4219 4892 4411 5781 ...": a number followed by other digit groups)."""
    start, end = match.span()
    while True:
        if _phone_intl_valid(text, match, end):
            return start, end
        cut = max(text.rfind(" ", start, end), text.rfind("-", start, end))
        cut = max(cut, text.rfind(".", start, end))
        if cut <= start + 4:
            return None
        end = cut


def _phone_intl_valid(text: str, match: re.Match[str], end: int) -> bool:
    candidate = text[match.start() : end]
    if candidate.count("(") != candidate.count(")"):
        return False
    national = candidate.replace("(0)", "")
    if national.startswith("00"):  # the international prefix written as 00: "0044 20 ..."
        national = national[2:]
        if len(_digit_groups(national)[1]) < 2 or _inside_grouped_run(text, match.start(), end):
            return False  # "004420794609" bare, "DE00 3704 0044 0532 ...": not a number
    digits = v.digits_of(national)
    if not v.international_phone_valid(digits):
        return False
    _, groups, _ = _digit_groups(national)
    return not (any(group > 11 for group in groups[1:]) or (len(groups) > 1 and groups[0] > 3))


def _accept_phone_nanp(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    if part_of_identifier(text, match.start()):
        return None
    digits = v.digits_of(match.group())
    return match.span() if v.nanp_valid(digits[-10:]) else None


def _inside_grouped_run(text: str, start: int, end: int) -> bool:
    """``DE00 3704 0044 0532 0130 00``: the groups are the tail of a longer grouped number."""
    before = start >= 2 and text[start - 1] in " -./" and "0" <= text[start - 2] <= "9"
    after = end + 1 < len(text) and text[end] in " -./" and "0" <= text[end + 1] <= "9"
    return before or after


def _accept_phone_national(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    start, end = match.span()
    if part_of_identifier(text, start) or _inside_grouped_run(text, start, end):
        return None
    if not phones.national_layout_valid(match.group()):
        return None
    if context_verdict(text, start, end, phones.PHONE_WORDS, phones.NOT_PHONE_WORDS) is False:
        return None  # "invoice 0123 456 789", "ISBN ...": labelled as something else
    return start, end


_FILE_SUFFIXES = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "bmp",
        "css",
        "js",
        "mjs",
        "ts",
        "tsx",
        "jsx",
        "map",
        "json",
        "yaml",
        "yml",
        "toml",
        "lock",
        "txt",
        "log",
        "py",
        "pyc",
        "rb",
        "go",
        "rs",
        "java",
        "class",
        "jar",
        "so",
        "dll",
        "exe",
        "zip",
        "gz",
        "tgz",
        "tar",
        "whl",
        "html",
        "htm",
        "xml",
        "csv",
        "pdf",
    ]
)


def _accept_email(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    candidate = match.group()
    if candidate.rsplit(".", 1)[1].lower() in _FILE_SUFFIXES:
        return None
    end = match.end()
    if end < len(text) and text[end] == ":" and candidate.startswith("git@"):
        return None  # an SSH remote (git@github.com:org/repo.git), not a person
    return match.span()


def _has_entropy(secret: str) -> bool:
    has_digit = any("0" <= ch <= "9" for ch in secret)
    has_alpha = any(ch.isalpha() for ch in secret)
    return has_digit and has_alpha


def _accept_key(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    return match.span() if _has_entropy(match.group()) else None


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PLACEHOLDER = re.compile(
    r"^(?:\$\{.*\}|\$[A-Z_]+|\{\{.*\}\}|<.*>|\*+|x+|X+|%s|\[[A-Z_]+\]|\.\.\.)$"
)


def _accept_assigned_secret(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    secret = match.group(2)
    if _UUID.fullmatch(secret) or not _has_entropy(secret) or _PLACEHOLDER.match(secret):
        return None
    if match.group(1).lower() != "bearer" and v.plain_json_base64(secret):
        return None  # a pagination cursor or state blob ({"offset":10}), not a credential
    return match.span(2)


def _accept_assigned_password(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    secret = match.group(1)
    if _PLACEHOLDER.match(secret) or secret.lower() in ("null", "none", "true", "false"):
        return None
    return match.span(1)


def _accept_password_in_url(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    if _PLACEHOLDER.match(match.group(1)):
        return None
    return match.span(1)


def _accept_jwt(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    return match.span() if v.jwt_header_valid(match.group(1)) else None


_NATIONAL_REST = r"[0-9]{2,8}(?:[ \-][0-9]{2,8}){0,3}"
_NB = r"(?<![0-9A-Za-z_])"  # no ASCII word character before
_NA = r"(?![0-9A-Za-z_])"  # no ASCII word character after

_API_KEY_BODY = (
    r"sk-ant-[A-Za-z0-9_\-]{20,}"
    r"|sk-[A-Za-z0-9_\-]{20,}"
    r"|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{50,255}"
    r"|glpat-[A-Za-z0-9_\-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|[sr]k_(?:live|test)_[0-9A-Za-z]{16,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"
    r"|npm_[A-Za-z0-9]{36}"
    r"|pypi-[A-Za-z0-9_\-]{50,}"
    r"|gsk_[A-Za-z0-9]{40,}"
    r"|xai-[A-Za-z0-9]{40,}"
    r"|r8_[A-Za-z0-9]{30,}"
    r"|pplx-[A-Za-z0-9]{40,}"
    r"|dop_v1_[a-f0-9]{64}"
    r"|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"
    r"|SK[0-9a-f]{32}"
)
_API_KEY_PREFIXES = (
    r"sk-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AIza|[sr]k_live_|"
    r"[sr]k_test_|hf_|SG\.|npm_|pypi-|gsk_|xai-|r8_|pplx-|dop_v1_|shp(?:at|ca|pa|ss)_|SK[0-9a-f]{8}"
)
_SECRET_NAMES = [
    r"api[_\-]?key",
    r"apikey",
    r"secret[_\-]?key",
    r"access[_\-]?key(?:[_\-]?id)?",
    r"secret[_\-]?access[_\-]?key",
    r"client[_\-]?secret",
    r"auth[_\-]?token",
    r"access[_\-]?token",
    r"refresh[_\-]?token",
    r"api[_\-]?token",
    r"secret",
    r"token",
    r"bearer",
    r"private[_\-]?key",
]
_PASSWORD_NAMES = ["password", "passwd", "pwd", "passphrase", "密码"]


def builtin_recognisers(secret_assignments: bool = True) -> list[Recogniser]:
    """The recognisers of the contract's types, in a fixed order (the order does not matter
    for the result: overlaps are resolved by priority, length, then position)."""

    def make(
        type_: str,
        pattern: str,
        prefilter: str | None,
        accept: Accept | None,
        back: int | None,
        max_length: int | None = None,
        accept_many: AcceptMany | None = None,
    ) -> PatternRecogniser:
        return PatternRecogniser(
            type_,
            re.compile(pattern),
            prefilter,
            accept,
            PRIORITY[type_],
            back,
            max_length,
            accept_many,
        )

    recognisers: list[Recogniser] = [
        make(
            "EMAIL",
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
            r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
            r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])",
            r"[A-Za-z0-9]@[A-Za-z0-9]",
            _accept_email,
            back=66,
            max_length=330,
        ),
        make(
            "CREDIT_CARD",  # a whole run of digit groups; cards.find_cards finds the card in it
            r"[0-9](?<![0-9A-Za-z_][0-9])(?<![0-9]\.[0-9])[0-9 \-]{10,}[0-9]"
            + _NA
            + r"(?!\.[0-9])",
            r"[2-6][0-9]{3}(?:[ \-]?[0-9]){8}",
            None,
            back=20,
            max_length=40,
            accept_many=find_cards,
        ),
        make(
            "US_SSN",
            _NB
            + r"(?<![0-9][.\-])([0-9]{3})([\- ])([0-9]{2})\2([0-9]{4})"
            + _NA
            + r"(?![.\-][0-9])",
            r"[0-9]{3}[\- ][0-9]{2}[\- ][0-9]{4}",
            _accept_ssn,
            back=11,
            max_length=11,
        ),
        make(
            "IPV4",
            r"(?<![0-9A-Za-z_.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9A-Za-z_]|\.[0-9])",
            r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]",
            _accept_ipv4,
            back=16,
            max_length=15,
        ),
        make(
            "IPV6",
            r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{1,4}|(?=::))(?::[0-9A-Fa-f]{0,4}){2,7}"
            r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?:%[0-9A-Za-z]+)?(?![0-9A-Za-z_.])",
            r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){3}|[0-9A-Fa-f]::|::[0-9A-Fa-f]",
            _accept_ipv6,
            back=64,
            max_length=70,
        ),
        make(
            "IBAN",
            _NB + r"[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]){11,30}" + _NA,
            r"[A-Z]{2}[0-9]{2} ?[0-9A-Z]{4} ?[0-9A-Z]{4} ?[0-9A-Z]{3}",
            _accept_iban,
            back=18,
            max_length=50,
        ),
        make(
            "CN_ID",
            _NB + r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            r"[0-9]{3}[0-9Xx]" + _NA,
            r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}[01][0-9][0-3][0-9]{4}[0-9Xx]",
            _accept_cn_id,
            back=18,
            max_length=18,
        ),
        make(
            "CN_PHONE",
            r"(?<![0-9A-Za-z_+])((?:\+|00)?86[ \-]?)?(1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4})"
            + _NA
            + r"(?![.\-][0-9])",
            r"1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}",
            _accept_cn_phone,
            back=20,
            max_length=25,
        ),
        make(
            "PHONE",
            # "[+0]" first, its look-behind after it: CPython's re then skips ahead in C
            r"[+0](?<![0-9A-Za-z_+][+0])(?:(?<=\+)|(?<=0)0(?=[1-9]))[1-9][0-9]{0,2}"
            r"(?:[ .\-]?(?:\((?:0|[0-9]{1,5})\))?[ .\-]?[0-9]{1,5}){1,6}" + _NA + r"(?![.\-][0-9])",
            r"\+[1-9][0-9]{0,2}[ .\-]?\(?[0-9]|00[1-9][0-9]{0,2}[ .\-]\(?[0-9]",
            _accept_phone_intl,
            back=8,
            max_length=90,
        ),
        make(
            "PHONE",
            r"[1-9(](?<![0-9A-Za-z_+\-.][1-9(])(?:(?<=1)[ .\-](?:\([2-9][0-9]{2}\)[ .\-]?"
            r"|[2-9][0-9]{2}[ .\-])|(?<=\()[2-9][0-9]{2}\)[ .\-]?|(?<=[2-9])[0-9]{2}[ .\-])"
            r"[2-9][0-9]{2}[ .\-][0-9]{4}" + _NA + r"(?![.\-][0-9])",
            r"(?:\([2-9][0-9]{2}\)[ .\-]?|[2-9][0-9]{2}[ .\-])[2-9][0-9]{2}[ .\-][0-9]{4}",
            _accept_phone_nanp,
            back=20,
            max_length=20,
        ),
        make(
            "PHONE",  # national formats with the trunk 0: 020 7946 0958, 01 23 45 67 89
            r"[(0](?<![0-9A-Za-z_+\-./#][(0])(?:(?<=\()0[1-9][0-9]{0,4}\)[ \-]?"
            + _NATIONAL_REST
            + r"|(?<=0)(?:[1-9][0-9]{0,4}[ \-/]"
            + _NATIONAL_REST
            + r"|[1-9](?:\.[0-9]{2}){4}))"
            r"(?![0-9A-Za-z_]|[.\-/:][0-9])",
            r"0[1-9](?:[ \-./]|\)[ \-]?)?(?:[0-9](?:[ \-./]|\)[ \-]?)?){6}[0-9]",
            _accept_phone_national,
            back=30,
            max_length=30,
        ),
        make(
            "PHONE",  # digits without layout after a phone keyword: "tel: 02079460958"
            keywords.PHONE_PATTERN,
            keywords.PHONE_PREFILTER,
            keywords.accept_phone,
            back=keywords.KEYWORD_BACK,
            max_length=keywords.KEYWORD_MAX_LENGTH,
        ),
        make(
            "US_SSN",  # nine digits after an SSN keyword: "ssn: 123456789"
            keywords.SSN_PATTERN,
            keywords.SSN_PREFILTER,
            keywords.accept_ssn,
            back=keywords.KEYWORD_BACK,
            max_length=keywords.KEYWORD_MAX_LENGTH,
        ),
        make(
            "API_KEY",
            r"(?<![A-Za-z0-9_\-])(?:" + _API_KEY_BODY + r")(?![A-Za-z0-9_\-])",
            _API_KEY_PREFIXES,
            _accept_key,
            back=12,
        ),
        make(
            "JWT",
            r"(eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{8,})\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
            r"eyJ[A-Za-z0-9_\-]{8}",
            _accept_jwt,
            back=11,
        ),
        make(
            "PASSWORD_IN_URL",
            r"://[^\s:/?#@\"'<>\[\]]*:([^\s/?#@\"'<>]+)@(?=[A-Za-z0-9\[])",
            r"://[^\s/@]*:[^\s/@]+@",
            _accept_password_in_url,
            back=None,
        ),
        make(
            "PRIVATE_KEY",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*"
            r"PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY",
            None,
            back=None,
        ),
    ]
    recognisers += [
        ColumnRecogniser(
            "US_SSN",
            r"(?i)ssn|social.?security",
            re.compile(keywords.keyword_regex(["ssns?", "social"], ("SSN", "Ssn"))),
            names_ssn,
            ssn_cell,
            PRIORITY["US_SSN"],
        ),
        ColumnRecogniser(
            "PHONE",
            r"(?i)phone|tel|mobile|cell|fax|whatsapp|handy|portable|t\xc3\xa9l"
            r"|\xe7\x94\xb5\xe8\xaf\x9d|\xe6\x89\x8b\xe6\x9c\xba|\xe5\xba\xa7\xe6\x9c\xba",
            re.compile(
                keywords.keyword_regex(
                    [
                        "phone",
                        "tel",
                        "mobile",
                        "cell",
                        "fax",
                        "whatsapp",
                        "handy",
                        "portable",
                        "tél",
                        "电话",
                        "手机",
                        "座机",
                    ],
                    ("Phone", "Tel", "Mobile", "Cell", "Fax"),
                )
            ),
            names_phone,
            phone_cell,
            PRIORITY["PHONE"],
        ),
    ]
    if secret_assignments:
        recognisers.append(
            make(
                "API_KEY",
                "("
                + keywords.keyword_regex(_SECRET_NAMES)
                + r")[\"']?\s{0,16}(?:[:=]|\s)\s{0,16}[\"']?([A-Za-z0-9_\-+/=.~]{16,})",
                r"(?i)(?:key|key[_\-]?id|secret|token|bearer)[\"']?\s*[:=\s]\s*[\"']?"
                r"[A-Za-z0-9_\-+/=.~]{16}",
                _accept_assigned_secret,
                back=80,
            )
        )
        recognisers.append(
            make(
                "PASSWORD",
                "(?:"
                + keywords.keyword_regex(_PASSWORD_NAMES)
                + r")[\"']?\s{0,16}[:=：]\s{0,16}[\"']?([^\s\"',;&}]{4,})",
                r"(?i)(?:password|passwd|pwd|passphrase|\xe5\xaf\x86\xe7\xa0\x81)",
                _accept_assigned_password,
                back=11,
            )
        )
    return recognisers
