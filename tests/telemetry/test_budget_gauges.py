"""``agent_sidecar_budget_reservations_open`` is right on both ledgers.

Paths: a sidecar over loopback HTTP with budgets on SQLite (the in-process ledger) and on
PostgreSQL (the shared ledger, where the gauge counts every sidecar's open reservations at each
housekeeping round); reservations are opened with ``POST /v1/admit``, one is settled with
``POST /v1/budgets/settle`` and one by an ``llm_call`` event naming it; the gauge is read from
``GET /metrics``, as Prometheus does.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import llm_event, make_settings, start_sidecar

POLICY = [{"scope": "user", "id": "*", "window": "day", "max_tokens": 10**9}]


async def _gauge(http: aiohttp.ClientSession, url: str) -> float:
    async with http.get(url + "/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith("agent_sidecar_budget_reservations_open "):
            return float(line.split()[1])
    raise AssertionError("agent_sidecar_budget_reservations_open is not exported")


async def _until(read: Any, expected: float, within_s: float = 15.0) -> float:
    """The gauge once it reads ``expected`` (PostgreSQL counts at each housekeeping round)."""
    ends = time.monotonic() + within_s
    while (value := await read()) != expected and time.monotonic() < ends:
        await asyncio.sleep(0.05)
    return value


async def test_reservations_open_on_the_in_process_ledger(tmp_path: Path) -> None:
    await _check(tmp_path)


async def test_reservations_open_on_the_postgresql_ledger(tmp_path: Path, pg_url: str) -> None:
    await _check(tmp_path, db_url=pg_url)


async def _check(tmp_path: Path, **db: str) -> None:
    """Four admits open four reservations; a route settle and an event settle close two."""
    overrides: dict[str, Any] = {
        "budgets": {"policies": POLICY, "housekeeping_interval_s": 0.1},
        **db,
    }
    running, runner = await start_sidecar(make_settings(tmp_path, **overrides))
    try:
        async with aiohttp.ClientSession() as http:
            url = running.url
            assert await _gauge(http, url) == 0
            grants = []
            for i in range(4):
                body = {"request_id": f"r{i}", "user_id": "u1", "model": "gpt-4o",
                        "input_tokens": 10, "max_output_tokens": 10}  # fmt: skip
                async with http.post(url + "/v1/admit", json=body) as response:
                    grants.append((await response.json())["reservation_id"])
            assert await _until(lambda: _gauge(http, url), 4) == 4
            settle = {"reservation_id": grants[0], "input_tokens": 5}
            async with http.post(url + "/v1/budgets/settle", json=settle) as response:
                assert response.status == 200
            event = llm_event(user_id="u1", request_id="r1", reservation_id=grants[1])
            async with http.post(url + "/v1/events", json=event) as response:
                assert response.status == 202
            assert await _until(lambda: _gauge(http, url), 2) == 2
    finally:
        await runner.cleanup()
