"""The batch check of store rows finds exactly what the row-by-row check finds.

Paths: :func:`sidecar.store.rows.first_problem` (the writer's check of every batch, in C column
by column) against :func:`sidecar.store.rows.row_problem` row by row, on batches of rows with
hostile values in every text column and the key: U+0000 and the other control characters,
U+007F, values one past their column's length, non-text values, Chinese text and empty strings;
and through the writer (:class:`sidecar.store.writer.EventWriter`), which refuses such a batch
with the column named.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.store.columns import EVENT_COLUMNS, KEY_CHARS, TEXT_LENGTHS
from sidecar.store.errors import RowsRefused
from sidecar.store.inserters import SqliteInserter
from sidecar.store.rows import Row, first_problem, row_problem
from sidecar.store.sqlite_start import create_schema
from sidecar.store.writer import EventWriter


def _row(index: int, **values: object) -> Row:
    base: dict[str, object] = {name: None for name in EVENT_COLUMNS}
    base.update(id=f"key-{index}", type="llm_call", ts=1.0, request_id="r", user_id="u",
                model="gpt-4o", body="{}")  # fmt: skip
    base.update(values)
    return tuple(base[name] for name in EVENT_COLUMNS)


def _bad_value(column: str) -> st.SearchStrategy[object]:
    length = KEY_CHARS if column == "id" else TEXT_LENGTHS[column]
    return st.one_of(
        st.sampled_from(["\x00", "a\x01b", "\x1f", "tab\there", "\x7f", "ok", "", "登录", "é"]),
        st.just("x" * length),
        st.just("x" * (length + 1)),
        st.just("登" * (length + 1)),
        st.integers(0, 3),
        st.none(),
    )


_COLUMNS = ["id", *TEXT_LENGTHS]
_CHANGES = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from(_COLUMNS)).flatmap(
        lambda at: st.tuples(st.just(at[0]), st.just(at[1]), _bad_value(at[1]))
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 31), changes=_CHANGES)
def test_the_batch_check_finds_what_the_row_by_row_check_finds(
    size: int, changes: list[tuple[int, str, object]]
) -> None:
    rows = [_row(i) for i in range(size)]
    for index, column, value in changes:
        if index < size and not (column == "id" and value is None):
            row = list(rows[index])
            row[EVENT_COLUMNS.index(column)] = value
            rows[index] = tuple(row)
    expected = next((p for p in map(row_problem, rows) if p is not None), None)
    assert first_problem(rows) == expected


def test_a_clean_batch_has_no_problem_and_an_empty_one_neither() -> None:
    assert first_problem([_row(i, user_id="用户-7", agent="客服") for i in range(500)]) is None
    assert first_problem([]) is None


def test_the_writer_refuses_a_batch_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    create_schema(str(path))

    async def scenario() -> None:
        writer = EventWriter(SqliteInserter(str(path)))
        await writer.start()
        rows = [_row(i) for i in range(600)]
        rows[417] = _row(417, session_id="s\x00")
        with pytest.raises(RowsRefused) as refused:
            await writer.write(rows)
        assert refused.value.field == "session_id"
        assert await writer.write([_row(i) for i in range(3)]) == {"key-0", "key-1", "key-2"}
        await writer.close()

    asyncio.run(scenario())
