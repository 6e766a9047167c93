"""Every 4xx of a JSON body names the field, with the NDJSON line or the array index.

Paths, over real HTTP on loopback: ``POST /v1/events`` (one object, a JSON array, NDJSON; each
required field of each event type left out in turn), ``POST /v1/admit``, ``POST
/v1/budgets/settle``, ``PUT /v1/budgets/{scope}/{id}`` (no cap, a bad window),
``POST /v1/cache/store``, ``/v1/cache/store/batch`` (the entry's index), ``/v1/cache/lookup``,
``POST /v1/redact``; a ``ts`` or ``start_ts`` in milliseconds (or 2^63, 1e308) gets the hint that
times are unix seconds, in a body and in the ``since``/``until`` query parameters.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec
import pytest

from sidecar.api.cache_routes import LookupBody, StoreBody
from sidecar.api.redact_routes import RedactBody
from sidecar.budgets.admission import AdmitBody
from sidecar.events.schema import LlmCall, Run, ToolCall
from tests.conftest import RunningSidecar, llm_event, tool_event

MILLISECONDS = (1_733_000_000_000.0, 1.7e12, float(2**63), 1e308)


def required(struct: type[msgspec.Struct]) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(struct) if f.required]


def run_event() -> dict[str, Any]:
    return {
        "type": "run",
        "id": "run-1",
        "ts": 1_795_000_000.0,
        "request_id": "req-1",
        "start_ts": 1_795_000_000.0,
        "steps": 1,
    }


EVENTS = ((LlmCall, llm_event), (ToolCall, tool_event), (Run, run_event))


async def send(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    async with http.request(
        method, url, data=data, headers={"Content-Type": content_type}
    ) as response:
        return response.status, await response.json()


def without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


async def test_a_missing_event_field_is_named_with_line_or_index(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    url = sidecar.url + "/v1/events"
    for struct, make in EVENTS:
        names = required(struct)
        assert names, struct
        for name in names:
            bad = without(make(), name)
            status, body = await send(http, "POST", url, bad)
            assert status == 422 and body["error"]["field"] == name, (struct, name, body)
            status, body = await send(http, "POST", url, [make(), make(), bad])
            error = body["error"]
            assert (status, error["field"], error["index"]) == (422, name, 2), (name, body)
            lines = b"\n".join(msgspec.json.encode(e) for e in (make(), make(), bad))
            status, body = await send(http, "POST", url, lines, "application/x-ndjson")
            error = body["error"]
            assert (status, error["field"], error["line"]) == (422, name, 3), (name, body)
            assert "line 3" in error["message"] and f"`{name}`" in error["message"]


CASES: list[tuple[str, str, type[msgspec.Struct], dict[str, Any]]] = [
    ("POST", "/v1/admit", AdmitBody, {"request_id": "r-1", "kind": "llm"}),
    ("POST", "/v1/cache/store", StoreBody, {"namespace": "n", "key": "k", "value": "v"}),
    ("POST", "/v1/cache/lookup", LookupBody, {"namespace": "n", "key": "k"}),
    ("POST", "/v1/redact", RedactBody, {"text": "hello"}),
]


@pytest.mark.parametrize(
    ("method", "path", "struct", "good"), CASES, ids=[case[1] for case in CASES]
)
async def test_a_missing_body_field_is_named(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    struct: type[msgspec.Struct],
    good: dict[str, Any],
) -> None:
    names = required(struct)
    assert names
    status, _ = await send(http, method, sidecar.url + path, good)
    assert status == 200
    for name in names:
        status, body = await send(http, method, sidecar.url + path, without(good, name))
        assert status == 422 and body["error"]["field"] == name, (name, body)


async def test_settle_batch_and_budget_errors_name_the_field(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    url = sidecar.url
    status, body = await send(http, "POST", url + "/v1/budgets/settle", {"input_tokens": 1})
    assert (status, body["error"]["field"]) == (422, "reservation_id")
    entry = {"namespace": "n", "key": "k", "value": "v"}
    batch = {"entries": [entry, without(entry, "key")]}
    status, body = await send(http, "POST", url + "/v1/cache/store/batch", batch)
    assert (status, body["error"]["field"]) == (422, "entries[1].key")
    batch = {"entries": [entry, {**entry, "ttl_s": 1e308}]}
    status, body = await send(http, "POST", url + "/v1/cache/store/batch", batch)
    assert (status, body["error"]["field"]) == (422, "entries[1].ttl_s")
    for window in ("3x", "fortnight", "rolling:0s", "\x00"):
        status, body = await send(
            http, "PUT", url + "/v1/budgets/user/u-1", {"max_tokens": 5, "window": window}
        )
        assert (status, body["error"]["field"]) == (422, "window"), (window, body)
    status, body = await send(http, "PUT", url + "/v1/budgets/user/u-1", {"window": "1d"})
    assert (status, body["error"]["field"]) == (422, "max_tokens")


async def test_milliseconds_get_the_seconds_hint(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    url = sidecar.url + "/v1/events"
    for value in MILLISECONDS:
        for name in ("ts", "start_ts"):
            status, body = await send(http, "POST", url, [llm_event(), llm_event(**{name: value})])
            error = body["error"]
            assert (status, error["field"], error["index"]) == (422, name, 1), body
            assert "unix seconds" in error["message"] and "milliseconds" in error["message"]
            line = msgspec.json.encode(tool_event(**{name: value}))
            status, body = await send(http, "POST", url, line, "application/x-ndjson")
            assert (status, body["error"]["line"]) == (422, 1)
            assert "milliseconds" in body["error"]["message"]
        for param in ("since", "until"):
            async with http.get(url, params={param: repr(value)}) as response:
                assert response.status == 422
                error = (await response.json())["error"]
            assert error["field"] == param and "milliseconds" in error["message"]
