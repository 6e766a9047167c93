"""The ``events`` table as plain data: its columns in row order, the SQLite DDL and the schema
version, for the parts that must not load SQLAlchemy (the SQLite start and the hot path).

:mod:`sidecar.store.tables` declares the same schema for SQLAlchemy; a test checks that the DDL
here creates exactly what ``metadata.create_all`` creates.
"""

from __future__ import annotations

SCHEMA_VERSION = 3
KEY_CHARS = 520  # id (256) + U+001F + tenant (256), with room

# A statement is SQL for every backend, or (backend, SQL) for one of them.
Statement = str | tuple[str, str]
_TENANT_KEY = "UPDATE events SET id = id || {sep} || tenant WHERE tenant IS NOT NULL AND {find} = 0"
UPGRADES: dict[int, list[Statement]] = {
    # /v1/events lists and pages by (ts, id); the index on (ts, id) also serves ts ranges.
    2: [
        "CREATE INDEX IF NOT EXISTS ix_events_ts_id ON events (ts, id)",
        "DROP INDEX IF EXISTS ix_events_ts",
    ],
    # Event ids are unique per tenant: the key column holds id U+001F tenant (idempotent: no
    # id of before holds U+001F).
    3: [
        ("postgresql", "ALTER TABLE events ALTER COLUMN id TYPE VARCHAR(520)"),
        ("postgresql", _TENANT_KEY.format(sep="chr(31)", find="strpos(id, chr(31))")),
        ("sqlite", _TENANT_KEY.format(sep="char(31)", find="instr(id, char(31))")),
    ],
}
"""version -> statements that bring a schema at version-1 up to it (additive only); a
statement is SQL for every backend, or (backend, SQL) for one of them."""

EVENT_COLUMNS = (
    "id", "type", "ts", "request_id", "session_id", "user_id", "tenant", "agent", "model",
    "provider", "tool", "status", "error_type", "input_tokens", "output_tokens",
    "cached_input_tokens", "cost_usd", "duration_ms", "ttft_ms", "trace_id", "span_id", "body",
)  # fmt: skip
"""Every column but ``seq``, in the order of :func:`sidecar.store.rows.event_row`."""

REQUIRED_COLUMNS = frozenset({"type", "ts", "request_id", "body"})
"""The ``NOT NULL`` columns but the key (``id``) and ``seq``."""

TEXT_LENGTHS = {
    "type": 16, "request_id": 256, "session_id": 256, "user_id": 256, "tenant": 256,
    "agent": 256, "model": 256, "provider": 256, "tool": 256, "status": 8, "error_type": 256,
    "trace_id": 32, "span_id": 16,
}  # fmt: skip
"""The length of each indexed text column but the key (``id``) and ``body``."""

SQLITE_DDL = (
    """CREATE TABLE IF NOT EXISTS events (
	seq INTEGER NOT NULL,
	id VARCHAR(520) NOT NULL,
	type VARCHAR(16) NOT NULL,
	ts FLOAT NOT NULL,
	request_id VARCHAR(256) NOT NULL,
	session_id VARCHAR(256),
	user_id VARCHAR(256),
	tenant VARCHAR(256),
	agent VARCHAR(256),
	model VARCHAR(256),
	provider VARCHAR(256),
	tool VARCHAR(256),
	status VARCHAR(8),
	error_type VARCHAR(256),
	input_tokens BIGINT,
	output_tokens BIGINT,
	cached_input_tokens BIGINT,
	cost_usd FLOAT,
	duration_ms FLOAT,
	ttft_ms FLOAT,
	trace_id VARCHAR(32),
	span_id VARCHAR(16),
	body TEXT NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE (id)
)""",
    "CREATE INDEX IF NOT EXISTS ix_events_request ON events (request_id)",
    "CREATE INDEX IF NOT EXISTS ix_events_ts_id ON events (ts, id)",
    "CREATE INDEX IF NOT EXISTS ix_events_user_ts ON events (user_id, ts)",
    "CREATE INDEX IF NOT EXISTS ix_events_session ON events (session_id)",
    """CREATE TABLE IF NOT EXISTS sidecar_schema (
	component VARCHAR(64) NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (component)
)""",
)
"""What SQLAlchemy's ``metadata.create_all`` emits for SQLite, made idempotent."""
