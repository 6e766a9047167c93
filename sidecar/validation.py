"""The text and number rules for every value a client sends (HTTP bodies, query strings, path
segments, OTLP attributes). One place, so every public path enforces the same caps:

- **Ids** (event, request, session, user, tenant, budget, reservation, call and response ids)
  and **names** (models, providers, tools, agents, namespaces, error types): 1 to
  :data:`MAX_ID_CHARS` (256) bytes in UTF-8 (so at most 256 characters), no control character
  (U+0000 to U+001F, U+007F). The msgspec types bound the characters; the byte count is
  checked after decoding (:func:`long_text_field`), as the budget ledger counts it. Events
  bound them by length only (:data:`BoundedId`) and have their control characters checked
  once per batch (:mod:`sidecar.events.checked`), with the same error.
  These are the indexed columns of the store; PostgreSQL refuses U+0000 in text, so a value
  that passes here is one every backend stores.
- **Reservation ids** as the API hands them out (tenant-tagged): at most 512 bytes.
- **Query values**: at most :data:`MAX_QUERY_CHARS` (1,024) bytes, no control character;
  ids among them at most 256 bytes, paging cursors at most 4,096.
- **Numbers**: finite, within each field's documented range (tokens at most 10^9, costs at
  most $10^9, timestamps within 1970..2100, integers of the store below 2^63).

Content (prompts, outputs, tool arguments and results, error messages, attribute values) is
free text: newlines and tabs are allowed there, and it is stored inside JSON, never in an
indexed column.

Plain functions and msgspec types: no web framework here, so the decoders, the cache and the
budgets use the same rules as the API edge.
"""

from __future__ import annotations

import math
import re
import typing
from typing import Annotated

import msgspec

MAX_ID_CHARS = 256
MAX_RESERVATION_CHARS = 512
MAX_QUERY_CHARS = 1024
MAX_CURSOR_CHARS = 4096
MAX_SECONDS = 4_102_444_800.0  # 2100-01-01
MAX_STORE_INT = 2**63 - 1
# A JSON Schema / Python regex that no control character matches (``re.search`` semantics). The
# lookahead refuses a final newline, which Python's ``$`` matches before.
CONTROL_FREE = "^[^\\x00-\\x1f\\x7f]*$(?!\\n)"
TOO_LONG = "is too long: ids and names take at most 256 bytes in UTF-8, reservation ids 512"
_CONTROL = re.compile("[\\x00-\\x1f\\x7f]")

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS, pattern=CONTROL_FREE)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS, pattern=CONTROL_FREE)]
ReservationId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_RESERVATION_CHARS, pattern=CONTROL_FREE)
]
BoundedId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
"""An id or name of an event: :data:`Id` without the decoder's per-string control-character
check, which :mod:`sidecar.events.checked` runs once per batch instead."""


class InvalidText(ValueError):
    """A value breaks a rule of this module; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def has_control(value: str) -> bool:
    """True when ``value`` holds U+0000..U+001F or U+007F."""
    if value.isascii() and value.isprintable():
        return False
    return _CONTROL.search(value) is not None


def too_long(value: str, max_bytes: int = MAX_ID_CHARS) -> bool:
    """True when ``value`` takes more than ``max_bytes`` in UTF-8 (its characters count too:
    a value of more characters than ``max_bytes`` is too long in any encoding)."""
    if len(value) > max_bytes:
        return True
    return len(value) * 4 > max_bytes and len(value.encode("utf-8", "surrogatepass")) > max_bytes


def text_problem(value: str, *, max_chars: int = MAX_ID_CHARS) -> str | None:
    """Why ``value`` is not a valid id or name (None when it is): more than ``max_chars``
    characters or UTF-8 bytes, or a control character."""
    if too_long(value, max_chars):
        return f"must be at most {max_chars} bytes in UTF-8"
    if has_control(value):
        return "must not hold control characters (U+0000 to U+001F, U+007F)"
    return None


def check_text(field: str, value: str | None, *, max_chars: int = MAX_ID_CHARS) -> str | None:
    """``value`` unchanged, or :class:`InvalidText` naming ``field``; None and "" pass."""
    if value:
        problem = text_problem(value, max_chars=max_chars)
        if problem is not None:
            raise InvalidText(field, f"{field} {problem}")
    return value


def check_id(field: str, value: str | None) -> str | None:
    """An id or name: 1..256 characters, no control character (None passes)."""
    if value is not None and value == "":
        raise InvalidText(field, f"{field} must not be empty")
    return check_text(field, value)


def long_text_field(value: msgspec.Struct) -> str | None:
    """The first field of ``value`` typed :data:`Id`, :data:`Name` or :data:`ReservationId`
    whose text is longer in UTF-8 than its cap, else None."""
    for name, cap in _capped_fields(type(value)):
        text = getattr(value, name)
        if isinstance(text, str) and len(text) * 4 > cap and too_long(text, cap):
            return name
    return None


_CAPS: dict[type, tuple[tuple[str, int], ...]] = {}


def _capped_fields(cls: type) -> tuple[tuple[str, int], ...]:
    found = _CAPS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        capped = []
        for name in getattr(cls, "__struct_fields__", ()):
            hint = hints.get(name)
            options = typing.get_args(hint) if typing.get_origin(hint) is not Annotated else ()
            for kind, cap in (
                (Id, MAX_ID_CHARS),
                (BoundedId, MAX_ID_CHARS),
                (ReservationId, MAX_RESERVATION_CHARS),
            ):
                if hint == kind or kind in options:
                    capped.append((name, cap))
                    break
        found = _CAPS[cls] = tuple(capped)
    return found


def finite_in(field: str, value: float, low: float, high: float) -> float:
    """``value`` when finite and within ``low..high``, else :class:`InvalidText`."""
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidText(field, f"{field} must be a finite number within {low:g}..{high:g}")
    return value


def unique(field: str, values: list[str]) -> list[str]:
    """``values`` when none repeats, else :class:`InvalidText` naming ``field``."""
    if len(set(values)) != len(values):
        raise InvalidText(field, f"{field} must not repeat a value")
    return values


__all__ = [
    "CONTROL_FREE",
    "MAX_CURSOR_CHARS",
    "MAX_ID_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_RESERVATION_CHARS",
    "MAX_SECONDS",
    "MAX_STORE_INT",
    "TOO_LONG",
    "Id",
    "InvalidText",
    "Name",
    "ReservationId",
    "check_id",
    "check_text",
    "finite_in",
    "has_control",
    "long_text_field",
    "text_problem",
    "too_long",
    "unique",
]
