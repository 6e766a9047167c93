"""What a read asks for: the event filter, the page it gets back, the paging cursor and the
error naming a bad parameter. Plain data: the routes build these without loading SQLAlchemy,
which :mod:`sidecar.store.queries` imports at the first read."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Select

GROUP_NAMES = ("model", "tool", "user", "agent", "provider", "tenant", "type", "session")
"""The ``group_by`` values of the aggregate and series queries."""


class QueryError(ValueError):
    """A query parameter is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the events this filter selects (SQLAlchemy Core)."""
        from sidecar.store.tables import events

        for name in ("type", "user_id", "session_id", "request_id", "tenant", "trace_id"):
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


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("s"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise QueryError("cursor", "cursor is not one this server issued") from None
