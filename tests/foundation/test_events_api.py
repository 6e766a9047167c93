"""POST /v1/events and the store queries, over real HTTP and a real SQLite file."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiohttp
import msgspec

from tests.conftest import RunningSidecar, llm_event, tool_event


async def post(
    http: aiohttp.ClientSession,
    sidecar: RunningSidecar,
    body: Any,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    async with http.post(
        sidecar.url + "/v1/events", data=data, headers={"Content-Type": content_type}
    ) as response:
        return response.status, await response.json()


def stored_ids(sidecar: RunningSidecar) -> list[str]:
    path = sidecar.settings.db_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM events ORDER BY seq")]


async def test_one_object_array_and_ndjson_are_accepted(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    one = llm_event()
    assert await post(http, sidecar, one) == (202, {"accepted": 1, "duplicates": 0})
    many = [
        llm_event(),
        tool_event(),
        {
            "type": "run",
            "id": "run-1",
            "ts": 1.0,
            "request_id": "req-1",
            "start_ts": 1.0,
            "steps": 2,
        },
    ]
    assert await post(http, sidecar, many) == (202, {"accepted": 3, "duplicates": 0})
    lines = [llm_event(), tool_event()]
    ndjson = b"\n".join(msgspec.json.encode(e) for e in lines) + b"\n"
    assert await post(http, sidecar, ndjson, "application/x-ndjson") == (
        202,
        {"accepted": 2, "duplicates": 0},
    )
    assert stored_ids(sidecar) == [e["id"] for e in [one, *many, *lines]]


async def test_a_resent_batch_is_stored_once_and_reported_as_duplicates(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    batch = [llm_event() for _ in range(5)]
    assert await post(http, sidecar, batch) == (202, {"accepted": 5, "duplicates": 0})
    batch.append(llm_event())
    assert await post(http, sidecar, batch) == (202, {"accepted": 1, "duplicates": 5})
    same_id_twice = [llm_event(id="twin"), llm_event(id="twin")]
    assert await post(http, sidecar, same_id_twice) == (202, {"accepted": 1, "duplicates": 1})
    ids = stored_ids(sidecar)
    assert len(ids) == len(set(ids)) == 7


async def test_an_event_without_id_gets_one(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    event = llm_event()
    del event["id"]
    assert (await post(http, sidecar, event))[0] == 202
    [stored] = stored_ids(sidecar)
    assert len(stored) == 32


async def test_unknown_fields_are_ignored_and_counted(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    event = llm_event(new_field_from_the_future=1)
    assert (await post(http, sidecar, [event, llm_event()]))[0] == 202
    async with http.get(sidecar.url + "/v1/events?limit=1") as response:
        assert "new_field_from_the_future" not in (await response.json())["events"][0]
    async with http.get(sidecar.url + "/metrics") as response:
        text = await response.text()
    assert "agent_sidecar_events_unknown_fields_total 1.0" in text
    assert "agent_sidecar_events_ingested_total 2.0" in text


async def test_content_is_dropped_unless_capture_is_enabled(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    await post(
        http,
        sidecar,
        [
            llm_event(input="hello", output="world"),
            tool_event(args={"q": "x"}, result="r", error_message="boom"),
        ],
    )
    async with http.get(sidecar.url + "/v1/events?order=asc") as response:
        events = (await response.json())["events"]
    assert "input" not in events[0] and "output" not in events[0]
    assert "args" not in events[1] and "result" not in events[1]
    assert events[1]["error_message"] == "boom"


async def test_query_filters_and_pages_through_everything(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    events = [
        llm_event(user_id=f"u-{i % 3}", ts=1000.0 + i, session_id=f"s-{i % 2}") for i in range(25)
    ]
    await post(http, sidecar, events)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"user_id": "u-1", "limit": "3"}
        if cursor:
            params["cursor"] = cursor
        async with http.get(sidecar.url + "/v1/events", params=params) as response:
            assert response.status == 200
            page = await response.json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = [e["id"] for e in reversed(events) if e["user_id"] == "u-1"]
    assert seen == expected
    params = {"since": "1010", "until": "1015", "order": "asc", "session_id": "s-0"}
    async with http.get(sidecar.url + "/v1/events", params=params) as response:
        got = [e["ts"] for e in (await response.json())["events"]]
    assert got == [1010.0, 1012.0, 1014.0]


async def test_aggregate_counts_errors_and_tokens_by_group(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    await post(
        http,
        sidecar,
        [
            llm_event(model="a", input_tokens=10, output_tokens=1),
            llm_event(model="a", input_tokens=20, output_tokens=2, status="error"),
            llm_event(model="b", input_tokens=5, output_tokens=5, user_id="u-2"),
            tool_event(tool="t1", status="error"),
        ],
    )
    async with http.get(sidecar.url + "/v1/aggregate?group_by=model") as response:
        result = await response.json()
    total = result["total"]
    assert (total["count"], total["errors"], total["input_tokens"], total["output_tokens"]) == (
        3,
        1,
        35,
        8,
    )
    assert total["cost_usd"] > 0  # unknown models are charged the default price
    by_model = {g["model"]: g for g in result["groups"]}
    assert by_model["a"]["count"] == 2 and by_model["a"]["errors"] == 1
    assert by_model["b"]["input_tokens"] == 5
    async with http.get(sidecar.url + "/v1/aggregate?group_by=tool") as response:
        tools = await response.json()
    assert tools["groups"] == [
        {
            "tool": "t1",
            "count": 1,
            "errors": 1,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
        }
    ]
    async with http.get(sidecar.url + "/v1/aggregate?user_id=u-2") as response:
        assert (await response.json())["total"]["count"] == 1


async def test_bad_query_parameters_are_422_naming_the_parameter(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    for query, field in [
        ("group_by=colour", "group_by"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%%%", "cursor"),
        ("since=yesterday", "since"),
        ("type=chat", "type"),
        ("since=nan", "since"),
        ("order=up", "order"),
    ]:
        path = "/v1/aggregate" if query.startswith("group_by") else "/v1/events"
        async with http.get(f"{sidecar.url}{path}?{query}") as response:
            assert response.status == 422, query
            assert (await response.json())["error"]["field"] == field


async def test_health_ready_and_metrics(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.get(sidecar.url + "/health") as response:
        body = await response.json()
    assert response.status == 200 and body["healthy"] is True
    assert body["database"]["connected"] is True and body["database"]["latency_ms"] >= 0
    async with http.get(sidecar.url + "/ready") as response:
        assert response.status == 200
    async with http.get(sidecar.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "agent_sidecar_store_up 1.0" in await response.text()
