"""The ten ways a budget was overspent or lost, each over HTTP against real sidecars.

1. a policy PUT/lowered/DELETEd on one of three ``serve`` processes on PostgreSQL binds the
   others at once (``PUT``/``DELETE /v1/budgets``, ``GET /v1/budgets``, ``POST /v1/admit``);
2. the SDK pattern ``run.admit_llm`` + ``wrap_openai`` settles its reservation (SDK →
   ``/v1/admit``, ``/v1/events``; real ``openai`` client, fake provider on loopback);
3. ``POST /v1/budgets/settle`` without ``cost_usd`` prices the tokens, and the later priced
   ``llm_call`` of the same call charges nothing more;
4. a user id holding PII keeps one budget across a restart (SQLite ``serve``) and across two
   replicas on PostgreSQL (the pseudonym key is kept in the database);
5. hostile amounts (``cost_usd`` 1e9, 1e308) neither overflow nor stop the journal; a 422 names
   the field; a victim's reservation survives kill -9; the same on PostgreSQL;
6. an admit the store cannot take fails alone (422), never the admits batched with it;
7. a journal that cannot write (a full disk) says so in ``/health`` and ``/ready``, retries,
   and persists what it granted meanwhile; SIGTERM exits within 10 s in that state;
8. an event stored without its settle (a crash between the two) settles when resent (SQLite and
   PostgreSQL), and an acknowledged event's settle survives kill -9;
9. ``retry_after_s`` is the hold expiry when holds block, the window reset when used tokens do;
10. a reservation belongs to its tenant: another tenant's retagged settle is refused exactly as
    an unknown id is, and the owner's settle still counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from sidecar.api.tenancy import TAG_SEPARATOR, tenant_tag
from sidecar.budgets.testclock import ENV as CLOCK_ENV
from sidecar.config import load_settings
from sidecar.events.decode import decode_events
from sidecar.pricing import EventPricer, PriceTable
from sidecar.store import event_row, open_event_store
from tests.conftest import SidecarProcess, llm_event, make_settings, start_sidecar
from tests.hardening.tenants import ADMIN, bearer, tenant_sidecar

T0 = 1_741_608_000.0  # 2025-03-10T12:00:00Z


async def call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None,
               token: str | None = None) -> tuple[int, Any]:  # fmt: skip
    headers = bearer(token) if token else {}
    async with http.request(method, url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


def admit_body(user: str, tokens: int, **fields: Any) -> dict[str, Any]:
    return {"request_id": uuid.uuid4().hex, "user_id": user, "model": "gpt-4o",
            "input_tokens": tokens, "max_output_tokens": 0, **fields}  # fmt: skip


def fresh_connections() -> aiohttp.ClientSession:
    """A session that never reuses a connection (the sidecar behind a port may be restarted)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def store_directly(db_url: str, event: dict[str, Any]) -> None:
    """Commit ``event`` to the events table as ingest would, without charging it: the state a
    crash right after the event's commit leaves behind."""
    settings = load_settings(env={}, overrides={"db_url": db_url})
    [decoded] = decode_events(json.dumps(event).encode(), "application/json").events
    EventPricer(PriceTable.load()).process([decoded])
    async with open_event_store(settings.db_url, settings.store) as store:
        assert await store.writer.write([event_row(decoded)])


# -- 1 -----------------------------------------------------------------------------------------


