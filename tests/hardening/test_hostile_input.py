"""Hostile values on every public path, over real HTTP, on SQLite and on PostgreSQL.

Each case is a request an attacker can send: control characters (U+0000, U+001F, U+007F) and
64 KB strings in path segments (``PUT``/``DELETE /v1/budgets/{scope}/{id}``,
``/v1/usage/{scope}/{id}``, ``/v1/runs/{request_id}``, ``DELETE /v1/cache/{namespace}``), in
query filters (``/v1/events``, ``/v1/aggregate``, ``/v1/runs``, ``/v1/series``,
``/v1/budgets/denials``, ``/v1/stats``), in body fields (``POST /v1/events``, ``/v1/admit``,
``/v1/budgets/settle``, ``PUT /v1/budgets`` ``model``, ``/v1/cache/store`` and ``lookup``);
numbers out of range (2^63, 1e308, NaN, Infinity); repeated ``group_by`` values; forged
cursors; OTLP JSON nested 100k deep and a non-finite token attribute. Every answer is a 4xx
with a JSON error (the field named where there is one), never a 500, and the sidecar stays
healthy and keeps storing clean events afterwards.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.conftest import RunningSidecar, llm_event, make_settings, start_sidecar

BIG = "x" * 65_536


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _otlp_json(attributes: dict[str, Any]) -> bytes:
    attrs = [{"key": k, "value": v} for k, v in attributes.items()]
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000400000000",
        "attributes": attrs,
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


# (name, method, path, query, json body or raw bytes, statuses allowed, field named or None)
Case = tuple[str, str, str, dict[str, str] | None, Any, set[int], str | None]
UNIT_SEP, NUL, DEL = "\x1f", "\x00", "\x7f"
CASES: list[Case] = []
# fmt: off
for label, bad in (("U+001F", UNIT_SEP), ("U+0000", NUL), ("U+007F", DEL)):
    quoted = quote("judy" + bad, safe="")
    CASES += [
        (f"budget id {label}", "PUT", f"/v1/budgets/tenant/{quoted}", None,
         {"window": "1d", "max_tokens": 10}, {422}, "id"),
        (f"budget delete {label}", "DELETE", f"/v1/budgets/tenant/{quoted}", None, None,
         {422}, "id"),
        (f"usage id {label}", "GET", f"/v1/usage/user/{quoted}", None, None, {422}, "id"),
        (f"run id {label}", "GET", f"/v1/runs/{quoted}", None, None, {422}, "request_id"),
        (f"cache namespace {label}", "DELETE", f"/v1/cache/{quoted}", None, None, {422},
         "namespace"),
        (f"budget model {label}", "PUT", "/v1/budgets/user/u1", None,
         {"window": "1d", "max_tokens": 10, "model": "gpt" + bad}, {422}, "model"),
        (f"delete model query {label}", "DELETE", "/v1/budgets/user/u1",
         {"model": "gpt" + bad}, None, {422}, "model"),
        (f"settle reservation {label}", "POST", "/v1/budgets/settle", None,
         {"reservation_id": "r" + bad, "input_tokens": 1}, {422}, "reservation_id"),
        (f"admit model {label}", "POST", "/v1/admit", None,
         {"request_id": "r1", "model": "gpt" + bad, "input_tokens": 5}, {422}, "model"),
        (f"admit user {label}", "POST", "/v1/admit", None,
         {"request_id": "r1", "user_id": "u" + bad}, {422}, "user_id"),
        (f"event model {label}", "POST", "/v1/events", None,
         llm_event(model="gpt" + bad), {422}, "model"),
        (f"event tenant {label}", "POST", "/v1/events", None,
         llm_event(tenant="t" + bad), {422}, "tenant"),
        (f"event id {label}", "POST", "/v1/events", None, llm_event(id="e" + bad), {422}, "id"),
        (f"cache store model {label}", "POST", "/v1/cache/store", None,
         {"namespace": "n", "key": "k", "value": "v", "model": "m" + bad}, {422}, None),
        (f"cache lookup namespace {label}", "POST", "/v1/cache/lookup", None,
         {"namespace": "n" + bad, "key": "k"}, {422}, None),
    ]
    for route in ("/v1/events", "/v1/aggregate"):
        for name in ("user_id", "session_id", "request_id", "tenant", "trace_id"):
            CASES.append((f"{route} {name} {label}", "GET", route, {name: "v" + bad}, None,
                          {422}, name))
    for route, name in (("/v1/runs", "user_id"), ("/v1/series", "tenant"),
                        ("/v1/budgets/denials", "tenant"), ("/v1/stats", "window")):
        CASES.append((f"{route} {name} {label}", "GET", route, {name: "v" + bad}, None,
                      {422}, name))
CASES += [
    ("64 KB budget id in the path", "PUT", f"/v1/budgets/user/{BIG}", None,
     {"window": "1d", "max_tokens": 10}, {400, 414, 422, 431}, None),
    ("64 KB admit user id", "POST", "/v1/admit", None, {"request_id": "r", "user_id": BIG},
     {422}, "user_id"),
    ("64 KB event user id", "POST", "/v1/events", None, llm_event(user_id=BIG), {422},
     "user_id"),
    ("64 KB settle reservation", "POST", "/v1/budgets/settle", None,
     {"reservation_id": BIG}, {422}, "reservation_id"),
    ("64 KB budget model", "PUT", "/v1/budgets/user/u1", None,
     {"window": "1d", "max_tokens": 10, "model": BIG}, {422}, "model"),
    ("admit user 400 bytes of 200 characters", "POST", "/v1/admit", None,
     {"request_id": "r", "user_id": "é" * 200}, {422}, "user_id"),
    ("event user 400 bytes of 200 characters", "POST", "/v1/events", None,
     llm_event(user_id="é" * 200), {422}, "user_id"),
    ("budget model 400 bytes", "PUT", "/v1/budgets/user/u1", None,
     {"window": "1d", "max_tokens": 10, "model": "é" * 200}, {422}, "model"),
    ("budget id 400 bytes in the path", "PUT", "/v1/budgets/tenant/" + quote("é" * 200), None,
     {"window": "1d", "max_tokens": 10}, {422}, "id"),
    ("events filter 400 bytes", "GET", "/v1/events", {"user_id": "é" * 200}, None, {422},
     "user_id"),
    ("group_by repeated", "GET", "/v1/aggregate", {"group_by": "model,model"}, None, {422},
     "group_by"),
    ("stats group_by repeated", "GET", "/v1/stats", {"group_by": "model,model"}, None, {422},
     "group_by"),
    ("cursor of 2^63", "GET", "/v1/events", {"cursor": _cursor(f"s{2**63}")}, None, {422},
     "cursor"),
    ("cursor of 10^400", "GET", "/v1/events", {"cursor": _cursor("s" + "9" * 400)}, None,
     {422}, "cursor"),
    ("cursor with a sign", "GET", "/v1/events", {"cursor": _cursor("s-5")}, None, {422},
     "cursor"),
    ("runs cursor of 2^63", "GET", "/v1/runs", {"cursor": _cursor(f"s{2**63}")}, None, {422},
     "cursor"),
    ("since 1e308", "GET", "/v1/events", {"since": "1e308"}, None, {422}, "since"),
    ("since NaN", "GET", "/v1/aggregate", {"since": "NaN"}, None, {422}, "since"),
    ("until Infinity", "GET", "/v1/series", {"until": "Infinity"}, None, {422}, "until"),
    ("limit 2^63", "GET", "/v1/events", {"limit": str(2**63)}, None, {422}, "limit"),
    ("admit tokens 2^63", "POST", "/v1/admit", None,
     {"request_id": "r", "input_tokens": 2**63}, {422}, "input_tokens"),
    ("settle tokens 2^63", "POST", "/v1/budgets/settle", None,
     {"reservation_id": "r", "input_tokens": 2**63}, {422}, "input_tokens"),
    ("settle cost 1e308", "POST", "/v1/budgets/settle", None,
     {"reservation_id": "r", "cost_usd": 1e308}, {422}, "cost_usd"),
    ("budget cap 1e308", "PUT", "/v1/budgets/user/u1", None,
     {"window": "1d", "max_cost_usd": 1e308}, {422}, "max_cost_usd"),
    ("budget tokens 2^63", "PUT", "/v1/budgets/user/u1", None,
     {"window": "1d", "max_tokens": 2**63}, {422}, "max_tokens"),
    ("event cost 1e308", "POST", "/v1/events", None, llm_event(cost_usd=1e308), {422},
     "cost_usd"),
    ("cache ttl 1e308", "POST", "/v1/cache/store", None,
     {"namespace": "n", "key": "k", "value": "v", "ttl_s": 1e308}, {422}, None),
    ("otlp json nested 100k", "POST", "/v1/traces", None,
     b'{"resourceSpans":' + b"[" * 100_000 + b"]" * 100_000 + b"}", {400}, None),
]
# fmt: on


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}"


@pytest.fixture
async def hostile_sidecar(db_url: str, tmp_path: Path) -> AsyncIterator[RunningSidecar]:
    running, runner = await start_sidecar(make_settings(tmp_path, db_url=db_url))
    try:
        yield running
    finally:
        await runner.cleanup()


async def _send(
    http: aiohttp.ClientSession, url: str, method: str, query: dict[str, str] | None, body: Any
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else (None if body is None else json.dumps(body))
    headers = {"Content-Type": "application/json"} if data is not None else {}
    async with http.request(method, url, params=query, data=data, headers=headers) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


async def test_every_hostile_value_is_a_4xx_naming_the_field(
    hostile_sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    failures = []
    for name, method, path, query, body, allowed, field in CASES:
        status, answer = await _send(http, hostile_sidecar.url + path, method, query, body)
        named = answer.get("error", {}).get("field") if isinstance(answer, dict) else None
        if status not in allowed or (field is not None and named != field):
            failures.append(f"{name}: {status} {str(answer)[:200]}")
    assert not failures, "\n".join(failures)
    async with http.get(hostile_sidecar.url + "/health") as resp:
        assert resp.status == 200
    status, answer = await _send(
        http, hostile_sidecar.url + "/v1/events", "POST", None, llm_event()
    )
    assert (status, answer) == (202, {"accepted": 1, "duplicates": 0})


async def test_otlp_non_finite_token_rejects_that_span_only(
    hostile_sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    body = _otlp_json(
        {
            "gen_ai.operation.name": {"stringValue": "chat"},
            "gen_ai.request.model": {"stringValue": "gpt-4o"},
            "gen_ai.usage.input_tokens": {"doubleValue": "Infinity"},
        }
    )
    status, answer = await _send(http, hostile_sidecar.url + "/v1/traces", "POST", None, body)
    assert status == 200, answer
    assert (
        answer["partialSuccess"]["rejectedSpans"] == "1"
        or answer["partialSuccess"]["rejectedSpans"] == 1
    )
    for bad in ("gpt\x00", "gpt\x1f", "é" * 200):
        body = _otlp_json(
            {
                "gen_ai.operation.name": {"stringValue": "chat"},
                "gen_ai.request.model": {"stringValue": bad},
                "gen_ai.usage.input_tokens": {"intValue": "5"},
            }
        )
        status, answer = await _send(http, hostile_sidecar.url + "/v1/traces", "POST", None, body)
        assert status == 200, answer
        assert int(answer["partialSuccess"]["rejectedSpans"]) == 1, answer
