"""Which batches the ingest pipeline transforms on the event loop and which in a worker thread.

Paths: :meth:`sidecar.ingest.Ingest.ingest` with the real writer on a SQLite file, and
``POST /v1/events`` over loopback HTTP: a batch within :data:`~sidecar.ingest.OFF_LOOP_EVENTS`
events and :data:`~sidecar.ingest.OFF_LOOP_BYTES` of body runs its transforms on the loop's
thread; one event more, or a body one byte over (a few events with large texts), runs them in
another thread; every batch is stored either way.
"""

from __future__ import annotations

import threading
from pathlib import Path

import aiohttp

from sidecar.events.schema import Event, ToolCall
from sidecar.ingest import OFF_LOOP_BYTES, OFF_LOOP_EVENTS, Ingest
from sidecar.store.inserters import SqliteInserter
from sidecar.store.sqlite_start import create_schema
from sidecar.store.writer import EventWriter
from tests.conftest import make_settings, start_sidecar, tool_event


class ThreadOfTransform:
    """A transform that records the thread it ran on."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def process(self, events: list[Event]) -> None:
        self.threads.append(threading.get_ident())


def _events(count: int, prefix: str) -> list[Event]:
    return [
        ToolCall(
            id=f"{prefix}-{i}", ts=1.0, request_id="r", tool="t", start_ts=1.0, duration_ms=1.0
        )
        for i in range(count)
    ]


async def test_small_batches_run_on_the_loop_and_large_ones_off_it(tmp_path: Path) -> None:
    path = str(tmp_path / "events.db")
    create_schema(path)
    writer = EventWriter(SqliteInserter(path))
    seen = ThreadOfTransform()
    ingest = Ingest(writer, transforms=[seen])
    await writer.start()
    loop_thread = threading.get_ident()
    try:
        cases = [
            (OFF_LOOP_EVENTS, OFF_LOOP_BYTES, True),
            (OFF_LOOP_EVENTS + 1, 0, False),
            (3, OFF_LOOP_BYTES + 1, False),
        ]
        for index, (count, body_bytes, on_loop) in enumerate(cases):
            result = await ingest.ingest(_events(count, f"c{index}"), body_bytes=body_bytes)
            assert result.accepted == count
            assert (seen.threads[-1] == loop_thread) is on_loop, (count, body_bytes)
    finally:
        await writer.close()


async def test_the_events_route_passes_the_body_size(tmp_path: Path) -> None:
    running, runner = await start_sidecar(make_settings(tmp_path))
    seen = ThreadOfTransform()
    running.parts.ingest._transforms.append(seen)
    loop_thread = threading.get_ident()
    large = "x" * (OFF_LOOP_BYTES // 2)  # two such results: a body over the bound
    bodies = [
        [tool_event(id="small-1"), tool_event(id="small-2")],
        [tool_event(id="large-1", result=large), tool_event(id="large-2", result=large)],
    ]
    try:
        async with aiohttp.ClientSession() as http:
            for body, on_loop in zip(bodies, (True, False), strict=True):
                async with http.post(running.url + "/v1/events", json=body) as response:
                    assert response.status == 202, await response.text()
                    assert await response.json() == {"accepted": 2, "duplicates": 0}
                assert (seen.threads[-1] == loop_thread) is on_loop
    finally:
        await runner.cleanup()
