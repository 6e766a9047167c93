"""Canaries in every identifier, path and query never reach a log, a store, a span or /metrics.

A fresh canary of every redaction type (e-mail, phone, card, SSN, IPs, IBAN, API keys, JWT,
CN phone and id, a URL with a password) is used, one after the other, as the tenant, user,
namespace, model, request, session, agent and budget id of a real ``agent-sidecar serve``
process at DEBUG with the access log on and span export to a real OTLP/HTTP receiver, over
SQLite and over PostgreSQL. Paths covered:

- ``PUT``/``DELETE /v1/budgets/{tenant,user}/<canary>`` (and ``model`` in the body and query),
  ``GET /v1/usage/...?model=<canary>``, ``GET /v1/budgets``, ``/v1/budgets/denials``;
- ``POST /v1/admit`` with canary tenant, user, model and request id, settled by its event;
- ``POST /v1/events`` (llm_call and run with canary ids), ``POST /v1/traces`` (OTLP spans with
  canaries in every gen_ai attribute);
- ``GET /v1/events``, ``/v1/aggregate``, ``/v1/runs``, ``/v1/runs/<canary>``, ``/v1/series``,
  ``/v1/stats``, ``/v1/summary`` with canaries in the query;
- ``POST /v1/cache/store`` / ``lookup`` with canary tenant, namespace, model and user, and a
  canary in the key; ``DELETE /v1/cache/<canary>?key=...``;
- ``PUT``/``GET``/``DELETE /v1/tool-policies/<canary>/<canary>`` and a tool admit of that
  tenant and agent (the policy applies);
- a path no route matches, with canaries in it and in its query.

Then the whole log, the SQLite files (``-wal`` included) and every row, every PostgreSQL table
(BYTEA columns decoded), every OTLP body the receiver got, every HTTP answer and ``/metrics``
are searched for every canary. The budgets, the cache and the filters must still work with the
raw ids (asserted on the way), so a canary cannot pass by being dropped.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import yaml
from yarl import URL

from tests.conftest import SidecarProcess
from tests.traces.receivers import HttpOtlpReceiver

from .canaries import Canary, find_leaks, make_canaries
from .drive import Seen
from .plant import Planter
from .stores import sqlite_files, sqlite_rows


class Answers(Seen):
    """Keeps each answer's status and body only: the request's own URL holds the canaries."""

    async def call(self, http: aiohttp.ClientSession, method: str, url: Any, *,
                   expect: int | None = None, record: bool = True, **kwargs: Any,
                   ) -> tuple[int, str]:  # fmt: skip
        async with http.request(method, url, **kwargs) as response:
            text = await response.text()
            headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
        self.bodies.append(f"{response.status} {headers}\n{text}")
        if expect is not None:
            assert response.status == expect, f"{method}: {response.status} {text[:300]}"
        return response.status, text


def _path(base: str, *parts: str, query: dict[str, str] | None = None) -> URL:
    """``base/part/...`` with every part percent-encoded whole (slashes included)."""
    path = "/".join(quote(p, safe="") for p in parts)
    text = f"{base}/{path}"
    if query:
        text += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    return URL(text, encoded=True)


async def _drive_one(http: aiohttp.ClientSession, url: str, c: Canary, seen: Seen) -> None:
    value = c.value
    if True:
        await seen.call(
            http,
            "PUT",
            _path(url, "v1", "budgets", "tenant", value),
            expect=200,
            json={"window": "1d", "max_tokens": 100_000},
        )
        await seen.call(
            http,
            "PUT",
            _path(url, "v1", "budgets", "tenant", value),
            expect=200,
            json={"window": "1d", "max_tokens": 50_000, "model": value},
        )
        await seen.call(
            http,
            "PUT",
            _path(url, "v1", "budgets", "user", value),
            expect=200,
            json={"window": "1d", "max_tokens": 100_000},
        )
    _, text = await seen.call(
        http,
        "POST",
        f"{url}/v1/admit",
        expect=200,
        json={
            "request_id": value,
            "user_id": value,
            "tenant": value,
            "model": value,
            "input_tokens": 100,
            "max_output_tokens": 100,
        },
    )
    grant = json.loads(text)
    assert grant["allowed"] is True
    now = time.time()
    events = [
        {
            "type": "llm_call",
            "id": uuid.uuid4().hex,
            "ts": now,
            "start_ts": now - 1,
            "duration_ms": 1000.0,
            "request_id": value,
            "user_id": value,
            "tenant": value,
            "model": value,
            "provider": value,
            "session_id": value,
            "agent": value,
            "input_tokens": 40,
            "output_tokens": 2,
            "reservation_id": grant.get("reservation_id"),
            "status": "ok",
        },
        {
            "type": "run",
            "id": uuid.uuid4().hex,
            "ts": now,
            "start_ts": now - 2,
            "duration_ms": 2000.0,
            "request_id": value,
            "user_id": value,
            "tenant": value,
            "agent": value,
            "status": "ok",
            "steps": 1,
        },
    ]
    await seen.call(http, "POST", f"{url}/v1/events", json=events, expect=202)
    if True:
        _, text = await seen.call(
            http,
            "GET",
            _path(url, "v1", "usage", "tenant", value, query={"model": value}),
            expect=200,
        )
        usage = json.loads(text)
        assert usage["tokens_used"] == 42 and usage["tokens_reserved"] == 0, usage
        await seen.call(http, "GET", _path(url, "v1", "usage", "user", value), expect=200)
    _, text = await seen.call(
        http,
        "GET",
        f"{url}/v1/events",
        expect=200,
        params={"tenant": value, "user_id": value, "model": value, "agent": value},
    )
    assert len(json.loads(text)["events"]) == 1, text[:500]
    await seen.call(
        http,
        "GET",
        f"{url}/v1/aggregate",
        expect=200,
        params={"tenant": value, "group_by": "model,user"},
    )
    await seen.call(
        http, "GET", f"{url}/v1/runs", expect=200, params={"tenant": value, "user_id": value}
    )
    status, _ = await seen.call(
        http, "GET", _path(url, "v1", "runs", value, query={"tenant": value})
    )
    assert status == 200
    await seen.call(
        http, "GET", f"{url}/v1/series", expect=200, params={"tenant": value, "user_id": value}
    )
    scope = {"tenant": value, "namespace": value, "model": value, "user_id": value}
    key = f"what is the balance of {value}"
    await seen.call(
        http,
        "POST",
        f"{url}/v1/cache/store",
        expect=200,
        json={**scope, "key": key, "value": "a plain answer"},
    )
    _, text = await seen.call(
        http, "POST", f"{url}/v1/cache/lookup", expect=200, json={**scope, "key": key}
    )
    assert json.loads(text)["hit"] is True, text
    if True:
        _, text = await seen.call(
            http,
            "DELETE",
            _path(
                url,
                "v1",
                "cache",
                value,
                query={"tenant": value, "model": value, "user_id": value, "key": key},
            ),
            expect=200,
        )
        assert json.loads(text)["removed"] == 1, text
        await seen.call(
            http,
            "POST",
            f"{url}/v1/cache/store",
            expect=200,
            json={**scope, "key": f"kept: {value}", "value": "a plain answer"},
        )
        await seen.call(
            http,
            "DELETE",
            _path(url, "v1", "budgets", "tenant", value, query={"model": value}),
            expect=200,
        )
    policy = {"rules": [{"tool": "web_search", "action": "deny"}]}
    tool_policy = _path(url, "v1", "tool-policies", value, value)
    await seen.call(http, "PUT", tool_policy, json=policy, expect=200)
    status, _ = await seen.call(http, "POST", f"{url}/v1/admit", json={
        "request_id": f"{value} tools", "kind": "tool", "tool": "web_search", "tenant": value,
        "agent": value, "user_id": value})  # fmt: skip
    assert status == 403, "the tool policy keyed by the pseudonym applies to the raw ids"
    await seen.call(http, "GET", tool_policy, expect=200)
    await seen.call(http, "DELETE", tool_policy, expect=200)
    status, _ = await seen.call(
        http, "GET", _path(url, "v1", "nothing", value, value, query={value: value, "q": value})
    )
    assert status == 404


async def _drive(url: str, canaries: list[Canary]) -> tuple[Seen, int]:
    seen = Answers()
    async with aiohttp.ClientSession() as http:
        for canary in canaries:
            await _drive_one(http, url, canary, seen)
        body, spans = Planter().otlp_request(canaries)
        await seen.call(
            http,
            "POST",
            f"{url}/v1/traces",
            data=body,
            expect=200,
            headers={"Content-Type": "application/x-protobuf"},
        )
        for path in ("/v1/budgets", "/v1/budgets/denials", "/v1/summary", "/metrics"):
            await seen.call(http, "GET", url + path, expect=200)
        await seen.call(
            http,
            "GET",
            f"{url}/v1/stats",
            expect=200,
            params={"window": "all", "group_by": "model,agent"},
        )
    return seen, 2 * len(canaries) + spans


def _config(tmp_path: Path, receiver: HttpOtlpReceiver) -> Path:
    path = tmp_path / "sidecar.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "log_level": "DEBUG",
                "logging": {"access_log": True},
                "capture_content": True,
                "traces": {
                    "enabled": True,
                    "protocol": "http/protobuf",
                    "endpoint": receiver.endpoint,
                    "schedule_delay_ms": 50,
                    "timeout_s": 20,
                },
            }
        )
    )
    return path


async def _postgres_everything(dsn: str) -> str:
    """Every value of every table, BYTEA decoded as UTF-8 (cache keys are BYTEA)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'"
        )
        out: list[str] = []
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            for row in await conn.fetch(f"SELECT * FROM {name}"):
                out.append(
                    name
                    + ": "
                    + " | ".join(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in row.values()
                    )
                )
        return "\n".join(out)
    finally:
        await conn.close()


