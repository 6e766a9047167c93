"""Masking modes: what a finding is replaced with.

- ``label``: ``[EMAIL]``. Irreversible, no key.
- ``hash``: ``[EMAIL:9f2c41d07a3b]``: the first 12 hex digits (48 bits) of
  HMAC-SHA256(key, type + NUL + value). Stable per value and key, so one user's events stay
  joinable; without the key a guess of the value cannot be confirmed.
- ``partial``: the last four characters of number-like types (card, phone, SSN, IBAN, ID), the
  rest of their letters and digits as ``*`` (``**** **** **** 1111``). Secrets, emails and
  addresses fall back to the label.
"""

from __future__ import annotations

import hashlib
import hmac

PARTIAL_TYPES = frozenset({"CREDIT_CARD", "PHONE", "CN_PHONE", "US_SSN", "IBAN", "CN_ID"})


def label(type_: str) -> str:
    """``[TYPE]``."""
    return f"[{type_}]"


def pseudonym(key: bytes, type_: str, value: str) -> str:
    """``[TYPE:<12 hex>]``: keyed, stable per (key, type, value)."""
    digest = hmac.new(key, f"{type_}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"[{type_}:{digest.hexdigest()[:12]}]"


def partial(type_: str, value: str) -> str:
    """Keep the last four letters or digits, star the others, keep separators."""
    if type_ not in PARTIAL_TYPES:
        return label(type_)
    keep = 4
    chars = list(value)
    for index in range(len(chars) - 1, -1, -1):
        if chars[index].isalnum():
            if keep > 0:
                keep -= 1
            else:
                chars[index] = "*"
    return "".join(chars)
