from __future__ import annotations

import os
import shutil
import subprocess

import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sidecar.analytics import OTHER, Analytics, ManualClock
from sidecar.telemetry.config import MetricsConfig
from sidecar.telemetry.prometheus import DURATION_BUCKETS, TOKEN_BUCKETS, PrometheusMetrics
from sidecar.telemetry.sketch_gauges import SketchQuantileCollector
from tests.analytics.events import llm, run, tool


def samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    text = generate_latest(registry).decode()
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def label_values(registry: CollectorRegistry, metric: str, label: str) -> set[str]:
    return {lab[label] for name, lab, _ in samples(registry) if name == metric and label in lab}


def busy_metrics(registry: CollectorRegistry) -> PrometheusMetrics:
    metrics = PrometheusMetrics(registry)
    metrics.record(
        [
            llm(1500.0, stream=True, ttft_ms=300.0, output_tokens=7, cost_usd=0.25),
            llm(10.0, status="error", user_id="u-secret", session_id="s-1", request_id="req-9"),
            tool(40.0, call_id="call-1"),
            tool(5.0, tool="fetch", status="error", error_type="TimeoutError"),
            run(agent="planner", duration_ms=9000.0, status="ok", steps=4),
        ]
    )
    metrics.events_ingested(5)
    metrics.events_rejected("schema")
    metrics.events_duplicate()
    metrics.events_unknown_fields(2)
    metrics.store_write(0.004, 500)
    metrics.set_ingest_queue_depth(12)
    metrics.set_store_up(True)
    return metrics


def test_genai_histograms_follow_the_conventions() -> None:
    registry = CollectorRegistry()
    busy_metrics(registry)
    got = samples(registry)
    names = {n for n, _, _ in got}
    for base in (
        "gen_ai_client_operation_duration_seconds",
        "gen_ai_client_operation_time_to_first_chunk_seconds",
        "gen_ai_client_operation_time_per_output_chunk_seconds",
        "gen_ai_client_token_usage",
        "gen_ai_execute_tool_duration_seconds",
        "gen_ai_invoke_agent_duration_seconds",
    ):
        assert {f"{base}_bucket", f"{base}_sum", f"{base}_count"} <= names, base
    les = {
        float(lab["le"])
        for n, lab, _ in got
        if n == "gen_ai_client_operation_duration_seconds_bucket"
    }
    assert les == {*DURATION_BUCKETS, float("inf")}
    token_les = {float(lab["le"]) for n, lab, _ in got if n == "gen_ai_client_token_usage_bucket"}
    assert token_les == {*TOKEN_BUCKETS, float("inf")}
    ok_calls = {
        (lab["le"], v)
        for n, lab, v in got
        if n == "gen_ai_client_operation_duration_seconds_bucket" and lab["error_type"] == ""
    }
    assert ("1.28", 0.0) in ok_calls and ("2.56", 1.0) in ok_calls  # 1.5 s
    ttft_sum = "gen_ai_client_operation_time_to_first_chunk_seconds_sum"
    assert [v for n, _, v in got if n == ttft_sum] == [pytest.approx(0.3)]
    tpoc = "gen_ai_client_operation_time_per_output_chunk_seconds_sum"
    assert [v for n, _, v in got if n == tpoc] == [pytest.approx(0.2)]  # (1.5-0.3)/6
    assert label_values(registry, "gen_ai_client_token_usage_count", "gen_ai_token_type") == {
        "input",
        "output",
    }
    errors = label_values(registry, "gen_ai_client_operation_duration_seconds_count", "error_type")
    assert errors == {"", OTHER}
    tool_errors = label_values(registry, "gen_ai_execute_tool_duration_seconds_count", "error_type")
    assert tool_errors == {"", "TimeoutError"}
    costs = [
        (labels, value) for name, labels, value in got if name == "agent_sidecar_cost_usd_total"
    ]
    assert costs and all(labels["model"] == "gpt-4o" for labels, _ in costs)
    assert sum(value for _, value in costs) == 0.25


