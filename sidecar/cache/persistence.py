"""Persistence of cache entries, so a restarted sidecar starts warm.

The hot path never touches it: lookups are served from memory, and writes are queued and applied
in one transaction by :meth:`SemanticCache.flush` (the app calls it every ``flush_interval_s``
and at shutdown). Invalidations are written through at once.

What survives a crash (kill -9): every entry stored before the last flush, and every
invalidation. Lost: entries stored since the last flush (at most ``flush_interval_s`` of stores;
a cache may lose entries), LRU order since the last store (reloaded in order of storing), and
evictions since the last flush (reloaded entries are evicted again if the limits require).
Expired entries are dropped on load, as TTLs are absolute wall-clock times.

Embeddings of the semantic tier are stored with their entry (384 bytes, and the id of the model
that made them), so a restart restores them instead of recomputing them.

A backend implements three calls. :class:`SqliteCachePersistence` is the one for SQLite: stdlib
sqlite3 on a file, WAL mode; flushes run off the request path.
:class:`~sidecar.cache.pg_persistence.PostgresCachePersistence` keeps the cache in PostgreSQL when
the sidecar's store is there.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

import msgspec

from sidecar.store.sqlite_bulk import insert_rows
from sidecar.store.sqlite_connection import connect_sqlite


class PersistedEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A cache entry as stored. ``key`` is the original text, or canonical JSON for JSON keys."""

    id: str
    tenant: str | None
    namespace: str
    model: str | None
    user_id: str | None
    key: str
    key_is_json: bool
    value_json: bytes
    created_at: float
    expires_at: float
    contains_pii: bool = False
    cost_usd: float | None = None
    tokens: int | None = None
    embedding: bytes | None = None  # the key's int8 vector (semantic tier), when computed
    embedding_model: str | None = None  # the model that computed it


class CachePersistence(Protocol):
    """Where entries outlive the process. Calls come from one thread at a time."""

    def load_all(self) -> Iterator[PersistedEntry]:
        """Every stored entry, oldest first."""
        ...

    def upsert(self, entries: Sequence[PersistedEntry]) -> None:
        """Insert or replace ``entries`` (by id), durably, in one transaction."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Remove the entries with ``ids`` (missing ids are ignored)."""
        ...

    def close(self) -> None: ...


_FIELDS = tuple(PersistedEntry.__struct_fields__)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_entries (
    id TEXT PRIMARY KEY, tenant TEXT, namespace TEXT NOT NULL, model TEXT, user_id TEXT,
    key TEXT NOT NULL, key_is_json INTEGER NOT NULL, value_json BLOB NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, contains_pii INTEGER NOT NULL,
    cost_usd REAL, tokens INTEGER, embedding BLOB, embedding_model TEXT
);
CREATE INDEX IF NOT EXISTS cache_entries_created ON cache_entries (created_at);
"""
_ADDED_COLUMNS = (("embedding", "BLOB"), ("embedding_model", "TEXT"))
_UPSERT_HEAD = f"INSERT OR REPLACE INTO cache_entries ({', '.join(_FIELDS)})"


class SqliteCachePersistence:
    """:class:`CachePersistence` on a SQLite file (stdlib sqlite3, WAL, synchronous=NORMAL)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = connect_sqlite(path)
        self._conn.executescript(_SCHEMA)
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(cache_entries)")}
        for name, kind in _ADDED_COLUMNS:  # files written before the semantic tier existed
            if name not in have:
                self._conn.execute(f"ALTER TABLE cache_entries ADD COLUMN {name} {kind}")

    def load_all(self) -> Iterator[PersistedEntry]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(_FIELDS)} FROM cache_entries ORDER BY created_at"
            ).fetchall()
        for row in rows:
            values = dict(zip(_FIELDS, row, strict=True))
            values["key_is_json"] = bool(values["key_is_json"])
            values["contains_pii"] = bool(values["contains_pii"])
            yield PersistedEntry(**values)

    def upsert(self, entries: Sequence[PersistedEntry]) -> None:
        rows = [tuple(getattr(e, f) for f in _FIELDS) for e in entries]
        with self._lock, self._transaction():
            insert_rows(self._conn, _UPSERT_HEAD, rows)

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock, self._transaction():
            self._conn.executemany("DELETE FROM cache_entries WHERE id = ?", [(i,) for i in ids])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
