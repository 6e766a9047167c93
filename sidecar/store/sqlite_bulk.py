"""Many rows per SQLite statement, so a writer thread keeps its pace beside busy Python threads.

The stdlib driver's ``executemany`` steps the statement once per row, and every step releases
the GIL and takes it back. While another thread runs Python (the event loop, the transforms in
worker threads), each take waits for that thread to let go, up to the switch interval (5 ms):
measured here, 2,000-row transactions into the events schema fell from 53,115 rows/s to 257
rows/s with one busy thread beside the writer. :func:`insert_rows` runs one ``INSERT ... VALUES
(...), (...)`` per chunk instead, one step and one GIL round per chunk (24,447 rows/s in the same
run, the busy thread keeping its half of the core).

Chunk sizes are powers of two up to :data:`MAX_CHUNK_ROWS` (or the caller's ``max_rows``), so
a writer prepares at most a dozen distinct statements, which the driver's statement cache keeps.
With ``repeat_last`` (only for a statement that ignores a row whose key is in, ``INSERT OR
IGNORE`` or ``ON CONFLICT (key) DO NOTHING``), the last chunk is rounded up to its power of two
by repeating its last row, which the statement then ignores: every chunk is full, so a batch
that fits one statement is one statement, its own transaction, one step and one GIL round in
all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain, repeat

MAX_CHUNK_ROWS = 256
"""The most rows one statement carries (fewer when the rows are wide, see :func:`chunk_rows`). A
connection keeps its prepared statements: the sizes up to 256 rows of 22 values hold about 2 MB,
up to 1,024 rows about 7 MB (measured); the events writer takes up to 1,024
(:data:`sidecar.store.inserters.ONE_STATEMENT_ROWS`), the journals and the cache 256."""

_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def _null(value: None) -> None:
    return None


# The driver binds None as NULL only after it has failed to find an adapter for it: a dict
# miss, then two attribute lookups that find nothing (0.4-0.7 µs per None measured, and an
# event row holds several). An adapter registered for None is found at once, and the
# NULL it gives is bound exactly as before; it applies to every sqlite3 connection of the
# process, all of which bind None as NULL either way.
sqlite3.register_adapter(type(None), _null)


def chunk_rows(width: int, max_rows: int = MAX_CHUNK_ROWS) -> int:
    """The largest power of two of rows of ``width`` values, at most ``max_rows``, that one
    statement may bind."""
    if width < 1:
        raise ValueError("a row has at least one value")
    limit = min(max_rows, _MAX_VARIABLES // width)
    size = 1
    while size * 2 <= limit:
        size *= 2
    return size


def insert_rows(
    conn: sqlite3.Connection,
    head: str,
    rows: Sequence[Sequence[object]],
    *,
    tail: str = "",
    max_rows: int = MAX_CHUNK_ROWS,
    repeat_last: bool = False,
) -> int | None:
    """``head VALUES (?, ...), (?, ...) tail`` for every row of ``rows``, in order; returns the
    rowid of the last row inserted (None when no statement ran).

    ``head`` is the statement up to ``VALUES`` (``INSERT OR IGNORE INTO t (a, b)``), ``tail``
    what follows the values (an ``ON CONFLICT`` clause). The rows go in chunks of at most
    ``max_rows``, each statement seeing the rows of the chunks before it, as ``executemany``
    would: a later row replaces, updates or is ignored against an earlier one exactly as it
    would be row by row. All rows have the same width. Runs inside the caller's transaction
    (none is opened here; without one, each statement is its own). ``repeat_last`` fills the
    last chunk with copies of its last row (see the module docstring): only for a statement
    that ignores a key already in.
    """
    if not rows:
        return None
    width = len(rows[0])
    largest = chunk_rows(width, max_rows)
    start = 0
    last = None
    while start < len(rows):
        size = _chunk_size(len(rows) - start, largest, round_up=repeat_last)
        part = rows[start : start + size]
        values = list(chain.from_iterable(part))
        if len(values) != len(part) * width:
            raise ValueError(f"every row must have {width} values")
        if len(part) < size:
            values.extend(chain.from_iterable(repeat(part[-1], size - len(part))))
        last = conn.execute(_statement(head, tail, width, size), values).lastrowid
        start += size
    return last


def _chunk_size(remaining: int, largest: int, *, round_up: bool) -> int:
    """The power of two of rows for the next chunk: the largest one that ``remaining`` fills,
    or with ``round_up`` the smallest one that holds ``remaining``; never above ``largest``."""
    size = largest
    while size > 1 and (size // 2 >= remaining if round_up else size > remaining):
        size //= 2
    return size


@lru_cache(maxsize=64)
def _statement(head: str, tail: str, width: int, size: int) -> str:
    """The SQL of ``size`` rows of ``width`` values (built once: the driver looks its prepared
    statement up by this text)."""
    one = "(" + ",".join("?" * width) + ")"
    return f"{head} VALUES {','.join([one] * size)} {tail}"
