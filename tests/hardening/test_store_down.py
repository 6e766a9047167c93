"""Every route of the OpenAPI document with PostgreSQL unreachable: never a 500.

The sidecar runs over a real PostgreSQL behind a TCP proxy we control (the shared server is
never touched); the proxy is stopped, which cuts every pooled connection and refuses new ones.
Then each operation of ``/openapi.json`` is called with a valid request (path parameters and
bodies filled in), and hypothesis sends 200 hostile query strings to the GET routes: the answer
is a 2xx/4xx or a 503 with ``Retry-After``, never another 5xx.
The routes that must read or write the store (events and their queries, runs, series, budgets,
settle, admit under ``fail_closed``, the fleet's stats) answer exactly 503. Once the proxy is
back the same sidecar stores events again without a restart.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import requests
from hypothesis import HealthCheck, given, seed, settings
from sqlalchemy.engine import make_url

from sidecar.api.openapi import build_document
from tests.conftest import llm_event, make_settings, start_sidecar
from tests.hardening.hostile_values import QUERIES
from tests.hardening.tcp_proxy import TcpProxy

PATH_VALUES = {
    "scope": "user",
    "id": "u1",
    "namespace": "ns",
    "request_id": "req-1",
    "path": "missing.js",
}
OTLP = {"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
    "name": "chat gpt-4o", "kind": 3, "startTimeUnixNano": "1700000000000000000",
    "endTimeUnixNano": "1700000000400000000", "attributes": [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5"}},
    ]}]}]}]}  # fmt: skip
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/v1/events"): None,  # a fresh event per call, below
    ("post", "/v1/traces"): OTLP,
    ("post", "/v1/metrics"): {"resourceMetrics": []},
    ("post", "/v1/logs"): {"resourceLogs": []},
    ("post", "/v1/admit"): {
        "request_id": "r-down",
        "user_id": "u1",
        "model": "gpt-4o",
        "input_tokens": 10,
        "max_output_tokens": 10,
    },
    ("post", "/v1/budgets/settle"): {"reservation_id": "res-1", "input_tokens": 1},
    ("put", "/v1/budgets/{scope}/{id}"): {"window": "1d", "max_tokens": 1000},
    ("post", "/v1/cache/store"): {"namespace": "ns", "key": "k", "value": "v"},
    ("post", "/v1/cache/store/batch"): {"entries": [{"namespace": "ns", "key": "k", "value": "v"}]},
    ("post", "/v1/cache/lookup"): {"namespace": "ns", "key": "k"},
    ("post", "/v1/redact"): {"text": "hello"},
}
EXTRA_QUERIES = [("get", "/v1/stats", {"scope": "fleet"})]
MUST_BE_503 = {
    ("post", "/v1/events"), ("get", "/v1/events"), ("get", "/v1/aggregate"),
    ("get", "/v1/runs"), ("get", "/v1/runs/{request_id}"), ("get", "/v1/series"),
    ("put", "/v1/budgets/{scope}/{id}"), ("delete", "/v1/budgets/{scope}/{id}"),
    ("get", "/v1/usage/{scope}/{id}"), ("post", "/v1/budgets/settle"), ("post", "/v1/admit"),
    ("get", "/v1/budgets/consistency"),
}  # fmt: skip


class _PathValues(dict[str, str]):
    def __missing__(self, name: str) -> str:  # a route added later: any plausible id
        return "x1"


def _fuzz_queries(base: str) -> list[str]:
    """Hypothesis over every GET route's query string while the store is down: 4xx or 503
    with ``Retry-After``, never another 5xx (run in a thread: the sidecar shares our loop)."""
    failures: list[str] = []
    sent: list[int] = []
    session = requests.Session()

    @seed(2028)
    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(QUERIES)
    def probe(case: tuple[str, dict[str, str]]) -> None:
        route, params = case
        response = session.get(base + route, params=params, timeout=30)
        sent.append(response.status_code)
        if response.status_code >= 500 and (
            response.status_code != 503 or "Retry-After" not in response.headers
        ):
            failures.append(f"GET {route} {params}: {response.status_code}")

    probe()
    assert len(sent) >= 200 and 503 in sent, (len(sent), sorted(set(sent)))
    return failures


def operations() -> list[tuple[str, str, dict[str, str]]]:
    found: list[tuple[str, str, dict[str, str]]] = [
        (method, path, {}) for path, ops in build_document()["paths"].items() for method in ops
    ]
    return found + EXTRA_QUERIES


async def _call(
    http: aiohttp.ClientSession, base: str, method: str, path: str, query: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    url = base + path.format_map(_PathValues(PATH_VALUES))
    body = BODIES.get((method, path))
    if (method, path) == ("post", "/v1/events"):
        body = llm_event()
    data = None if body is None else json.dumps(body)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    async with http.request(
        method.upper(), url, params=query, data=data, headers=headers, allow_redirects=False
    ) as resp:
        return resp.status, dict(resp.headers), await resp.text()


async def test_every_route_answers_503_or_4xx_with_postgres_unreachable(
    pg_url: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
    settings = make_settings(
        tmp_path, db_url=via_proxy,
        budgets={"fail_policy": "fail_closed",
                 "policies": [{"scope": "user", "id": "*", "window": "1d",
                               "max_tokens": 100_000}]},
    )  # fmt: skip
    running, runner = await start_sidecar(settings)
    try:
        status, _, text = await _call(http, running.url, "post", "/v1/events", {})
        assert status == 202, text
        await proxy.stop()
        failures = []
        for method, path, query in operations():
            status, headers, text = await _call(http, running.url, method, path, query)
            if status >= 500 and (status != 503 or "Retry-After" not in headers):
                failures.append(f"{method.upper()} {path} {query}: {status} {text[:160]}")
            elif (method, path) in MUST_BE_503 and not query and status != 503:
                failures.append(f"{method.upper()} {path}: {status}, expected 503 {text[:160]}")
            elif query.get("scope") == "fleet" and status != 503:
                failures.append(f"{method.upper()} {path} {query}: {status}, expected 503")
        failures += await asyncio.to_thread(_fuzz_queries, running.url)
        await proxy.start()
        assert not failures, "\n".join(failures)
        deadline = time.monotonic() + 30
        while True:  # the pool reconnects on its own: poll until an event is stored again
            status, _, text = await _call(http, running.url, "post", "/v1/events", {})
            if status == 202 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert status == 202, text
    finally:
        await runner.cleanup()
        await proxy.stop()
