"""The relational schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

``events`` keeps one row per accepted event: indexed columns for the queries and the whole
(redacted) event as JSON in ``body``. ``id`` is the event's key, unique: its id, followed by
U+001F and its tenant when it has one (:func:`sidecar.store.rows.event_key`), so a resent batch
is idempotent and equal ids of two tenants are two events.
``seq`` orders events by arrival (runs page on it); ``/v1/events`` lists and pages by
``(ts, id)`` through ``ix_events_ts_id``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from sidecar.store.columns import EVENT_COLUMNS, KEY_CHARS, SCHEMA_VERSION, TEXT_LENGTHS

__all__ = [
    "EVENT_COLUMNS",
    "KEY_CHARS",
    "SCHEMA_VERSION",
    "events",
    "metadata",
    "schema_meta",
]

metadata = MetaData()

_SEQ = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", String(KEY_CHARS), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("ts", Float, nullable=False),
    Column("request_id", String(256), nullable=False),
    Column("session_id", String(256)),
    Column("user_id", String(256)),
    Column("tenant", String(256)),
    Column("agent", String(256)),
    Column("model", String(256)),
    Column("provider", String(256)),
    Column("tool", String(256)),
    Column("status", String(8)),
    Column("error_type", String(256)),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cached_input_tokens", BigInteger),
    Column("cost_usd", Float),
    Column("duration_ms", Float),
    Column("ttft_ms", Float),
    Column("trace_id", String(32)),
    Column("span_id", String(16)),
    Column("body", Text, nullable=False),
    # Every index costs each insert (8 indexes write at about half the rate of 5): these serve
    # the paged queries (by user, session, request, time); the rest filter on top of them.
    Index("ix_events_ts_id", "ts", "id"),
    Index("ix_events_user_ts", "user_id", "ts"),
    Index("ix_events_session", "session_id"),
    Index("ix_events_request", "request_id"),
)

schema_meta = Table(
    "sidecar_schema",
    metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)

assert tuple(c.name for c in events.columns if c.name != "seq") == EVENT_COLUMNS
assert {
    c.name: c.type.length
    for c in events.columns
    if isinstance(c.type, String) and c.name not in ("id", "body")
} == TEXT_LENGTHS