async def test_1_a_policy_put_on_one_replica_binds_the_others_at_once(pg_url: str) -> None:
    sidecars = [SidecarProcess(pg_url).start() for _ in range(3)]
    try:
        async with aiohttp.ClientSession() as http:
            a, b, c = (s.url for s in sidecars)
            put = {"window": "1d", "max_tokens": 100_000}
            assert (await call(http, "PUT", a + "/v1/budgets/user/u", put))[0] == 200
            answers = await asyncio.gather(*[
                call(http, "POST", sidecars[n % 3].url + "/v1/admit", admit_body("u", 1000))
                for n in range(300)
            ])  # fmt: skip
            assert sum(status == 200 for status, _ in answers) == 100
            for url in (b, c):
                _, listed = await call(http, "GET", url + "/v1/budgets")
                assert [(p["scope"], p["id"]) for p in listed["policies"]] == [("user", "u")]

            # Lowered on one replica: the next admits anywhere are decided under the new cap.
            assert (await call(http, "PUT", a + "/v1/budgets/user/v", put))[0] == 200
            lower = {"window": "1d", "max_tokens": 10_000}
            assert (await call(http, "PUT", b + "/v1/budgets/user/v", lower))[0] == 200
            answers = await asyncio.gather(*[
                call(http, "POST", sidecars[n % 3].url + "/v1/admit", admit_body("v", 1000))
                for n in range(30)
            ])  # fmt: skip
            assert sum(status == 200 for status, _ in answers) == 10

            # Deleted on one replica: no budget applies anywhere, nothing is reserved.
            assert (await call(http, "DELETE", c + "/v1/budgets/user/v"))[0] == 200
            for url in (a, b):
                status, answer = await call(http, "POST", url + "/v1/admit", admit_body("v", 1))
                assert status == 200 and "reservation_id" not in answer
    finally:
        for s in sidecars:
            s.stop()


# -- 2 -----------------------------------------------------------------------------------------


async def test_2_admit_llm_then_wrap_openai_settles_the_reservation(tmp_path: Path) -> None:
    from openai import AsyncOpenAI

    from runtime import SidecarClient, wrap_openai
    from tests.runtime.fake_openai import FakeOpenAI

    provider = await FakeOpenAI().start()
    budget = {"policies": [{"scope": "user", "id": "*", "window": "1d", "max_tokens": 3000}]}
    running, runner = await start_sidecar(make_settings(tmp_path, budgets=budget))
    try:
        async with SidecarClient(running.url, flush_interval_s=0.05) as sidecar:
            client = wrap_openai(AsyncOpenAI(base_url=provider.url, api_key="sk-test"), sidecar)
            for _ in range(4):  # holds alone (1,312 each) used to deny the third run
                async with sidecar.run(user_id="u-42") as run:
                    await run.admit_llm("gpt-4o", input_tokens=800, max_output_tokens=512)
                    reply = await client.chat.completions.create(
                        model="gpt-4o",
                        messages=[{"role": "user", "content": "refunds?"}],
                        stream=True,
                    )
                    async for _chunk in reply:
                        pass
                    await client.chat.completions.create(  # a second call: charged directly
                        model="gpt-4o", messages=[{"role": "user", "content": "and?"}]
                    )
                await sidecar.flush()
        async with aiohttp.ClientSession() as http:
            _, usage = await call(http, "GET", running.url + "/v1/usage/user/u-42")
        stats = running.parts.ledger.stats()  # type: ignore[union-attr]
        assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, provider.tokens)
        assert (stats["settles"], stats["charged_direct"], stats["expired"]) == (4, 4, 0)
    finally:
        await runner.cleanup()
        await provider.close()


# -- 3 -----------------------------------------------------------------------------------------


async def test_3_a_settle_without_cost_is_priced_and_counted_once(tmp_path: Path) -> None:
    budget = {"policies": [{"scope": "tenant", "id": "acme", "window": "1d", "max_cost_usd": 1.0}]}
    running, runner = await start_sidecar(make_settings(tmp_path, budgets=budget))
    url = running.url
    per_call = (1000 * 2.5 + 500 * 10.0) / 1e6  # gpt-4o: $0.0075
    try:
        async with aiohttp.ClientSession() as http:
            granted = 0
            for _ in range(150):
                body = admit_body("u", 1000, tenant="acme", max_output_tokens=500)
                status, answer = await call(http, "POST", url + "/v1/admit", body)
                if status != 200:
                    continue
                granted += 1
                rid = answer["reservation_id"]
                settle = {"reservation_id": rid, "input_tokens": 1000, "output_tokens": 500}
                assert (await call(http, "POST", url + "/v1/budgets/settle", settle))[1] == {
                    "settled": True}  # fmt: skip
                event = llm_event(tenant="acme", user_id="u", reservation_id=rid,
                                  input_tokens=1000, output_tokens=500)  # fmt: skip
                assert (await call(http, "POST", url + "/v1/events", event))[0] == 202
            _, usage = await call(http, "GET", url + "/v1/usage/tenant/acme")
        assert granted == 133  # $1 / $0.0075
        assert usage["cost_usd"] == pytest.approx(133 * per_call)
        assert usage["cost_usd"] <= 1.0 and usage["tokens_reserved"] == 0
    finally:
        await runner.cleanup()


