"""What a read asks for: the event filter, the page it gets back, the paging cursors and the
error naming a bad parameter. Plain data: the routes build these without loading SQLAlchemy,
which :mod:`sidecar.store.queries` imports at the first read."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from sidecar.store.columns import KEY_CHARS

if TYPE_CHECKING:
    from sqlalchemy import Select

GROUP_NAMES = ("model", "tool", "user", "agent", "provider", "tenant", "type", "session")
"""The ``group_by`` values of the aggregate and series queries."""


class QueryError(ValueError):
    """A query parameter is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# The filters that compare a column with a value (``since``/``until`` bound ``ts``).
EQUALITY_FILTERS: tuple[str, ...] = ("type", "user_id", "session_id", "request_id", "tenant")
EQUALITY_FILTERS += ("trace_id", "tool", "model", "status", "agent")


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    tenant: str | None = None
    trace_id: str | None = None
    since: float | None = None
    until: float | None = None
    tool: str | None = None
    model: str | None = None
    status: str | None = None
    agent: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the events this filter selects (SQLAlchemy Core)."""
        from sidecar.store.tables import events

        for name in EQUALITY_FILTERS:
            value = getattr(self, name)
            if value is not None:
                query = query.where(events.c[name] == value)
        if self.since is not None:
            query = query.where(events.c.ts >= self.since)
        if self.until is not None:
            query = query.where(events.c.ts < self.until)
        return query


@dataclass(frozen=True)
class EventPage:
    events: list[Any]
    next_cursor: str | None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


_MAX_CURSOR_CHARS = 64
_MAX_SEQ = 2**63 - 1


def decode_cursor(cursor: str) -> int:
    """The ``seq`` a cursor of :func:`encode_cursor` holds; anything else (not base64, not
    ``s<digits>``, a value of 2^63 or more) is a :class:`QueryError` naming ``cursor``."""
    try:
        if len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        digits = raw[1:]
        if not raw.startswith("s") or not digits.isdigit() or not digits.isascii():
            raise ValueError(raw)
        seq = int(digits)
        if seq > _MAX_SEQ:
            raise ValueError(raw)
        return seq
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise QueryError("cursor", "cursor is not one this server issued") from None


def encode_event_cursor(ts: float, event_id: str) -> str:
    """The position after an event, as an opaque token: its ``ts`` (exact) and ``id``."""
    raw = msgspec.json.encode(["t", ts, event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_event_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, ts, event_id = msgspec.json.decode(raw)
        if tag != "t" or not isinstance(event_id, str) or isinstance(ts, bool):
            raise ValueError(raw)
        if len(event_id) > KEY_CHARS or "\x00" in event_id:
            raise ValueError(raw)
        ts = float(ts)
        if not math.isfinite(ts):
            raise ValueError(raw)
        return ts, event_id
    except (ValueError, TypeError, binascii.Error, msgspec.DecodeError, OverflowError):
        raise QueryError("cursor", "cursor is not one this server issued") from None
