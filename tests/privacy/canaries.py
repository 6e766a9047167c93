"""Unique, valid canaries of every redaction type, and the byte patterns that betray them.

Each run draws fresh values (random digits, valid checksums: Luhn, IBAN mod-97, GB 11643), so
a canary found anywhere can only come from this run. A canary is planted as text; its
``needles`` are what a leak would look like in raw bytes: the text itself and the distinctive
core of it (card digits without spaces, the password of a URL, the payload of a JWT, the local
part of an e-mail address), all lower-cased for a case-insensitive scan.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import string
from dataclasses import dataclass, field

from sidecar.redact.validators import cn_id_valid, iban_valid, luhn_valid


@dataclass(frozen=True)
class Canary:
    type: str
    value: str
    extra_needles: tuple[str, ...] = field(default=())

    @property
    def needles(self) -> tuple[str, ...]:
        """Lower-cased byte strings whose presence anywhere means the canary leaked."""
        raw = (self.value, *self.extra_needles)
        return tuple(dict.fromkeys(n.lower() for n in raw if len(n) >= 7))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _keybody(rng: random.Random, n: int, alphabet: str) -> str:
    """Random key material with at least two digits and two letters (entropy rules)."""
    while True:
        body = "".join(rng.choice(alphabet) for _ in range(n))
        if sum(c.isdigit() for c in body) >= 2 and sum(c.isalpha() for c in body) >= 2:
            return body


def _luhn_complete(prefix: str) -> str:
    for check in string.digits:
        if luhn_valid(prefix + check):
            return prefix + check
    raise AssertionError("unreachable: one check digit always completes a Luhn number")


def _iban_de(rng: random.Random) -> str:
    bban = _digits(rng, 18)
    numeric = "".join(str(int(c, 36)) for c in bban + "DE00")
    check = 98 - int(numeric) % 97
    compact = f"DE{check:02d}{bban}"
    assert iban_valid(compact)
    return compact


def _cn_id(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    body = f"110105{rng.randint(1960, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += _digits(rng, 3)
    number = body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    assert cn_id_valid(number)
    return number


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_canaries(seed: int | None = None) -> list[Canary]:
    """One canary of every type (two API keys: OpenAI-style and AWS), unique to this call."""
    rng = random.Random(seed if seed is not None else secrets.randbits(64))
    alnum = string.ascii_letters + string.digits
    tag = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(10))

    local = f"cy{tag}"
    email = f"{local}@mail{_digits(rng, 4)}.example.com"

    national = "30" + _digits(rng, 8)  # Berlin landline: +49 30 xxxx xxxx
    phone = f"+49 {national[:2]} {national[2:6]} {national[6:]}"

    card = _luhn_complete("4" + _digits(rng, 14))
    card_spaced = " ".join(card[i : i + 4] for i in range(0, 16, 4))

    ssn = f"{rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    ipv4 = ".".join(str(rng.randint(low, 254)) for low in (101, 100, 100, 100))
    ipv6 = "2a03:2880:" + ":".join(f"{rng.randint(0x1000, 0xFFFF):x}" for _ in range(6))

    iban = _iban_de(rng)
    iban_spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))

    openai_body = _keybody(rng, 40, alnum)
    openai_key = f"sk-proj-{openai_body}"
    aws_key = "AKIA" + _keybody(rng, 16, string.ascii_uppercase + string.digits)

    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(
        json.dumps({"sub": f"user-{tag}", "iat": rng.randint(10**9, 2 * 10**9)}).encode()
    )
    signature = _b64url(rng.randbytes(32))
    jwt = f"{header}.{payload}.{signature}"

    cn_phone = "1" + rng.choice("3589") + _digits(rng, 9)
    cn_phone_spaced = f"{cn_phone[:3]} {cn_phone[3:7]} {cn_phone[7:]}"
    cn_id = _cn_id(rng)

    password = "Pw" + _keybody(rng, 14, alnum)
    url = f"postgresql://svc_{tag[:4]}:{password}@db-{tag[4:]}.internal:5432/app"

    return [
        Canary("EMAIL", email, (local,)),
        Canary("PHONE", phone, ("49" + national,)),
        Canary("CREDIT_CARD", card_spaced, (card,)),
        Canary("US_SSN", ssn, (ssn.replace("-", ""),)),
        Canary("IPV4", ipv4),
        Canary("IPV6", ipv6),
        Canary("IBAN", iban_spaced, (iban,)),
        Canary("API_KEY", openai_key, (openai_body,)),
        Canary("API_KEY", aws_key),
        Canary("JWT", jwt, (payload, signature)),
        Canary("CN_PHONE", cn_phone_spaced, (cn_phone,)),
        Canary("CN_ID", cn_id),
        Canary("PASSWORD_IN_URL", url, (password,)),
    ]


def find_leaks(data: bytes | str, canaries: list[Canary]) -> list[str]:
    """``"TYPE: needle"`` for every needle of ``canaries`` present in ``data`` (any case)."""
    text = (data if isinstance(data, str) else data.decode("utf-8", "replace")).lower()
    return [f"{c.type}: {n}" for c in canaries for n in c.needles if n in text]
