"""The one way the sidecar opens a SQLite file: WAL journal, the given ``synchronous`` level,
a 30 s busy timeout, usable from any thread (each owner serialises its own use).

Events, the budget journal and the cache persistence share a file by default; the same pragmas
and busy timeout everywhere mean a writer of one part waits for another's commit instead of
failing with "database is locked".
"""

from __future__ import annotations

import sqlite3

BUSY_TIMEOUT_S = 30.0


def connect(path: str, synchronous: str = "FULL", *, autocommit: bool = True) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode. ``autocommit``: statements outside an explicit
    ``BEGIN`` commit at once (``isolation_level=None``); otherwise the stdlib's implicit
    transactions apply."""
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    if autocommit:
        conn.isolation_level = None
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    return conn
