"""Hostile and malformed payloads: each gets the right 4xx with a JSON error body, nothing
partial is stored, and the sidecar stays healthy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import msgspec

from tests.conftest import RunningSidecar, llm_event, make_settings, start_sidecar, tool_event

JSON = "application/json"
NDJSON = "application/x-ndjson"


def enc(value: object) -> bytes:
    return msgspec.json.encode(value)


def with_field(**fields: object) -> bytes:
    return enc(llm_event(**fields))


def without(field: str) -> bytes:
    event = llm_event()
    del event[field]
    return enc(event)


GOOD = enc(llm_event())
CASES: list[tuple[str, bytes, str, int, str | None]] = [
    # (name, body, content type, status, field named in the error)
    ("truncated json", GOOD[:-7], JSON, 400, None),
    ("trailing garbage", GOOD + b"}", JSON, 400, None),
    ("empty body", b"", JSON, 400, None),
    ("whitespace body", b"   \n ", JSON, 400, None),
    ("not json at all", b"hello world", JSON, 400, None),
    ("NaN literal", GOOD.replace(b'"duration_ms":850.0', b'"duration_ms":NaN'), JSON, 400, None),
    ("Infinity literal", GOOD.replace(b"850.0", b"Infinity"), JSON, 400, None),
    ("invalid utf-8", GOOD.replace(b'"gpt-4o"', b'"gpt-\xff\xfe"'), JSON, 400, None),
    ("deep nesting 100k", b"[" * 100_000 + b"]" * 100_000, JSON, 400, None),
    (
        "deep nesting in content",
        GOOD[:-1] + b',"input":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        JSON,
        400,
        None,
    ),
    ("scalar top level", b"42", JSON, 422, None),
    ("string top level", b'"event"', JSON, 422, None),
    ("empty array", b"[]", JSON, 422, None),
    ("null", b"null", JSON, 422, None),
    ("unknown type", with_field(type="chat_message"), JSON, 422, "type"),
    ("missing type", without("type"), JSON, 422, None),
    ("missing model", without("model"), JSON, 422, None),
    ("missing request_id", without("request_id"), JSON, 422, None),
    ("missing ts", without("ts"), JSON, 422, None),
    ("negative tokens", with_field(input_tokens=-5), JSON, 422, "input_tokens"),
    ("float tokens", with_field(output_tokens=1.5), JSON, 422, "output_tokens"),
    ("string tokens", with_field(input_tokens="100"), JSON, 422, "input_tokens"),
    (
        "huge int tokens",
        GOOD.replace(b'"input_tokens":100', b'"input_tokens":' + b"9" * 400),
        JSON,
        422,
        "input_tokens",
    ),
    ("tokens over 1e9", with_field(input_tokens=10**12), JSON, 422, "input_tokens"),
    ("huge float duration", GOOD.replace(b"850.0", b"1e400"), JSON, 422, "duration_ms"),
    ("negative duration", with_field(duration_ms=-1.0), JSON, 422, "duration_ms"),
    ("timestamp in ms", with_field(ts=1_795_000_000_000.0), JSON, 422, "ts"),
    ("bad status", with_field(status="maybe"), JSON, 422, "status"),
    ("bad trace id", with_field(trace_id="xyz"), JSON, 422, "trace_id"),
    ("empty request_id", with_field(request_id=""), JSON, 422, "request_id"),
    ("huge id", with_field(id="x" * 10_000), JSON, 422, "id"),
    ("nested attributes", with_field(attributes={"a": {"b": 1}}), JSON, 422, "attributes"),
    (
        "too many attributes",
        with_field(attributes={str(i): i for i in range(500)}),
        JSON,
        422,
        "attributes",
    ),
    (
        "array with one bad event",
        enc([llm_event(), llm_event(input_tokens=-1), tool_event()]),
        JSON,
        422,
        "input_tokens",
    ),
    ("tool call without tool", enc({**tool_event(), "tool": None}), JSON, 422, "tool"),
    (
        "ndjson with one bad line",
        enc(llm_event()) + b"\n" + with_field(model=5) + b"\n" + enc(tool_event()),
        NDJSON,
        422,
        "model",
    ),
    ("ndjson with a truncated line", enc(llm_event()) + b"\n" + GOOD[:20], NDJSON, 400, None),
    ("ndjson of blank lines", b"\n\n\n", NDJSON, 400, None),
    ("form content type", GOOD, "application/x-www-form-urlencoded", 415, "Content-Type"),
    ("xml content type", b"<event/>", "application/xml", 415, "Content-Type"),
    ("50 MiB body", b"[" + b" " * (50 * 1024 * 1024) + b"]", JSON, 413, None),
]


async def test_every_hostile_payload_gets_a_clear_4xx_and_nothing_is_stored(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    assert len(CASES) >= 30
    running, runner = await start_sidecar(make_settings(tmp_path))
    try:
        for name, body, content_type, status, field in CASES:
            async with http.post(
                running.url + "/v1/events", data=body, headers={"Content-Type": content_type}
            ) as response:
                assert response.status == status, (name, await response.text())
                assert response.headers["Content-Type"].startswith("application/json"), name
                error = (await response.json())["error"]
            assert error["code"] and error["message"], name
            if field is not None:
                assert error.get("field") == field, (name, error)
        async with http.get(running.url + "/health") as response:
            assert response.status == 200
        ok = enc([llm_event(), tool_event()])
        async with http.post(
            running.url + "/v1/events", data=ok, headers={"Content-Type": JSON}
        ) as response:
            assert response.status == 202
    finally:
        await runner.cleanup()
    path = running.settings.db_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2


async def test_ndjson_errors_name_the_line(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    body = enc(llm_event()) + b"\n\n" + enc(llm_event()) + b"\n" + with_field(ts="x")
    async with http.post(
        sidecar.url + "/v1/events", data=body, headers={"Content-Type": NDJSON}
    ) as response:
        error = (await response.json())["error"]
    assert response.status == 422
    assert error["line"] == 4 and error["field"] == "ts" and "line 4" in error["message"]


async def test_array_errors_name_the_index(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    body = enc([llm_event(), llm_event(), tool_event(duration_ms="slow")])
    async with http.post(
        sidecar.url + "/v1/events", data=body, headers={"Content-Type": JSON}
    ) as response:
        error = (await response.json())["error"]
    assert error["index"] == 2 and error["field"] == "duration_ms"


async def test_unknown_routes_and_methods_are_json_errors(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.get(sidecar.url + "/v1/nothing-here") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    async with http.delete(sidecar.url + "/v1/events") as response:
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"
