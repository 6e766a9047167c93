from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from sidecar.analytics import OTHER, Analytics, AnalyticsConfig, ManualClock
from tests.analytics.distributions import exact_quantile
from tests.analytics.events import llm, run, tool

QUANTILE_NAMES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}


def only_series(body: dict[str, Any], **key: Any) -> dict[str, Any]:
    found = [s for s in body["series"] if all(s["key"].get(k) == v for k, v in key.items())]
    assert len(found) == 1, body["series"]
    return found[0]


def test_20000_llm_calls_percentiles_within_one_percent() -> None:
    rng = random.Random(42)
    durations, ttfts, tpots, events = [], [], [], []
    for i in range(20_000):
        d = rng.lognormvariate(6.5, 0.9)
        t = d * rng.uniform(0.05, 0.6)
        out = rng.randint(1, 800)
        events.append(llm(d, ttft_ms=t, stream=True, output_tokens=out, request_id=f"r{i}"))
        durations.append(d)
        ttfts.append(t)
        tpots.append((d - t) / (out - 1) if out > 1 else d / out)
    analytics = Analytics(clock=ManualClock())
    for start in range(0, 20_000, 500):
        analytics.record(events[start : start + 500])
    series = only_series(analytics.stats("5m", ["model"]), model="gpt-4o")
    assert series["count"] == 20_000
    for field, values in (("duration_ms", durations), ("ttft_ms", ttfts), ("tpot_ms", tpots)):
        ordered = sorted(values)
        for name, q in QUANTILE_NAMES.items():
            exact = exact_quantile(ordered, q)
            assert abs(series[field][name] - exact) <= 0.0100001 * exact, (field, name)


def test_body_shape_is_plain_json() -> None:
    analytics = Analytics(clock=ManualClock())
    analytics.record([llm(cost_usd=0.5), llm(status="error", error_type="Timeout")])
    body = analytics.stats("1m", ["model", "provider"])
    assert msgspec.json.decode(msgspec.json.encode(body)) == body
    assert body["window"] == "1m" and body["group_by"] == ["model", "provider"]
    s = only_series(body)
    assert s["key"] == {"model": "gpt-4o", "provider": "openai", "operation": "chat"}
    assert set(s) == {
        "key",
        "count",
        "errors",
        "error_rate",
        "ttft_ms",
        "duration_ms",
        "tpot_ms",
        "steps",
        "tokens",
        "cost_usd",
    }
    assert s["count"] == 2 and s["errors"] == 1 and s["error_rate"] == 0.5
    assert s["tokens"] == {"input": 20, "output": 10, "cached_input": 0, "total": 30}
    assert s["cost_usd"] == 0.5
    assert s["ttft_ms"] is None and s["steps"] is None
    assert set(s["duration_ms"]) == set(QUANTILE_NAMES)


def test_time_per_output_token_rules() -> None:
    analytics = Analytics(clock=ManualClock())
    analytics.record([llm(1000.0, model="stream", stream=True, ttft_ms=200.0, output_tokens=5)])
    analytics.record([llm(1000.0, model="plain", output_tokens=4)])
    analytics.record([llm(900.0, model="one", stream=True, ttft_ms=300.0, output_tokens=1)])
    analytics.record([llm(900.0, model="none", output_tokens=0)])
    body = analytics.stats("all", ["model"])
    assert only_series(body, model="stream")["tpot_ms"]["p50"] == pytest.approx(200.0, rel=0.01)
    assert only_series(body, model="stream")["ttft_ms"]["p50"] == 200.0
    assert only_series(body, model="plain")["tpot_ms"]["p50"] == pytest.approx(250.0, rel=0.01)
    assert only_series(body, model="plain")["ttft_ms"] is None
    assert only_series(body, model="one")["tpot_ms"]["p50"] == pytest.approx(900.0, rel=0.01)
    assert only_series(body, model="none")["tpot_ms"] is None
    assert only_series(body, model="none")["cost_usd"] is None


def test_tools_and_runs_are_separate_operations() -> None:
    analytics = Analytics(clock=ManualClock())
    analytics.record(
        [
            tool(5.0, agent="a"),
            tool(7.0, tool="fetch", agent="a", status="error"),
            run(agent="a"),  # a start marker: not counted
            run(agent="a", duration_ms=2000.0, status="ok", steps=3),
            llm(agent="a"),
        ]
    )
    body = analytics.stats("5m", ["agent"])
    assert [s["key"]["operation"] for s in body["series"]] == [
        "execute_tool",
        "chat",
        "invoke_agent",
    ]
    tools = only_series(body, operation="execute_tool")
    assert tools["count"] == 2 and tools["error_rate"] == 0.5
    runs = only_series(body, operation="invoke_agent")
    assert runs["count"] == 1 and runs["steps"]["p99"] == 3.0
    assert runs["duration_ms"]["p50"] == 2000.0
    by_tool = analytics.stats("5m", ["tool", "status"])
    assert only_series(by_tool, tool="fetch")["key"]["status"] == "error"


async def test_consume_is_the_sink_entry_point() -> None:
    analytics = Analytics(clock=ManualClock())
    await analytics.consume([llm(), tool()])
    assert analytics.events_consumed == 2
    assert sum(s["count"] for s in analytics.stats("all", [])["series"]) == 2


@pytest.mark.parametrize(
    "group_by", [["user_id"], ["model", "session_id"], ["request_id"], ["model", "model"]]
)
def test_bad_group_by_is_named_in_the_error(group_by: list[str]) -> None:
    with pytest.raises(ValueError, match=r"^group_by: "):
        Analytics().stats("5m", group_by)


def test_model_cardinality_is_capped() -> None:
    analytics = Analytics(AnalyticsConfig(max_values={"model": 100}), clock=ManualClock())
    analytics.record([llm(model=f"typo-{i}") for i in range(5000)])
    models = {s["key"]["model"] for s in analytics.stats("all", ["model"])["series"]}
    assert len(models) == 101 and OTHER in models
    other = only_series(analytics.stats("all", ["model"]), model=OTHER)
    assert other["count"] == 4900


def test_series_count_is_capped() -> None:
    analytics = Analytics(AnalyticsConfig(max_series=10), clock=ManualClock())
    analytics.record([llm(model=f"m{i}", agent=f"a{i}") for i in range(50)])
    body = analytics.stats("all", ["model", "agent"])
    assert len(body["series"]) == 11
    assert only_series(body, model=OTHER)["key"]["agent"] == OTHER
    assert analytics.series_overflowed == 40


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"max_values": {"user_id": 5}}, AnalyticsConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"relative_accuracy": 0.5}, AnalyticsConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"bins": 5}, AnalyticsConfig)
