"""kill -9 at random points under mixed ingest, admit and settle: nothing acknowledged is lost,
no settle of an acknowledged event is lost, nothing is charged twice.

Paths: ``agent-sidecar serve`` on SQLite (in-process ledger and its journal) and on PostgreSQL,
killed with SIGKILL at a random moment (at least 10 times each) while 8 agents admit, post
``llm_call`` events naming their reservation, settle with ``POST /v1/budgets/settle``, and post
events naming none (charged directly). Like the SDK, an agent resends what was not acknowledged
once the sidecar is back. The agents' own record says what each user consumed: every event
(each is eventually acknowledged), plus every route settle answered ``true`` (a resent settle
whose first attempt got no answer is looked up in the sidecar's charges). At the end each user's
``tokens_used`` equals that record, every event is stored once, and ``check-consistency`` (the
command and ``GET /v1/budgets/consistency``) is clean. ``BUDGET_KILLS`` sets the kills (10).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import REPO, SidecarProcess, llm_event

KILLS = int(os.environ.get("BUDGET_KILLS", "10"))
USERS = [f"k{i}" for i in range(5)]
POLICY = "[{scope: user, id: '*', window: 1d, max_tokens: 1000000000}]"
Answer = tuple[int, Any] | None


@dataclass
class Record:
    """What the agents know: every event and settle they sent, and what was acknowledged."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    pending_events: list[list[dict[str, Any]]] = field(default_factory=list)
    settles: dict[str, dict[str, Any]] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)  # answered {"settled": true}
    unanswered: set[str] = field(default_factory=set)  # a settle attempt that got no answer
    pending_settles: list[dict[str, Any]] = field(default_factory=list)
    grants: int = 0

    def used(self, settled_by_route_resend: set[str]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for ev in self.events.values():
            out[ev["user_id"]] += ev["input_tokens"] + ev["output_tokens"]
        for rid, body in self.settles.items():
            if rid in self.settled or rid in settled_by_route_resend:
                out[body["user"]] += body["input_tokens"]
        return out


class Down(Exception):
    """The sidecar went away (it was killed)."""


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    try:
        async with http.post(url, json=body) as resp:
            return resp.status, await resp.json()
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise Down(str(exc)) from None


async def send_events(http: aiohttp.ClientSession, url: str, rec: Record,
                      batch: list[dict[str, Any]]) -> None:  # fmt: skip
    for ev in batch:
        rec.events[ev["id"]] = ev
    try:
        status, answer = await post(http, url + "/v1/events", batch)
    except Down:
        rec.pending_events.append(batch)
        raise
    if status != 202:
        rec.pending_events.append(batch)
        raise Down(f"events answered {status}: {answer}")
    assert answer["accepted"] + answer["duplicates"] == len(batch), answer
    rec.acked.update(ev["id"] for ev in batch)


async def send_settle(http: aiohttp.ClientSession, url: str, rec: Record,
                      body: dict[str, Any]) -> None:  # fmt: skip
    rid = body["reservation_id"]
    rec.settles[rid] = body
    try:
        status, answer = await post(http, url + "/v1/budgets/settle",
                                    {k: v for k, v in body.items() if k != "user"})  # fmt: skip
    except Down:
        rec.unanswered.add(rid)
        rec.pending_settles.append(body)
        raise
    if status != 200:
        rec.unanswered.add(rid)
        rec.pending_settles.append(body)
        raise Down(f"settle answered {status}: {answer}")
    if answer["settled"]:
        rec.settled.add(rid)


async def agent(http: aiohttp.ClientSession, url: str, rec: Record, rng: random.Random) -> None:
    """Admit, then settle by event or by route (one way per reservation), or charge directly;
    returns when the sidecar goes away."""
    try:
        while True:
            user = rng.choice(USERS)
            if rng.random() < 0.25:
                batch = [llm_event(user_id=user, input_tokens=rng.randint(1, 900),
                                   output_tokens=rng.randint(0, 300))
                         for _ in range(rng.choice([1, 1, 3]))]  # fmt: skip
                await send_events(http, url, rec, batch)
                continue
            status, grant = await post(http, url + "/v1/admit", {
                "request_id": uuid.uuid4().hex, "user_id": user, "model": "gpt-4o",
                "input_tokens": 500, "max_output_tokens": 500})  # fmt: skip
            assert status == 200 and grant["reservation_id"], grant
            rec.grants += 1
            rid = grant["reservation_id"]
            way = rng.random()
            if way < 0.6:
                await send_events(http, url, rec, [llm_event(
                    user_id=user, reservation_id=rid, input_tokens=rng.randint(1, 700),
                    output_tokens=rng.randint(0, 300))])  # fmt: skip
            elif way < 0.9:
                await send_settle(http, url, rec, {
                    "reservation_id": rid, "input_tokens": rng.randint(0, 1000),
                    "user": user})  # fmt: skip
    except Down:
        return


async def resend(http: aiohttp.ClientSession, url: str, rec: Record) -> None:
    """What the SDK does once the sidecar answers again: resend everything unacknowledged."""
    while rec.pending_events or rec.pending_settles:
        events, rec.pending_events = rec.pending_events, []
        settles, rec.pending_settles = rec.pending_settles, []
        for batch in events:
            await send_events(http, url, rec, batch)
        for body in settles:
            await send_settle(http, url, rec, body)


def route_settled(db_url: str, rids: set[str]) -> set[str]:
    """Of the settles that got no answer, those the sidecar applied (its charge record)."""
    sep = "\x1f"
    if db_url.startswith("sqlite"):
        path = db_url.split(":///", 1)[1]
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT charge_id FROM budget_charges").fetchall()
        except sqlite3.OperationalError:  # no charge records at all
            rows = []
        finally:
            conn.close()
        ids = {r[0] for r in rows}
    else:
        import asyncpg

        async def fetch() -> set[str]:
            conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
            try:
                if not await conn.fetchval("SELECT to_regclass('budget_charges') IS NOT NULL"):
                    return set()
                return {r[0] for r in await conn.fetch("SELECT charge_id FROM budget_charges")}
            finally:
                await conn.close()

        ids = asyncio.run(fetch())
    return {rid for rid in rids if f"settle{sep}{rid}" in ids}


async def kill_loop(db_url: str, kills: int, seed: int) -> tuple[Record, SidecarProcess]:
    rng = random.Random(seed)
    rec = Record()
    sidecar = SidecarProcess(db_url, env={"SIDECAR_BUDGETS__POLICIES": POLICY})
    timeout = aiohttp.ClientTimeout(total=10)
    for _ in range(kills):
        sidecar.start()
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await resend(http, sidecar.url, rec)
            seeds = [rng.random() for _ in range(8)]
            agents = [asyncio.create_task(agent(http, sidecar.url, rec, random.Random(s)))
                      for s in seeds]  # fmt: skip
            await asyncio.sleep(rng.uniform(0.3, 1.5))  # a random kill point, not a wait
            sidecar.stop()  # SIGKILL
            await asyncio.gather(*agents)
    sidecar.start()
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await resend(http, sidecar.url, rec)
    return rec, sidecar


async def check(db_url: str, rec: Record, sidecar: SidecarProcess) -> None:
    applied = await asyncio.to_thread(route_settled, db_url, rec.unanswered - rec.settled)
    expected = rec.used(applied)
    async with aiohttp.ClientSession() as http:
        for user in USERS:
            async with http.get(f"{sidecar.url}/v1/usage/user/{user}") as resp:
                usage = await resp.json()
            assert usage["tokens_used"] == expected[user], (user, usage, expected[user])
        async with http.get(sidecar.url + "/v1/aggregate?group_by=user") as resp:
            stored = {g["user"]: g["count"] for g in (await resp.json())["groups"]}
        per_user: dict[str, int] = defaultdict(int)
        for ev in rec.events.values():
            per_user[ev["user_id"]] += 1
        assert stored == dict(per_user)  # every event stored, once
        async with http.get(sidecar.url + "/v1/budgets/consistency") as resp:
            report = await resp.json()
        assert report["ok"], report["differences"][:5]
    assert rec.acked == set(rec.events)
    assert rec.grants > 50 * KILLS // 10
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "sidecar", "check-consistency"], cwd=REPO,
        env={**os.environ, "SIDECAR_DB_URL": db_url}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"


async def test_kill9_under_mixed_load_loses_and_doubles_nothing(db_url: str) -> None:
    rec, sidecar = await kill_loop(db_url, KILLS, seed=7 if db_url.startswith("sqlite") else 8)
    try:
        await check(db_url, rec, sidecar)
    finally:
        sidecar.stop()
