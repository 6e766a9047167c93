"""Fuzzing a live ``agent-sidecar serve`` on SQLite and on PostgreSQL: no 5xx.

Per backend, at least 3,000 requests in all, against one real process over loopback:

- schemathesis over every operation of ``/openapi.json`` (valid and invalid requests from the
  document, fixed seed; counted from its HAR report): at least 2,000 requests;
- hypothesis over the query strings of every GET route (documented and unknown names; values
  with control characters, 64 KB strings, 2^63, 1e308, NaN, forged cursors, repeated
  ``group_by``) and over OTLP JSON bodies (attribute values of every kind, nested, non-finite
  doubles as strings, huge integers, ids of the wrong length) and raw protobuf bytes: at least
  1,000 requests.

Every answer is below 500 (the store is up, so not even a 503 is expected), the process logs
no unhandled error and answers ``/health`` with 200 afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import SidecarProcess
from tests.hardening.hostile_values import QUERIES

ADMIN = "fuzz-admin-token-2"
SCHEMATHESIS_MIN = 2000
HYPOTHESIS_EXAMPLES = 550  # per strategy: queries and OTLP bodies, 1,100 requests at least


@pytest.fixture(params=["sqlite", "postgres"], scope="module")
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SidecarProcess]:
    if request.param == "postgres":
        url = str(request.getfixturevalue("pg_url_module"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    proc = SidecarProcess(url, env={"SIDECAR_API_TOKEN": ADMIN})
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def pg_url_module() -> Iterator[str]:
    """A PostgreSQL database for the module (the ``pg_url`` fixture is per test)."""
    from tests.conftest import fresh_pg_database

    with fresh_pg_database("sidecar_fuzz") as url:
        yield url


def _assert_healthy(proc: SidecarProcess) -> None:
    assert requests.get(proc.url + "/health", timeout=10).status_code == 200
    assert "unhandled error" not in proc.log, proc.log[-4000:]


def test_schemathesis_sends_2000_requests_and_gets_no_5xx(
    live: SidecarProcess, tmp_path: Path
) -> None:
    reports = tmp_path / "report"
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", live.url + "/openapi.json",
         "-H", f"Authorization: Bearer {ADMIN}", "--checks", "not_a_server_error",
         "--max-examples", "45", "--seed", "13", "--workers", "1",
         "--generation-database", "none", "--no-color", "--report", "har",
         "--report-dir", str(reports)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    entries = [
        entry
        for har in reports.glob("har*")
        for entry in json.loads(har.read_text())["log"]["entries"]
    ]
    statuses = [entry["response"]["status"] for entry in entries]
    server_errors = [
        f"{e['request']['method']} {e['request']['url'][:200]} -> {e['response']['status']}"
        for e in entries
        if e["response"]["status"] >= 500
    ]
    assert not server_errors, "\n".join(server_errors[:20])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert len(statuses) >= SCHEMATHESIS_MIN, (len(statuses), run.stdout[-2000:])
    _assert_healthy(live)


_HEX = st.text("0123456789abcdef", min_size=0, max_size=40)
_SCALAR_VALUE = st.one_of(
    st.builds(lambda s: {"stringValue": s}, st.text(max_size=30)),
    st.builds(lambda i: {"intValue": i}, st.one_of(st.integers(), st.integers().map(str),
                                                    st.just(str(2**64)))),
    st.builds(lambda d: {"doubleValue": d}, st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["Infinity", "-Infinity", "NaN", "1e400"]))),
    st.builds(lambda b: {"boolValue": b}, st.booleans()),
    st.just({}),
)  # fmt: skip
ANY_VALUE = st.recursive(
    _SCALAR_VALUE,
    lambda inner: st.one_of(
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
        st.builds(lambda kv: {"kvlistValue": {"values": [
            {"key": k, "value": v} for k, v in kv.items()]}},
            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    ),
    max_leaves=12,
)  # fmt: skip
ATTRIBUTE_KEYS = st.one_of(
    st.sampled_from([
        "gen_ai.operation.name", "gen_ai.request.model", "gen_ai.response.model",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.provider.name",
        "gen_ai.system", "gen_ai.tool.name", "user.id", "session.id", "gen_ai.agent.name",
        "llm.request.type", "openinference.span.kind", "gen_ai.response.id",
    ]),
    st.text(max_size=12),
)  # fmt: skip
SPANS = st.fixed_dictionaries(
    {
        "traceId": st.one_of(_HEX, st.just("5b8efff798038103d269b633813fc60c")),
        "spanId": st.one_of(_HEX, st.just("eee19b7ec3c1b174")),
        "name": st.one_of(st.sampled_from(["chat gpt-4o", "execute_tool x", "invoke_agent a"]),
                          st.text(max_size=20)),
        "startTimeUnixNano": st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                                       st.integers(min_value=0, max_value=2**64).map(str)),
        "endTimeUnixNano": st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                                     st.integers(min_value=0, max_value=2**64).map(str)),
        "attributes": st.lists(st.fixed_dictionaries({"key": ATTRIBUTE_KEYS,
                                                      "value": ANY_VALUE}), max_size=8),
    },
    optional={"kind": st.integers(min_value=-5, max_value=2**40),
              "status": st.fixed_dictionaries({"code": st.one_of(st.integers(), st.text())})},
)  # fmt: skip
OTLP_BODIES = st.builds(
    lambda spans: {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]},
    st.lists(SPANS, min_size=1, max_size=5),
)


def test_hypothesis_queries_and_otlp_bodies_get_no_5xx(live: SidecarProcess) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {ADMIN}"
    sent: list[int] = []
    failures: list[str] = []

    def check(response: requests.Response, what: str) -> None:
        sent.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{what} -> {response.status_code} {response.text[:200]}")

    common = settings(
        max_examples=HYPOTHESIS_EXAMPLES, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip

    @seed(2026)
    @common
    @given(QUERIES)
    def queries(case: tuple[str, dict[str, str]]) -> None:
        route, params = case
        check(session.get(live.url + route, params=params, timeout=30), f"GET {route} {params}")

    @seed(2027)
    @common
    @given(OTLP_BODIES, st.binary(max_size=200))
    def otlp(body: dict[str, Any], raw: bytes) -> None:
        data = json.dumps(body).encode()
        json_headers = {"Content-Type": "application/json"}
        check(session.post(live.url + "/v1/traces", data=data, headers=json_headers,
                           timeout=30), f"OTLP JSON {data[:300]!r}")  # fmt: skip
        pb_headers = {"Content-Type": "application/x-protobuf"}
        check(session.post(live.url + "/v1/traces", data=raw, headers=pb_headers, timeout=30),
              f"OTLP protobuf {raw[:100]!r}")  # fmt: skip

    queries()
    otlp()
    assert not failures, "\n".join(failures[:20])
    assert len(sent) >= 1000, len(sent)
    _assert_healthy(live)
