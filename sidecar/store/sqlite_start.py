"""What the start needs of a SQLite file, through the stdlib ``sqlite3`` (no SQLAlchemy): the
schema and its upgrades, the stored secrets, and the health ping.

Same statements and the same result as the SQLAlchemy path of :mod:`sidecar.store.database`
and :mod:`sidecar.store.secrets` (a test runs both on one file), so a file created by either is
opened by the other.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from pathlib import Path

from sidecar.store.columns import SCHEMA_VERSION, SQLITE_DDL, UPGRADES
from sidecar.store.secrets import DDL as SECRETS_DDL
from sidecar.store.sqlite_connection import BUSY_TIMEOUT_S, connect_sqlite


def create_schema(path: str, synchronous: str = "FULL") -> None:
    """Create missing tables and apply pending upgrades in one transaction."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect_sqlite(path, synchronous=synchronous)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in SQLITE_DDL:
            conn.execute(statement)
        found = conn.execute(
            "SELECT version FROM sidecar_schema WHERE component = 'events'"
        ).fetchone()
        if found is None:
            conn.execute(
                "INSERT INTO sidecar_schema (component, version) VALUES ('events', ?)",
                (SCHEMA_VERSION,),
            )
        else:
            for version in range(found[0] + 1, SCHEMA_VERSION + 1):
                for upgrade in UPGRADES.get(version, []):
                    backend, sql = upgrade if isinstance(upgrade, tuple) else ("sqlite", upgrade)
                    if backend == "sqlite":
                        conn.execute(sql)
            if found[0] < SCHEMA_VERSION:
                conn.execute(
                    "UPDATE sidecar_schema SET version = ? WHERE component = 'events'",
                    (SCHEMA_VERSION,),
                )
        conn.execute("COMMIT")
    finally:
        conn.close()


def stored_secret(path: str, name: str) -> str:
    """The secret kept under ``name`` in ``sidecar_secrets``, generated on first use (first
    writer wins: every process on the file reads the same value)."""
    conn = connect_sqlite(path, synchronous="FULL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(SECRETS_DDL)
        conn.execute(
            "INSERT INTO sidecar_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_hex(32)),
        )
        value = conn.execute("SELECT value FROM sidecar_secrets WHERE name = ?", (name,)).fetchone()
        conn.execute("COMMIT")
    finally:
        conn.close()
    return str(value[0])


def ping(path: str) -> float:
    """Open the file and run ``SELECT 1``; the latency in milliseconds. Raises
    :class:`sqlite3.Error` when the file cannot be opened or read."""
    start = time.perf_counter()
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute("SELECT 1 FROM sidecar_schema LIMIT 1").fetchall()
    finally:
        conn.close()
    return (time.perf_counter() - start) * 1000.0
