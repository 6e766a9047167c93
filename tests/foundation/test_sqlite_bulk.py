"""Many rows per SQLite statement: the same table as row-by-row ``executemany``, in far fewer steps.

Paths: :func:`sidecar.store.sqlite_bulk.insert_rows` directly (plain insert, ``ON CONFLICT DO
NOTHING``, ``INSERT OR REPLACE``, an upsert that adds, with duplicates inside one call and
against earlier calls, hostile values: U+0000, 64 KB strings, 1e308, 2**63 - 1, NaN), and with
the last chunk filled by repeats of its last row (``ON CONFLICT DO NOTHING`` only); None as SQL
NULL on any connection of the process (plain ``execute`` and ``executemany`` too); and the
events inserter (:class:`sidecar.store.inserters.SqliteInserter`) through a real file: new keys,
keys already stored, a mix, a row breaking another constraint, which still fails, a batch of up
to 1,024 rows as one statement and no transaction statements, and the new keys read back right
while another connection inserts between the statement and the read.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.store.columns import EVENT_COLUMNS
from sidecar.store.inserters import ONE_STATEMENT_ROWS, SqliteInserter
from sidecar.store.sqlite_bulk import MAX_CHUNK_ROWS, chunk_rows, insert_rows
from sidecar.store.sqlite_connection import connect_sqlite
from sidecar.store.sqlite_start import create_schema

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


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(_ROWS, min_size=1, max_size=3), max_rows=st.sampled_from([1, 4, 64, 256]))
def test_repeating_the_last_row_leaves_the_table_executemany_leaves(
    calls: list[list[tuple[object, ...]]], max_rows: int
) -> None:
    head, tail = _STATEMENTS["ignore"]
    bulk, reference = _table(True), _table(True)
    one = f"{head} VALUES (?, ?, ?) {tail}"
    for rows in calls:
        last = insert_rows(bulk, head, rows, tail=tail, max_rows=max_rows, repeat_last=True)
        reference.executemany(one, rows)
        assert _contents(bulk) == _contents(reference)
        if rows:
            assert last == bulk.execute("SELECT max(seq) FROM t").fetchone()[0]


def test_repeats_fill_every_chunk_to_its_power_of_two() -> None:
    conn = _table(unique=True)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    head, tail = _STATEMENTS["ignore"]
    insert_rows(conn, head, [(i, i, i) for i in range(300)], tail=tail, repeat_last=True)
    assert [s.count("),(") + 1 for s in statements] == [256, 64]  # 300 = 256 + 44 + 20 repeats
    assert conn.execute("SELECT count(*), max(k) FROM t").fetchone() == (300, 299)


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
    path = _events_file(tmp_path)
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
        assert len(inserts) == 3, "3000 rows: 1,024 + 1,024 + 952 (72 repeats)"
        assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
        broken = _event_rows(["e", "f"])
        broken[1] = tuple(
            None if name == "body" else v for name, v in zip(EVENT_COLUMNS, broken[1], strict=True)
        )
        with pytest.raises(sqlite3.IntegrityError):
            await inserter.insert(broken)
        nan_ts = _event_rows(["e", "f"])
        nan_ts[0] = tuple(
            float("nan") if name == "ts" else v
            for name, v in zip(EVENT_COLUMNS, nan_ts[0], strict=True)
        )
        with pytest.raises(sqlite3.IntegrityError):  # NaN is NULL to SQLite: not a duplicate
            await inserter.insert(nan_ts)
        assert await inserter.insert(_event_rows(["e"])) == {"e"}
        await inserter.close()

    asyncio.run(scenario())
    check = sqlite3.connect(str(path))
    assert check.execute("SELECT count(*) FROM events").fetchone() == (3005,)


def _events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.db"
    create_schema(str(path))
    return path


def test_up_to_1024_rows_are_one_statement_and_their_own_transaction(tmp_path: Path) -> None:
    """One step, so the writer thread takes the GIL back once per commit: a ``BEGIN`` and a
    ``COMMIT`` around it would be two more waits behind the busy loop."""
    inserter = SqliteInserter(str(_events_file(tmp_path)))
    statements: list[str] = []
    inserter._connect().set_trace_callback(statements.append)
    for count in (1, 3, 700, ONE_STATEMENT_ROWS):
        statements.clear()
        keys = [f"n{count}-{i}" for i in range(count)]
        assert inserter._insert(_event_rows(keys)) == set(keys)
        assert len(statements) == 1 and statements[0].startswith("INSERT"), statements[:3]
    inserter._insert(_event_rows(["a", "b", "c"]))
    statements.clear()
    assert inserter._insert(_event_rows(["b", "x", "c"])) == {"x"}
    assert statements[0].startswith("INSERT") and not any("BEGIN" in s for s in statements)


def test_new_keys_are_read_back_right_while_another_connection_inserts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-back of a one-statement batch with duplicates runs after its statement
    committed: rows another connection inserts in between (a second process on the file) are
    not taken for this batch's."""
    path = _events_file(tmp_path)
    inserter = SqliteInserter(str(path))
    other = connect_sqlite(str(path))
    original = SqliteInserter._inserted

    def racing(conn: sqlite3.Connection, rows: Any, added: int, last: int | None) -> set[str]:
        if conn.in_transaction:  # more than one statement: the write lock is still held
            return original(conn, rows, added, last)
        insert_rows(other, "INSERT INTO events (" + ", ".join(EVENT_COLUMNS) + ")",
                    _event_rows(["other-1", "other-2"]))  # fmt: skip
        return original(conn, rows, added, last)

    inserter._insert(_event_rows(["a", "b"]))
    monkeypatch.setattr(SqliteInserter, "_inserted", staticmethod(racing))
    assert inserter._insert(_event_rows(["a", "new-1", "b", "new-2"])) == {"new-1", "new-2"}
    many = [f"m{i}" for i in range(1500)]
    assert inserter._insert(_event_rows(["a", *many])) == set(many)


def test_none_is_bound_as_null_on_every_connection() -> None:
    """The adapter the module registers for None (a shortcut past the driver's adapter
    search) binds exactly what the driver binds without it: SQL NULL, on any connection."""
    assert sqlite3.adapters.get((type(None), sqlite3.PrepareProtocol)) is not None
    conn = _table(unique=True)
    insert_rows(conn, "INSERT INTO t (k, a, b)", [(1, None, 0), (2, "", None)])
    conn.execute("INSERT INTO t (k, a, b) VALUES (?, ?, ?)", (None, None, None))
    conn.executemany("INSERT INTO t (k, a, b) VALUES (?, ?, ?)", [(4, None, None)])
    types = conn.execute("SELECT typeof(k), typeof(a), typeof(b) FROM t ORDER BY seq").fetchall()
    assert types == [
        ("integer", "null", "integer"),
        ("integer", "text", "null"),
        ("null", "null", "null"),
        ("integer", "null", "null"),
    ]
    assert conn.execute("SELECT count(*) FROM t WHERE a IS NULL").fetchone() == (3,)
