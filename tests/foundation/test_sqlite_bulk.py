"""Many rows per SQLite statement: the same table as row-by-row ``executemany``, in far fewer steps.

Paths: :func:`sidecar.store.sqlite_bulk.insert_rows` directly (plain insert, ``ON CONFLICT DO
NOTHING``, ``INSERT OR REPLACE``, an upsert that adds, with duplicates inside one call and
against earlier calls, hostile values: U+0000, 64 KB strings, 1e308, 2**63 - 1, NaN); and the
events inserter (:class:`sidecar.store.inserters.SqliteInserter`) through a real file: new keys,
keys already stored, a mix, and a row breaking another constraint, which still fails.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.store.columns import EVENT_COLUMNS, SQLITE_DDL
from sidecar.store.inserters import SqliteInserter
from sidecar.store.sqlite_bulk import MAX_CHUNK_ROWS, chunk_rows, insert_rows
from sidecar.store.sqlite_connection import connect_sqlite

_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.sampled_from([1e308, -1e308, 0.0, "\x00", "a\x00b", "x" * 65_536, ""]),
    st.text(max_size=20),
)
_KEYS = st.integers(min_value=0, max_value=40)
_ROWS = st.lists(st.tuples(_KEYS, _VALUES, _VALUES), max_size=300)

_STATEMENTS = {
    "plain": ("INSERT INTO t (k, a, b)", ""),
    "ignore": ("INSERT INTO t (k, a, b)", "ON CONFLICT (k) DO NOTHING"),
    "replace": ("INSERT OR REPLACE INTO t (k, a, b)", ""),
    "upsert": ("INSERT INTO t (k, a, b)", "ON CONFLICT (k) DO UPDATE SET a = excluded.a"),
}


def _table(unique: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    key = "k INTEGER UNIQUE" if unique else "k INTEGER"
    conn.execute(f"CREATE TABLE t (seq INTEGER PRIMARY KEY, {key}, a, b)")
    return conn


def _contents(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return [
        tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in conn.execute("SELECT seq, k, a, b FROM t ORDER BY seq")
    ]


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(_ROWS, min_size=1, max_size=3), kind=st.sampled_from(sorted(_STATEMENTS)))
def test_insert_rows_leaves_the_table_executemany_leaves(
    calls: list[list[tuple[object, ...]]], kind: str
) -> None:
    head, tail = _STATEMENTS[kind]
    unique = kind != "plain"
    bulk, reference = _table(unique), _table(unique)
    one = f"{head} VALUES (?, ?, ?) {tail}"
    for rows in calls:
        insert_rows(bulk, head, rows, tail=tail)
        reference.executemany(one, rows)
    assert _contents(bulk) == _contents(reference)


def test_a_row_breaking_a_constraint_fails_the_call() -> None:
    conn = _table(unique=True)
    with pytest.raises(sqlite3.IntegrityError):
        insert_rows(conn, "INSERT INTO t (k, a, b)", [(1, 0, 0), (2, 0, 0), (1, 0, 0)])


def test_rows_of_another_width_are_refused() -> None:
    conn = _table(unique=False)
    with pytest.raises(ValueError, match="3 values"):
        insert_rows(conn, "INSERT INTO t (k, a, b)", [(1, 0, 0), (2, 0)])


def test_chunks_are_powers_of_two_within_the_variable_limit() -> None:
    assert chunk_rows(1) == MAX_CHUNK_ROWS
    assert chunk_rows(len(EVENT_COLUMNS)) == MAX_CHUNK_ROWS == 256
    assert chunk_rows(200) == 128
    assert chunk_rows(32766) == 1
    with pytest.raises(ValueError):
        chunk_rows(0)


def test_two_thousand_rows_take_a_handful_of_statements_not_one_per_row() -> None:
    """Each statement steps once: executemany steps (and retakes the GIL) once per row, which
    a busy Python thread beside the writer turns into a wait of up to 5 ms per row."""
    conn = _table(unique=True)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    insert_rows(conn, "INSERT INTO t (k, a, b)", [(i, i, i) for i in range(2000)])
    assert len(statements) <= 10  # 2000 = 7 x 256 + 128 + 64 + 16
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (2000,)


def _event_rows(keys: list[str]) -> list[tuple[object, ...]]:
    rows = []
    for i, key in enumerate(keys):
        values: dict[str, object] = {name: None for name in EVENT_COLUMNS}
        values.update(id=key, type="run", ts=1_700_000_000.0 + i, request_id="r", body="{}")
        rows.append(tuple(values[name] for name in EVENT_COLUMNS))
    return rows


def test_the_events_inserter_reports_only_new_keys(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    conn = connect_sqlite(str(path))
    for statement in SQLITE_DDL:
        conn.execute(statement)
    conn.close()
    inserter = SqliteInserter(str(path))

    async def scenario() -> None:
        assert await inserter.insert(_event_rows(["a", "b"])) == {"a", "b"}
        assert await inserter.insert(_event_rows(["b", "c", "a", "d"])) == {"c", "d"}
        assert await inserter.insert(_event_rows(["a", "b", "c"])) == set()
        statements: list[str] = []
        inserter._connect().set_trace_callback(statements.append)
        assert await inserter.insert(_event_rows([f"k{i}" for i in range(3000)])) == {
            f"k{i}" for i in range(3000)
        }
        inserts = [s for s in statements if s.startswith("INSERT")]
        # 3000 = 11 x 256 + 128 + 32 + 16 + 8
        assert len(inserts) <= 15, "one statement per row steps and retakes the GIL per row"
        broken = _event_rows(["e", "f"])
        broken[1] = tuple(
            None if name == "body" else v for name, v in zip(EVENT_COLUMNS, broken[1], strict=True)
        )
        with pytest.raises(sqlite3.IntegrityError):
            await inserter.insert(broken)
        assert await inserter.insert(_event_rows(["e"])) == {"e"}
        await inserter.close()

    asyncio.run(scenario())
    check = sqlite3.connect(str(path))
    assert check.execute("SELECT count(*) FROM events").fetchone() == (3005,)