def test_sidecar_own_metrics_in_base_units() -> None:
    registry = CollectorRegistry()
    busy_metrics(registry)
    got = {(n, tuple(sorted(lab.items()))): v for n, lab, v in samples(registry)}
    assert got[("agent_sidecar_events_ingested_total", ())] == 5
    assert got[("agent_sidecar_events_rejected_total", (("reason", "schema"),))] == 1
    assert got[("agent_sidecar_events_duplicate_total", ())] == 1
    assert got[("agent_sidecar_events_unknown_fields_total", ())] == 2
    assert got[("agent_sidecar_store_write_duration_seconds_sum", ())] == 0.004
    assert got[("agent_sidecar_store_batch_events_sum", ())] == 500
    assert got[("agent_sidecar_ingest_queue_depth", ())] == 12
    assert got[("agent_sidecar_store_up", ())] == 1


def test_identifiers_never_become_labels() -> None:
    registry = CollectorRegistry()
    busy_metrics(registry)
    text = generate_latest(registry).decode()
    for leaked in ("u-secret", "s-1", "req-9", "call-1"):
        assert leaked not in text
    label_names = {k for _, lab, _ in samples(registry) for k in lab}
    for forbidden in ("user_id", "session_id", "request_id", "call_id", "gen_ai_conversation_id"):
        assert forbidden not in label_names


def test_5000_models_leave_at_most_cap_plus_one_values() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    metrics.record([llm(model=f"typo-model-{i}", request_id=f"r{i}") for i in range(5000)])
    models = label_values(
        registry, "gen_ai_client_operation_duration_seconds_count", "gen_ai_request_model"
    )
    cap = MetricsConfig().max_label_values["gen_ai_request_model"]
    assert len(models) <= cap + 1 and OTHER in models
    all_models = {
        lab["gen_ai_request_model"]
        for _, lab, _ in samples(registry)
        if "gen_ai_request_model" in lab
    }
    assert len(all_models) <= cap + 1
    tools = PrometheusMetrics(
        CollectorRegistry(), MetricsConfig(max_label_values={"gen_ai_tool_name": 3})
    )
    tools.record([tool(tool=f"t{i}") for i in range(50)])
    assert tools.tool_duration.label_values("gen_ai_tool_name") == {"t0", "t1", "t2", OTHER}


def test_registries_are_independent() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    PrometheusMetrics(first).record([llm()])
    PrometheusMetrics(second)
    assert "gen_ai_client_operation_duration_seconds_count" in {n for n, _, _ in samples(first)}
    assert "gen_ai_client_operation_duration_seconds_count" not in {
        n for n, _, _ in samples(second)
    }


def test_config_rejects_unknown_labels() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown label"):
        msgspec.convert({"max_label_values": {"user_id": 5}}, MetricsConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"caps": {}}, MetricsConfig)


async def test_sketch_gauges_report_analytics_quantiles() -> None:
    registry = CollectorRegistry()
    analytics = Analytics(clock=ManualClock())
    await analytics.consume([llm(float(ms), stream=True, ttft_ms=ms / 4) for ms in range(1, 1001)])
    PrometheusMetrics(registry, MetricsConfig(sketch_quantiles=True), analytics=analytics)
    got = {
        (n, lab["percentile"]): v
        for n, lab, v in samples(registry)
        if n == "agent_sidecar_sketch_operation_duration_seconds"
    }
    assert got[("agent_sidecar_sketch_operation_duration_seconds", "99")] == pytest.approx(
        0.990, rel=0.01
    )
    silent = CollectorRegistry()
    PrometheusMetrics(silent, analytics=analytics)  # gauges are off by default
    assert not any(n.startswith("agent_sidecar_sketch_") for n, _, _ in samples(silent))


def promtool() -> str | None:
    path = shutil.which("promtool")
    if path is None and os.environ.get("CI") == "true":
        pytest.fail("promtool is required in CI (apt-get install prometheus)")
    return path


def test_exposition_passes_promtool_check_metrics() -> None:
    tool_path = promtool()
    if tool_path is None:
        pytest.skip("promtool not installed (apt-get install prometheus); CI is unset")
    registry = CollectorRegistry()
    busy_metrics(registry)
    analytics = Analytics(clock=ManualClock())
    analytics.record([llm(stream=True, ttft_ms=20.0), tool()])
    registry.register(SketchQuantileCollector(analytics))
    exposition = generate_latest(registry)
    result = subprocess.run(
        [tool_path, "check", "metrics"], input=exposition, capture_output=True, timeout=30
    )
    assert result.stdout.decode() + result.stderr.decode() == ""
    assert result.returncode == 0