def _assert_clean(where: str, data: bytes | str, canaries: list[Canary]) -> None:
    leaks = find_leaks(data, canaries)
    assert not leaks, f"canaries reached {where}: {leaks}"


async def _run(tmp_path: Path, db_url: str, receiver: HttpOtlpReceiver) -> None:
    canaries = make_canaries()
    process = SidecarProcess(db_url, env={"SIDECAR_CONFIG": str(_config(tmp_path, receiver))})
    process.start()
    try:
        seen, exported = await _drive(process.url, canaries)
        await asyncio.to_thread(receiver.wait_for, lambda s: len(s) >= exported, 30)
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.send_signal(signal.SIGTERM)
            process.proc.wait(15)
        process.stop()

    assert "DEBUG" in process.log and "PUT /v1/budgets/tenant/[ID:" in process.log
    _assert_clean("the log output", process.log, canaries)
    _assert_clean("an HTTP answer or /metrics", seen.text, canaries)
    assert "agent_sidecar_state_evictions_total" in seen.text
    assert receiver.raw_bodies
    for body in receiver.raw_bodies:
        _assert_clean("an OTLP payload", body, canaries)
    if db_url.startswith("sqlite"):
        db = Path(db_url.split("///", 1)[1])
        rows = sqlite_rows(db)
        assert "[ID:" in rows and "a plain answer" in rows
        _assert_clean("the SQLite rows", rows, canaries)
        _assert_clean("the SQLite files", sqlite_files(db), canaries)
    else:
        rows = await _postgres_everything(db_url.replace("postgresql+asyncpg://", "postgresql://"))
        assert "[ID:" in rows and "a plain answer" in rows
        _assert_clean("the PostgreSQL tables", rows, canaries)


async def test_no_canary_in_ids_paths_or_queries_leaks_on_sqlite(
    tmp_path: Path, http_receiver: HttpOtlpReceiver
) -> None:
    await _run(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}", http_receiver)


async def test_no_canary_in_ids_paths_or_queries_leaks_on_postgresql(
    tmp_path: Path, http_receiver: HttpOtlpReceiver, pg_url: str
) -> None:
    await _run(tmp_path, pg_url, http_receiver)
