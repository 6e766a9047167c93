"""Acknowledged means durable: kill -9 mid-stream loses no acknowledged event; SIGTERM drains.

A client thread sends batches to a sidecar child process and records every id answered 202.
The sidecar is killed with SIGKILL while batches are in flight, restarted on the same database,
and every acknowledged id must be there exactly once.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import threading
import uuid
from pathlib import Path

import msgspec
import pytest

from tests.conftest import SidecarProcess, llm_event


class BatchSender(threading.Thread):
    """Sends batches until the connection fails; records the ids of every 202."""

    def __init__(self, port: int, *, batch: int = 200, signal_after: int = 2000) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.batch = batch
        self.acked: list[str] = []
        self.enough = threading.Event()
        self.signal_after = signal_after
        self.stop = threading.Event()
        self.last_body = b""

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            while not self.stop.is_set():
                events = [llm_event(id=uuid.uuid4().hex) for _ in range(self.batch)]
                body = b"\n".join(msgspec.json.encode(e) for e in events)
                conn.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
                response = conn.getresponse()
                response.read()
                if response.status == 202:
                    self.acked += [e["id"] for e in events]
                    self.last_body = body
                if len(self.acked) >= self.signal_after:
                    self.enough.set()
        except (OSError, http.client.HTTPException):
            pass  # the sidecar died under us: that is the point of the test
        finally:
            self.enough.set()
            conn.close()


async def _stored_ids(db_url: str) -> list[str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            return [row[0] for row in await conn.execute(text("SELECT id FROM events"))]
    finally:
        await engine.dispose()


def stored_ids(db_url: str) -> list[str]:
    return asyncio.run(_stored_ids(db_url))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_kill_9_mid_stream_loses_no_acknowledged_event(db_url: str) -> None:
    sidecar = SidecarProcess(db_url).start()
    senders = [BatchSender(sidecar.port, signal_after=1500) for _ in range(3)]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            assert sender.enough.wait(60), "no batches acknowledged"
        assert sidecar.proc is not None
        os.kill(sidecar.proc.pid, signal.SIGKILL)
        sidecar.proc.wait(10)
        for sender in senders:
            sender.join(20)
    finally:
        sidecar.stop()
    acked = [event_id for sender in senders for event_id in sender.acked]
    assert len(acked) >= 4500

    restarted = SidecarProcess(db_url).start()
    try:
        ids = stored_ids(db_url)
        assert len(ids) == len(set(ids)), "an event was stored twice"
        missing = set(acked) - set(ids)
        assert not missing, f"{len(missing)} acknowledged events lost"
        conn = http.client.HTTPConnection("127.0.0.1", restarted.port, timeout=10)
        conn.request(
            "POST", "/v1/events", senders[0].last_body, {"Content-Type": "application/x-ndjson"}
        )
        response = conn.getresponse()
        assert response.status == 202
        assert msgspec.json.decode(response.read()) == {"accepted": 0, "duplicates": 200}
        conn.close()
    finally:
        restarted.stop()


def test_sigterm_answers_in_flight_requests_flushes_and_exits_0(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'term.db'}"
    sidecar = SidecarProcess(db_url).start()
    senders = [BatchSender(sidecar.port, signal_after=600) for _ in range(2)]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            assert sender.enough.wait(60)
        assert sidecar.proc is not None
        sidecar.proc.send_signal(signal.SIGTERM)
        assert sidecar.proc.wait(10) == 0, sidecar.log
        for sender in senders:
            sender.join(20)
    finally:
        sidecar.stop()
    assert "agent-sidecar stopped" in sidecar.log
    acked = {event_id for sender in senders for event_id in sender.acked}
    assert acked <= set(stored_ids(db_url))
