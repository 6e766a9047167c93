"""Many rows per SQLite statement, so a writer thread keeps its pace beside busy Python threads.

The stdlib driver's ``executemany`` steps the statement once per row, and every step releases
the GIL and takes it back. While another thread runs Python (the event loop, the transforms in
worker threads), each take waits for that thread to let go, up to the switch interval (5 ms):
measured here, 2,000-row transactions into the events schema fell from 53,115 rows/s to 257
rows/s with one busy thread beside the writer. :func:`insert_rows` runs one ``INSERT ... VALUES
(...), (...)`` per chunk instead, one step and one GIL round per chunk (24,447 rows/s in the same
run, the busy thread keeping its half of the core).

Chunk sizes are powers of two up to :data:`MAX_CHUNK_ROWS`, so a writer prepares at most a
dozen distinct statements, which the driver's statement cache keeps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import lru_cache

MAX_CHUNK_ROWS = 256
"""The most rows one statement carries (fewer when the rows are wide, see :func:`chunk_rows`). A
connection keeps its prepared statements: the sizes up to 256 rows of 22 values hold about 1 MB,
up to 1,024 rows about 4 MB (measured); the 4 statements more per 2,000 rows that 256 costs
wait at most one switch interval (1 ms in the server) each."""

_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def chunk_rows(width: int) -> int:
    """The largest power of two of rows of ``width`` values that one statement may bind."""
    if width < 1:
        raise ValueError("a row has at least one value")
    limit = min(MAX_CHUNK_ROWS, _MAX_VARIABLES // width)
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
) -> None:
    """``head VALUES (?, ...), (?, ...) tail`` for every row of ``rows``, in order.

    ``head`` is the statement up to ``VALUES`` (``INSERT OR IGNORE INTO t (a, b)``), ``tail``
    what follows the values (an ``ON CONFLICT`` clause). The rows go in chunks, each statement
    seeing the rows of the chunks before it, as ``executemany`` would: a later row replaces,
    updates or is ignored against an earlier one exactly as it would be row by row. All rows
    have the same width. Runs inside the caller's transaction (none is opened here).
    """
    if not rows:
        return
    width = len(rows[0])
    largest = chunk_rows(width)
    start = 0
    while start < len(rows):
        size = largest
        while size > len(rows) - start:
            size //= 2
        part = rows[start : start + size]
        values = [value for row in part for value in row]
        if len(values) != size * width:
            raise ValueError(f"every row must have {width} values")
        conn.execute(_statement(head, tail, width, size), values)
        start += size


@lru_cache(maxsize=64)
def _statement(head: str, tail: str, width: int, size: int) -> str:
    """The SQL of ``size`` rows of ``width`` values (built once: the driver looks its prepared
    statement up by this text)."""
    one = "(" + ",".join("?" * width) + ")"
    return f"{head} VALUES {','.join([one] * size)} {tail}"
