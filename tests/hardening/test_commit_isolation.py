"""One client's bad rows never fail another client's commit, on SQLite and PostgreSQL.

Paths: ``POST /v1/events`` over real HTTP (a client sending U+0000 in ``model`` every 50 ms while
clean clients post: the bad batches get 422, no clean batch gets 503), and the group-committing
writer itself over the real inserters (rows that skip the API's checks and that the database
refuses: an integer of 2^63 in a BIGINT column, U+0000 in a text column, no value or NaN in a
NOT NULL column: only the request holding them fails, the others of the same group are
stored), on SQLite with the groups taken in the inserter's own thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from functools import partial
from pathlib import Path

import aiohttp
import pytest

from sidecar.events.schema import LlmCall
from sidecar.store import RowsRefused, StoreConfig, create_engine, create_schema, event_row
from sidecar.store.inserters import ThreadBoundInserter, make_inserter
from sidecar.store.tables import EVENT_COLUMNS
from sidecar.store.writer import EventWriter
from tests.conftest import llm_event, make_settings, start_sidecar


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"


async def test_a_bad_batch_every_50_ms_fails_no_clean_batch(
    db_url: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = make_settings(tmp_path, db_url=db_url, budgets={"enabled": False})
    running, runner = await start_sidecar(settings)
    url = running.url + "/v1/events"
    clean: list[int] = []
    bad: list[int] = []
    stop = time.monotonic() + 3.0

    async def clean_client() -> None:
        while time.monotonic() < stop:
            batch = [llm_event() for _ in range(5)]
            async with http.post(url, json=batch) as resp:
                clean.append(resp.status)

    async def bad_client() -> None:
        while time.monotonic() < stop:
            batch = [llm_event(), llm_event(model="gpt\x00evil")]
            async with http.post(url, json=batch) as resp:
                bad.append(resp.status)
            await asyncio.sleep(0.05)  # the attacker's pace, not a synchronisation

    try:
        await asyncio.gather(bad_client(), *(clean_client() for _ in range(4)))
        async with http.get(running.url + "/health") as resp:
            assert resp.status == 200
    finally:
        await runner.cleanup()
    assert len(clean) >= 20 and len(bad) >= 10, (len(clean), len(bad))
    assert set(bad) == {422}, sorted(set(bad))
    assert clean.count(202) == len(clean), {s: clean.count(s) for s in set(clean)}


def _hold(gate: threading.Event) -> None:
    """A job that keeps the writer's thread until ``gate`` is set."""
    gate.wait()


def _row(**fields: object) -> tuple[object, ...]:
    event = LlmCall(
        id=str(fields.pop("id")), ts=1_795_000_000.0, request_id="r", model="gpt-4o",
        provider="openai", input_tokens=1, output_tokens=1, start_ts=1_795_000_000.0,
        duration_ms=1.0,
    )  # fmt: skip
    row = list(event_row(event))
    for name, value in fields.items():
        row[EVENT_COLUMNS.index(name)] = value
    return tuple(row)


async def test_rows_the_database_refuses_fail_only_their_own_request(db_url: str) -> None:
    engine = create_engine(db_url, StoreConfig())
    await create_schema(engine)
    inserter = make_inserter(engine, db_url)
    writer = EventWriter(inserter)
    await writer.start()
    refused_by_db = _row(id="bad-db", input_tokens=2**63)  # past BIGINT: the driver refuses
    bound = isinstance(inserter, ThreadBoundInserter)  # SQLite: groups taken in its thread
    try:
        no_value = (_row(id="bad-nan", ts=float("nan")), _row(id="bad-none", request_id=None))
        for bad in (refused_by_db, _row(id="bad-nul", model="gpt\x00"), *no_value):
            goods = [[_row(id=f"{bad[0]}-good-{i}-{j}") for j in range(3)] for i in range(6)]
            # All queued before the writer runs: one group holding the bad request (a thread-
            # bound writer's thread is held until every request has joined the queue).
            gate = threading.Event()
            if bound:
                assert isinstance(inserter, ThreadBoundInserter)
                inserter.submit(partial(_hold, gate))
            failures = writer.stats.failures
            tasks = [asyncio.create_task(writer.write(rows)) for rows in goods[:3]]
            tasks.append(asyncio.create_task(writer.write([_row(id=f"{bad[0]}-mixed"), bad])))
            tasks += [asyncio.create_task(writer.write(rows)) for rows in goods[3:]]
            await asyncio.sleep(0)  # each task runs up to its wait: all seven are queued
            gate.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            # The database's refusal fails the group's commit, then the request's own; U+0000
            # and a NOT NULL column without a value (NaN is NULL to SQLite, whose writer skips
            # what breaks a constraint) are refused by the writer's row check before the
            # request joins a group.
            assert writer.stats.failures == failures + (2 if bad is refused_by_db else 0)
            assert isinstance(results[3], RowsRefused), results[3]
            stored = [r for i, r in enumerate(results) if i != 3]
            assert stored == [{row[0] for row in rows} for rows in goods]
        assert await writer.write([_row(id="bad-db-mixed")]) == {"bad-db-mixed"}
    finally:
        await writer.close()
        await engine.dispose()
