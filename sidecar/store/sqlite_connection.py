"""The one way this project opens a SQLite file with the stdlib driver.

Every file is in WAL mode (readers never block the writer) and waits up to
:data:`BUSY_TIMEOUT_S` for a lock held by another connection before it raises
``sqlite3.OperationalError: database is locked``. ``synchronous`` is the durability knob:
``FULL`` syncs every commit (an acknowledged event survives power loss), ``NORMAL`` syncs at
checkpoints (it survives a crash of the process, which is what the journals and the cache need).

A connection whose commit finds more than :data:`WAL_CHECKPOINT_PAGES` pages in the WAL copies
them into the database file (SQLite's default is 1,000 pages). The events' unique index on
random ids dirties about one page per row, so at that default a busy writer checkpointed on
nearly every group commit, copying each page again and again: 10,000 pages (40 MB) coalesces
those copies, 1.4-1.6x the rows/s of the default at 120-240k rows in the events schema
(measured, the stdlib driver alone). The WAL file then stays up to about that size on disk.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

BUSY_TIMEOUT_S = 30.0
WAL_CHECKPOINT_PAGES = 10_000
Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


def connect_sqlite(
    path: str,
    *,
    synchronous: Synchronous | str = "NORMAL",
    autocommit: bool = True,
    cache_kib: int | None = None,
) -> sqlite3.Connection:
    """A connection to ``path`` usable from any one thread at a time, in WAL mode.

    ``autocommit`` leaves transactions to explicit ``BEGIN``/``COMMIT``; without it the driver
    opens one before the first write, as the stdlib does by default. ``cache_kib`` sizes the
    connection's page cache (SQLite's default: 2,000 KiB), filled only as pages are read."""
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_S,
        check_same_thread=False,
        isolation_level=None if autocommit else "DEFERRED",
    )
    apply_pragmas(conn, synchronous)
    if cache_kib is not None:
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    return conn


def apply_pragmas(conn: sqlite3.Connection, synchronous: Synchronous | str = "NORMAL") -> None:
    """WAL, the sync mode, the busy timeout and the checkpoint size, on a connection opened
    elsewhere (SQLAlchemy's)."""
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    cursor = conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.close()
