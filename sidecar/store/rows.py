"""Event → row: the indexed columns plus the whole event as JSON, as a tuple in
:data:`~sidecar.store.columns.EVENT_COLUMNS` order (``id`` first).

Event ids are unique per tenant: the ``id`` column holds the event's key, its id followed by
U+001F and its tenant when it has one (:func:`event_key`). No valid id or tenant holds U+001F
(:mod:`sidecar.validation`), so two tenants' equal ids never meet, a tenantless event's key is
its id, and keys sort as their ids do (U+001F sorts before every character an id may hold).
Archives hold the plain id (:func:`key_id`). A row whose indexed text a database would refuse
is caught by :func:`row_problem` (:func:`first_problem` for a batch) before it joins a shared
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from math import isnan
from operator import itemgetter
from typing import Any

import msgspec

from sidecar.events.schema import EventBase
from sidecar.store.columns import EVENT_COLUMNS, KEY_CHARS, REQUIRED_COLUMNS, TEXT_LENGTHS
from sidecar.validation import has_control

_encode = msgspec.json.Encoder().encode

Row = tuple[Any, ...]
TENANT_SEP = "\x1f"
# (index, name, length) of each indexed text column but the key.
_TEXT_AT = tuple(
    (index, name, TEXT_LENGTHS[name])
    for index, name in enumerate(EVENT_COLUMNS)
    if name in TEXT_LENGTHS
)
# (index, name) of each NOT NULL column but the key: a row without a value there (or NaN, which
# SQLite stores as NULL) is refused here, before a commit (the SQLite writer's INSERT OR IGNORE
# would skip it as it skips a duplicate).
_REQUIRED_AT = tuple(
    (index, name) for index, name in enumerate(EVENT_COLUMNS) if name in REQUIRED_COLUMNS
)
_REQUIRED_GET = itemgetter(*(index for index, _name in _REQUIRED_AT))
_TS_GET = itemgetter(EVENT_COLUMNS.index("ts"))  # the one NOT NULL number
_REQUIRED_TEXT_GETS = tuple(itemgetter(index) for index, name in _REQUIRED_AT if name != "ts")
# (length, indexes of the text columns of that length), for the batch check.
_TEXT_BY_LENGTH = tuple(
    (length, tuple(index for index, _name, cap in _TEXT_AT if cap == length))
    for length in sorted({cap for _index, _name, cap in _TEXT_AT})
)


def event_key(tenant: str | None, event_id: str) -> str:
    """The dedup key of an event: ``(tenant, id)`` as one string."""
    return event_id if tenant is None else f"{event_id}{TENANT_SEP}{tenant}"


def key_id(key: str) -> str:
    """The event id of a key made by :func:`event_key`."""
    return key.split(TENANT_SEP, 1)[0]


def row_problem(row: Row) -> str | None:
    """The first column of ``row`` holding what no backend stores (a control character, more
    characters than the column holds, U+0000 or more than its length in the key, a missing
    value or NaN where the column is ``NOT NULL``), else None."""
    key = row[0]
    if not isinstance(key, str) or "\x00" in key or len(key) > KEY_CHARS:
        return "id"
    for index, name in _REQUIRED_AT:
        value = row[index]
        if value is None or value != value:  # NaN is stored as NULL
            return name
    for index, name, length in _TEXT_AT:
        value = row[index]
        if isinstance(value, str) and (has_control(value) or (length and len(value) > length)):
            return name
    return None


def lacks_value(rows: Sequence[Row]) -> bool:
    """Whether a row has no value (None, or NaN: SQLite stores it as NULL) in a ``NOT NULL``
    column; about 0.1 µs a row."""
    try:  # in C: a join raises on None (or any non-text), isnan on None (or any non-number)
        for text_column in _REQUIRED_TEXT_GETS:
            "".join(map(text_column, rows))
        return any(map(isnan, map(_TS_GET, rows)))
    except TypeError:  # something that is not text or not a number: look row by row
        return any(value is None or value != value for row in rows for value in _REQUIRED_GET(row))


def first_problem(rows: Sequence[Row]) -> str | None:
    """:func:`row_problem` of the first row that has one, else None, in about 0.5 µs a row.

    Column by column in C: the keys and each text column's values are joined and searched once
    (no control character can appear in a join that none of its parts holds) and their longest
    length compared with the cap. Only a batch that fails there (or holds a non-text value in a
    text column) is searched row by row, for the exact first row and column."""
    if not rows:
        return None
    columns = list(zip(*rows, strict=True))
    try:
        if lacks_value(rows):
            return _first_row_problem(rows)
        keys = "".join(columns[0])
        if "\x00" in keys or max(map(len, columns[0])) > KEY_CHARS:
            return _first_row_problem(rows)
        texts = [columns[index] for index, _name, _length in _TEXT_AT]
        if has_control("".join(filter(None, chain.from_iterable(texts)))):
            return _first_row_problem(rows)
        for length, indexes in _TEXT_BY_LENGTH:
            values = filter(None, chain.from_iterable(columns[i] for i in indexes))
            if max(map(len, values), default=0) > length:
                return _first_row_problem(rows)
    except TypeError:  # a value that is not text where text belongs
        return _first_row_problem(rows)
    return None


def _first_row_problem(rows: Sequence[Row]) -> str | None:
    for row in rows:
        problem = row_problem(row)
        if problem is not None:
            return problem
    return None


def event_row(event: EventBase) -> Row:
    """One ``events`` row. ``body`` is exactly what ``GET /v1/events`` returns."""
    get = getattr
    assert event.id is not None
    return (
        event_key(event.tenant, event.id),
        get(event, "__struct_config__").tag,
        event.ts,
        event.request_id,
        event.session_id,
        event.user_id,
        event.tenant,
        event.agent,
        get(event, "model", None),
        get(event, "provider", None),
        get(event, "tool", None),
        get(event, "status", None),
        get(event, "error_type", None),
        get(event, "input_tokens", None),
        get(event, "output_tokens", None),
        get(event, "cached_input_tokens", None),
        get(event, "cost_usd", None),
        get(event, "duration_ms", None),
        get(event, "ttft_ms", None),
        event.trace_id,
        event.span_id,
        _encode(event).decode(),
    )
