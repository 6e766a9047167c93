"""Query parameters of the read routes: integers, times, durations and the allowed names.

Every value is checked before use; a bad one is a 422 ``invalid_parameter`` naming it, an
unknown parameter a 400 ``unknown_parameter`` naming it, and an empty one counts as absent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from multidict import MultiMapping

from sidecar.api.errors import ApiError
from sidecar.events.field_errors import SECONDS_HINT
from sidecar.validation import MAX_CURSOR_CHARS, MAX_SECONDS, InvalidText, check_text, unique

_DURATION = re.compile(r"^([1-9][0-9]{0,6})(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def only_known(query: MultiMapping[str], allowed: Iterable[str]) -> None:
    """Refuse a query parameter the route does not document, or one given twice (400)."""
    names = frozenset(allowed)
    for name in query:
        if name not in names:
            raise ApiError(
                400,
                "unknown_parameter",
                f"unknown query parameter; this route takes {', '.join(sorted(names))}",
                text_field(name),
            )
        if len(query.getall(name)) > 1:
            raise ApiError(400, "duplicate_parameter", f"{name} is given more than once", name)


def text_field(name: str) -> str:
    """A parameter name fit to quote in an error: short, no control characters."""
    return "".join(c if c.isprintable() else "?" for c in name[:64])


def text_param(query: Mapping[str, str], name: str) -> str | None:
    """An identifier: at most 256 bytes in UTF-8 and no control characters; empty means absent
    (the rules of :mod:`sidecar.validation`)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return check_text(name, raw)
    except InvalidText as exc:
        raise ApiError(422, "invalid_parameter", str(exc), name) from None


def cursor_param(query: Mapping[str, str], name: str = "cursor") -> str | None:
    """An opaque paging cursor (``next_cursor``): at most 4,096 bytes, no control
    characters; whether it is one this server issued is the store's to check (422)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return check_text(name, raw, max_chars=MAX_CURSOR_CHARS)
    except InvalidText as exc:
        raise ApiError(422, "invalid_parameter", str(exc), name) from None


def group_by_param(query: Mapping[str, str], name: str = "group_by") -> list[str]:
    """A comma-separated list of field names, each named once (422 otherwise)."""
    raw = text_param(query, name) or ""
    try:
        return unique(name, [part for part in raw.split(",") if part])
    except InvalidText as exc:
        raise ApiError(422, "invalid_parameter", str(exc), name) from None


def int_param(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "invalid_parameter", f"{name} must be an integer", name) from None
    if not low <= value <= high:
        raise ApiError(422, "invalid_parameter", f"{name} must be within {low}..{high}", name)
    return value


def time_param(query: Mapping[str, str], name: str) -> float | None:
    """Unix seconds (at most 4102444800, 2100-01-01: a larger number is milliseconds, refused
    with a hint), or an ISO 8601 timestamp (``2026-11-22T10:00:00Z``)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        return _in_time_range(name, value)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422, "invalid_parameter", f"{name} must be unix seconds or ISO 8601", name
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return _in_time_range(name, parsed.timestamp())
    except OverflowError:
        raise ApiError(422, "invalid_parameter", f"{name} is out of range", name) from None


def _in_time_range(name: str, value: float) -> float:
    """Unix seconds within 1970..2100 (NaN, infinities and 1e308 are a 422)."""
    if not (math.isfinite(value) and value >= 0):
        raise ApiError(422, "invalid_parameter", f"{name} must be finite unix seconds", name)
    if value > MAX_SECONDS:
        raise ApiError(
            422, "invalid_parameter", f"{name} must be at most {MAX_SECONDS:.0f}" + SECONDS_HINT,
            name,
        )  # fmt: skip
    return value


def duration_param(
    query: Mapping[str, str], name: str, *, default: str, low_s: int, high_s: int
) -> int:
    """A duration like ``10s``, ``5m``, ``1h`` or ``1d``, in whole seconds."""
    raw = query.get(name) or default
    match = _DURATION.match(raw)
    if match is None:
        raise ApiError(
            422, "invalid_parameter", f"{name} must be a duration like 10s, 5m, 1h or 1d", name
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not low_s <= seconds <= high_s:
        raise ApiError(
            422, "invalid_parameter", f"{name} must be within {low_s} s..{high_s} s", name
        )
    return seconds