# -- 4 -----------------------------------------------------------------------------------------

PII_USER = "alice@example.com"
USER_CAP = "[{scope: user, id: '*', window: 1d, max_tokens: 100000}]"


async def test_4_a_pii_user_keeps_one_budget_across_restarts_and_replicas(
    tmp_path: Path, pg_url: str
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"
    env = {"SIDECAR_BUDGETS__POLICIES": USER_CAP}
    async with fresh_connections() as http:
        sidecar = SidecarProcess(db, env=env).start()
        try:
            for _ in range(4):
                status, _ = await call(http, "POST", sidecar.url + "/v1/admit",
                                       admit_body(PII_USER, 25_000))  # fmt: skip
                assert status == 200
            named = {"window": "1d", "max_tokens": 200_000}
            assert (await call(http, "PUT", sidecar.url + f"/v1/budgets/user/{PII_USER}",
                               named))[0] == 200  # fmt: skip
            assert (await call(http, "PUT", sidecar.url + f"/v1/budgets/user/{PII_USER}",
                               {"window": "1d", "max_tokens": 100_000}))[0] == 200  # fmt: skip
            sidecar.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            sidecar.proc.wait(15)  # type: ignore[union-attr]
            sidecar.start()
            status, answer = await call(http, "POST", sidecar.url + "/v1/admit",
                                        admit_body(PII_USER, 25_000))  # fmt: skip
            assert status == 429, answer
            _, usage = await call(http, "GET", sidecar.url + f"/v1/usage/user/{PII_USER}")
            assert usage["tokens_reserved"] == 100_000
        finally:
            sidecar.stop()

        replicas = [SidecarProcess(pg_url, env=env).start() for _ in range(2)]
        try:
            answers = await asyncio.gather(*[
                call(http, "POST", replicas[n % 2].url + "/v1/admit", admit_body(PII_USER, 25_000))
                for n in range(8)
            ])  # fmt: skip
            assert sum(status == 200 for status, _ in answers) == 4
        finally:
            for r in replicas:
                r.stop()


# -- 5 -----------------------------------------------------------------------------------------


def journaled(path: Path, rid: str) -> bool:
    """Whether the in-process ledger's journal in ``path`` has committed reservation ``rid``."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return bool(conn.execute("SELECT 1 FROM budget_reservations WHERE rid = ?", (rid,))
                    .fetchone())  # fmt: skip
    finally:
        conn.close()


async def _hostile_settles(http: aiohttp.ClientSession, url: str, n: int = 12) -> None:
    for _ in range(n):
        status, answer = await call(http, "POST", url + "/v1/admit", admit_body("attacker", 1))
        assert status == 200, answer
        settle = {"reservation_id": answer["reservation_id"], "input_tokens": 1,
                  "cost_usd": 1e9}  # fmt: skip
        assert await call(http, "POST", url + "/v1/budgets/settle", settle) == (
            200, {"settled": True})  # fmt: skip


async def test_5_hostile_amounts_never_overflow_nor_stop_the_journal(
    tmp_path: Path, pg_url: str
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"
    env = {"SIDECAR_BUDGETS__POLICIES": USER_CAP}
    sidecar = SidecarProcess(db, env=env).start()
    try:
        async with fresh_connections() as http:
            url = sidecar.url
            await _hostile_settles(http, url)  # 12 x 10^18 nano-USD on one counter
            status, grant = await call(http, "POST", url + "/v1/admit", admit_body("v", 90_000))
            assert status == 200

            async def persisted() -> bool:
                _, health = await call(http, "GET", url + "/health")
                b = health["budgets"]
                ok = health["healthy"] and b.get("persisting", True) and b["journal_errors"] == 0
                return bool(ok and journaled(tmp_path / "sidecar.db", grant["reservation_id"]))

            await wait_for(persisted, what="the journal to persist the victim's hold")
            sidecar.stop()  # kill -9
            sidecar.start()
            status, _ = await call(http, "POST", url + "/v1/admit", admit_body("v", 20_000))
            assert status == 429  # the victim's 90,000-token hold survived
            for body, field in (
                ({"reservation_id": "rsv_x", "input_tokens": 1, "cost_usd": 1e308}, "cost_usd"),
                ({"reservation_id": "rsv_x", "input_tokens": 2**63}, "input_tokens"),
            ):
                status, answer = await call(http, "POST", url + "/v1/budgets/settle", body)
                assert (status, answer["error"]["field"]) == (422, field)
            status, answer = await call(http, "POST", url + "/v1/events",
                                        llm_event(cost_usd=1e308))  # fmt: skip
            assert status == 422 and "cost_usd" in answer["error"]["field"]
            started = time.monotonic()
            sidecar.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            assert sidecar.proc.wait(10) == 0  # type: ignore[union-attr]
            assert time.monotonic() - started < 10
    finally:
        sidecar.stop()
    replica = SidecarProcess(pg_url, env=env).start()
    try:
        async with aiohttp.ClientSession() as http:
            await _hostile_settles(http, replica.url)
            _, usage = await call(http, "GET", replica.url + "/v1/usage/user/attacker")
            assert usage["cost_usd"] == pytest.approx(2**61 / 1e9)  # saturated, not wrapped
            status, answer = await call(http, "POST", replica.url + "/v1/admit",
                                        admit_body("v", 1000))  # fmt: skip
            assert status == 200 and answer["reservation_id"]
            _, report = await call(http, "GET", replica.url + "/v1/budgets/consistency")
            assert report["ok"], report
    finally:
        replica.stop()


# -- 6 -----------------------------------------------------------------------------------------


async def test_6_an_admit_the_store_cannot_take_fails_alone(pg_url: str) -> None:
    sidecar = SidecarProcess(pg_url, env={"SIDECAR_BUDGETS__POLICIES": USER_CAP}).start()
    try:
        async with aiohttp.ClientSession() as http:
            url = sidecar.url + "/v1/admit"
            assert (await call(http, "POST", url, admit_body("victim", 100_000)))[0] == 200
            for _ in range(3):
                answers = await asyncio.gather(
                    *[call(http, "POST", url, admit_body("victim", 1000)) for _ in range(15)],
                    call(http, "POST", url, admit_body("bad\u0000id", 1)),
                    *[call(http, "POST", url, admit_body("victim", 1000)) for _ in range(15)],
                )
                victims = answers[:15] + answers[16:]
                assert {status for status, _ in victims} == {429}, victims
                assert {a["reason"] for _, a in victims} == {"token_budget_exceeded"}
                bad_status, bad = answers[15]
                assert (bad_status, bad["error"]["field"]) == (422, "user_id")
    finally:
        sidecar.stop()


# -- 7 -----------------------------------------------------------------------------------------


async def test_7_a_journal_that_cannot_write_says_so_retries_and_persists(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"
    sidecar = SidecarProcess(db, env={"SIDECAR_BUDGETS__POLICIES": USER_CAP}).start()
    try:
        async with fresh_connections() as http:
            url = sidecar.url
            assert (await call(http, "POST", url + "/v1/admit", admit_body("u", 30_000)))[0] == 200
            await wait_for(lambda: _persisting(http, url, True), what="the first write")
            proc = psutil.Process(sidecar.proc.pid)  # type: ignore[union-attr]
            proc.rlimit(psutil.RLIMIT_FSIZE, (4096, psutil.RLIM_INFINITY))  # the disk is full
            status, answer = await call(http, "POST", url + "/v1/admit", admit_body("u", 70_000))
            assert status == 200 and answer["reservation_id"]
            await wait_for(lambda: _persisting(http, url, False), what="the failure to show")
            status, answer = await call(http, "POST", url + "/v1/admit", admit_body("x", 1))
            assert status == 200 and answer["degraded"] is True  # fail_open: decided exactly
            for probe in ("/health", "/ready"):
                status, body = await call(http, "GET", url + probe)
                assert status == 503 and "cannot persist" in body["budgets"]["reason"]
            status, _ = await call(http, "POST", url + "/v1/admit", admit_body("u", 1))
            assert status == 429  # still exact in memory
            proc.rlimit(psutil.RLIMIT_FSIZE, (psutil.RLIM_INFINITY, psutil.RLIM_INFINITY))
            await wait_for(lambda: _persisting(http, url, True), what="the retry to succeed")
            sidecar.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            assert sidecar.proc.wait(10) == 0  # type: ignore[union-attr]
            sidecar.start()
            _, usage = await call(http, "GET", url + "/v1/usage/user/u")
            assert usage["tokens_reserved"] == 100_000  # the hold granted during the outage
            status, _ = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
            assert status == 429

            # SIGTERM while the journal cannot write still exits within 10 s.
            psutil.Process(sidecar.proc.pid).rlimit(  # type: ignore[union-attr]
                psutil.RLIMIT_FSIZE, (4096, psutil.RLIM_INFINITY))  # fmt: skip
            await call(http, "POST", url + "/v1/admit", admit_body("w", 10))
            await wait_for(lambda: _persisting(http, url, False), what="the failure to show")
            started = time.monotonic()
            sidecar.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            sidecar.proc.wait(10)  # type: ignore[union-attr]
            assert time.monotonic() - started < 10
    finally:
        sidecar.stop()


async def _persisting(http: aiohttp.ClientSession, url: str, expected: bool) -> bool:
    status, health = await call(http, "GET", url + "/health")
    persisting = status == 200 and health["budgets"].get("persisting", True)
    return bool(persisting is expected)


# -- 8 -----------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"


async def test_8_an_event_stored_without_its_settle_settles_when_resent(store_url: str) -> None:
    db = store_url
    # A long group-commit interval: nothing but the wait for durability persists a settle.
    env = {"SIDECAR_BUDGETS__POLICIES": USER_CAP, "SIDECAR_BUDGETS__FLUSH_INTERVAL_S": "5"}
    sidecar = SidecarProcess(db, env=env).start()
    try:
        async with fresh_connections() as http:
            url = sidecar.url
            _, grant = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
            event = llm_event(user_id="u", reservation_id=grant["reservation_id"],
                              input_tokens=300, output_tokens=100)  # fmt: skip
            await store_directly(db, event)  # committed; the sidecar died before settling
            assert await call(http, "POST", url + "/v1/events", event) == (
                202, {"accepted": 0, "duplicates": 1})  # fmt: skip
            _, usage = await call(http, "GET", url + "/v1/usage/user/u")
            assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, 400)

            # Acknowledged, then kill -9 at once: the settle is durable before the 202.
            _, grant = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
            event = llm_event(user_id="u", reservation_id=grant["reservation_id"],
                              input_tokens=200, output_tokens=50)  # fmt: skip
            assert (await call(http, "POST", url + "/v1/events", event))[0] == 202
            sidecar.stop()
            sidecar.start()
            _, usage = await call(http, "GET", url + "/v1/usage/user/u")
            assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, 650)
            assert await call(http, "POST", url + "/v1/events", event) == (
                202, {"accepted": 0, "duplicates": 1})  # fmt: skip
            _, usage = await call(http, "GET", url + "/v1/usage/user/u")
            assert usage["tokens_used"] == 650  # resent: charged once
    finally:
        sidecar.stop()


# -- 9 -----------------------------------------------------------------------------------------


async def test_9_retry_after_is_the_hold_expiry_or_the_window_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = tmp_path / "clock"
    clock.write_text(repr(T0))
    monkeypatch.setenv(CLOCK_ENV, str(clock))
    budget = {"policies": [{"scope": "user", "id": "*", "window": "1d", "max_tokens": 100_000}]}
    running, runner = await start_sidecar(make_settings(tmp_path, budgets=budget))
    try:
        async with aiohttp.ClientSession() as http:
            url = running.url
            rids = []
            for _ in range(100):
                _, grant = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
                rids.append(grant["reservation_id"])
            status, denied = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
            assert status == 429 and denied["retry_after_s"] == pytest.approx(300.0)
            clock.write_text(repr(T0 + 120))
            _, denied = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
            assert denied["retry_after_s"] == pytest.approx(180.0)
            for rid in rids:  # used now blocks: only the next day frees it
                settle = {"reservation_id": rid, "input_tokens": 1000}
                assert (await call(http, "POST", url + "/v1/budgets/settle", settle))[0] == 200
            _, denied = await call(http, "POST", url + "/v1/admit", admit_body("u", 1000))
            assert denied["retry_after_s"] == pytest.approx(12 * 3600 - 120)
    finally:
        await runner.cleanup()


# -- 10 ----------------------------------------------------------------------------------------


async def test_10_a_reservation_belongs_to_its_tenant(tmp_path: Path) -> None:
    async with tenant_sidecar(tmp_path) as sc, aiohttp.ClientSession() as http:
        url = sc.url
        budget = {"window": "1d", "max_tokens": 10_000}
        assert (await call(http, "PUT", url + "/v1/budgets/tenant/a", budget, ADMIN))[0] == 200
        _, grant = await call(http, "POST", url + "/v1/admit", admit_body("u-1", 2000), "a-agent")
        base = grant["reservation_id"].rpartition(TAG_SEPARATOR)[0]
        retagged = f"{base}{TAG_SEPARATOR}{tenant_tag('b')}"
        unknown = f"rsv_{'0' * 24}{TAG_SEPARATOR}{tenant_tag('b')}"
        settle = "/v1/budgets/settle"
        foreign = await call(
            http, "POST", url + settle, {"reservation_id": retagged, "input_tokens": 0}, "b-agent"
        )
        assert foreign == await call(
            http, "POST", url + settle, {"reservation_id": unknown, "input_tokens": 0}, "b-agent"
        )
        assert foreign == (200, {"settled": False})
        event = llm_event(reservation_id=retagged, input_tokens=0, output_tokens=0)
        assert (await call(http, "POST", url + "/v1/events", event, "b-agent"))[0] == 202
        _, usage = await call(http, "GET", url + "/v1/usage/tenant/a", token="a-reader")
        assert usage["tokens_reserved"] == 2000
        assert await call(http, "POST", url + settle, {
            "reservation_id": grant["reservation_id"], "input_tokens": 700}, "a-agent") == (
            200, {"settled": True})  # fmt: skip
        _, usage = await call(http, "GET", url + "/v1/usage/tenant/a", token="a-reader")
        assert (usage["tokens_reserved"], usage["tokens_used"]) == (0, 700)


def test_cases_cover_one_to_ten() -> None:
    names = [n for n in globals() if n.startswith("test_") and n[5:].split("_")[0].isdigit()]
    assert sorted(int(n[5:].split("_")[0]) for n in names) == list(range(1, 11))
    assert os.environ.get(CLOCK_ENV) is None  # the test clock never leaks into other tests
