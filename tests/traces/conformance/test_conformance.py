"""Conformance of OTLP in with the real GenAI instrumentations, end to end over loopback.

Path covered: the real ``openai`` SDK, instrumented by the official
``opentelemetry-instrumentation-openai-v2``, OpenLLMetry's ``opentelemetry-instrumentation-openai``
or OpenLIT (and, for nesting, OpenLLMetry's LangChain instrumentation over the official one with
a LangChain agent), calls a fake OpenAI-compatible provider; the real OTLP/HTTP exporter sends
the spans gzip-compressed to a running sidecar's ``POST /v1/traces``; the sidecar stores events,
counts them in ``/metrics`` and forwards spans to a real OTLP receiver. The instrumentations run
in their own virtualenv (``make venv-otel``; ``driver.py``), so their pins never meet ours.

Per call: exactly one ``llm_call``; model (asked for) and response model; tokens, or 0 and
``usage_unknown`` for a stream without usage; status and error type; ``stream``; the span's own
duration (to the microsecond), and that span within 5% of what the client measured on the
monotonic clock whenever the wall clock stayed in step with it (a VM resumed or an NTP step
moves the spans' timestamps, not the sidecar); TTFT within 10% of the client's first chunk for
the families that send one (OpenLLMetry's chunk events, OpenLIT's attribute; the official
instrumentation sends none); the client's parentage (roots stay roots); the user id from the
resource's ``enduser.id``; counters; forwarded spans with every parent id and the response model.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, make_settings, require_service, start_sidecar
from tests.traces.receivers import HttpOtlpReceiver, attrs

DRIVER = Path(__file__).with_name("driver.py")
OTEL_PYTHON = Path(os.environ.get("SIDECAR_OTEL_PYTHON", REPO / ".venv-otel" / "bin" / "python"))
RESPONSE_MODEL = "gpt-4o-mini-2024-08-06"
PROMPT_TOKENS = 17
COMPLETION_TOKENS = {
    "non_stream": 9,
    "stream_usage": 8,
    "tool_call": 9,
    "tool_call_stream": 3,
    "nested": 9,
}
SENDS_STREAM = {"v2": False, "openllmetry": True, "openlit": True}
SENDS_TTFT = SENDS_STREAM
ERROR_PREFIX = {"v2": "openai.", "openllmetry": "", "openlit": ""}
CLOCK_STEP_MS = 5.0


async def _drive(family: str, url: str) -> dict[str, Any]:
    require_service(OTEL_PYTHON.exists(), f"{OTEL_PYTHON} missing: run `make venv-otel`")
    process = await asyncio.create_subprocess_exec(
        str(OTEL_PYTHON),
        str(DRIVER),
        family,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "OTEL_PYTHON_LOG_LEVEL": "error",
        },
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, err.decode()[-3000:]
    output: dict[str, Any] = json.loads(out)
    assert output["exports"] and set(output["exports"]) == {"SUCCESS"}, output["exports"]
    return output


async def _get(http: Any, url: str) -> Any:
    async with http.get(url) as response:
        assert response.status == 200
        if response.content_type == "application/json":
            return await response.json()
        return await response.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _metric(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _clock_steady(measured: dict[str, Any]) -> bool:
    """Whether the wall clock the spans' timestamps come from kept pace with the monotonic clock
    during the call (within 5 ms); a VM resumed or an NTP step breaks that, not the sidecar."""
    return bool(abs(measured["wall_ms"] - measured["client_ms"]) < CLOCK_STEP_MS)


def _assert_duration(stored_ms: float, span: dict[str, Any], measured: dict[str, Any]) -> None:
    """The stored duration is the span's own end minus start (to the microsecond), and that span
    is the call's: within 5% of what the client measured, when the clock was steady."""
    assert stored_ms == pytest.approx(span["duration_ms"], abs=1e-3)
    if _clock_steady(measured):
        assert span["duration_ms"] == pytest.approx(measured["client_ms"], rel=0.05)


def _client_span(call: dict[str, Any]) -> dict[str, Any]:
    """The span the instrumentation made for this call (not the HTTP child, not our parent)."""
    genai = [
        s for s in call["spans"] if s["name"] == "openai.chat" or s["name"].startswith("chat ")
    ]
    assert len(genai) == 1, call["spans"]
    return genai[0]


@pytest.fixture
async def forwarding_sidecar(tmp_path: Path, http_receiver: HttpOtlpReceiver) -> Any:
    settings = make_settings(
        tmp_path,
        traces={"enabled": True, "schedule_delay_ms": 50, "endpoint": http_receiver.endpoint},
    )
    running, runner = await start_sidecar(settings)
    try:
        yield running
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("family", ["v2", "openllmetry", "openlit"])
async def test_each_call_of_a_real_instrumentation_is_one_faithful_event(
    family: str, forwarding_sidecar: Any, http: Any, http_receiver: HttpOtlpReceiver
) -> None:
    sidecar = forwarding_sidecar
    output = await _drive(family, sidecar.url)
    calls = output["calls"]
    stored = (await _get(http, sidecar.url + "/v1/events?type=llm_call&limit=1000"))["events"]
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for event in stored:
        by_trace.setdefault(event["trace_id"], []).append(event)
    assert len(stored) == len(calls)
    for call in calls:
        span = _client_span(call)
        label = call["label"]
        assert len(by_trace.get(span["trace_id"], [])) == 1, label
        (event,) = by_trace[span["trace_id"]]
        assert event["span_id"] == span["span_id"], label
        assert event.get("parent_span_id") == span["parent_span_id"] == call["parent_span_id"]
        assert event["model"] == call["model"], label
        assert event["user_id"] == "user-7"  # the resource's enduser.id
        _assert_duration(event["duration_ms"], span, call)
        if call["error"]:
            assert event["status"] == "error", label
            assert event["error_type"] == ERROR_PREFIX[family] + call["error"], label
            assert (event["input_tokens"], event["output_tokens"]) == (0, 0)
            assert "usage_unknown" not in event
            continue
        assert event.get("status", "ok") == "ok" and "error_type" not in event, label
        assert event["response_model"] == RESPONSE_MODEL, label
        assert event["response_id"].startswith("chatcmpl-"), label
        if call["usage"]:
            tokens = (PROMPT_TOKENS, COMPLETION_TOKENS[label])
            assert (event["input_tokens"], event["output_tokens"]) == tokens, label
            assert "usage_unknown" not in event, label
        else:
            assert (event["input_tokens"], event["output_tokens"]) == (0, 0), label
            assert event["usage_unknown"] is True, label
        assert event.get("stream") == (call["stream"] if SENDS_STREAM[family] else None), label
        if call["stream"] and SENDS_TTFT[family]:
            assert 0 < event["ttft_ms"] < event["duration_ms"], label
            if _clock_steady(call):
                assert event["ttft_ms"] == pytest.approx(call["client_ttft_ms"], rel=0.10), label
        else:
            assert event.get("ttft_ms") is None, label

    samples = _samples(await _get(http, sidecar.url + "/metrics"))
    other_spans = output["exported_spans"] - len(calls)
    assert _metric(samples, "agent_sidecar_events_ingested_total") == len(calls)
    assert _metric(samples, "agent_sidecar_otlp_spans_total", outcome="mapped") == len(calls)
    assert _metric(samples, "agent_sidecar_otlp_spans_total", outcome="ignored") == other_spans
    assert _metric(samples, "agent_sidecar_otlp_spans_total", outcome="rejected") == 0
    assert _metric(samples, "agent_sidecar_otlp_spans_total", outcome="merged") == 0
    unknown = sum(1 for c in calls if not c["usage"] and not c["error"])
    assert _metric(samples, "agent_sidecar_llm_calls_usage_unknown_total") == unknown == 1
    with_usage = sum(1 for c in calls if c["usage"] and not c["error"])
    labels = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini",
    }
    for token_type in ("input", "output"):
        assert (
            _metric(
                samples, "gen_ai_client_token_usage_count", gen_ai_token_type=token_type, **labels
            )
            == with_usage
        )
    assert not [
        k for k, v in samples.items() if k[0] == "agent_sidecar_events_rejected_total" and v
    ]

    # Forwarded: every span keeps its parent id (roots stay roots) and the response model.
    await asyncio.to_thread(http_receiver.wait_for, lambda spans: len(spans) >= len(calls))
    forwarded = {span.span_id.hex(): span for span in http_receiver.spans()}
    for event in stored:
        span = forwarded[event["span_id"]]
        assert span.trace_id.hex() == event["trace_id"]
        assert (span.parent_span_id.hex() or None) == event.get("parent_span_id")
        got = attrs(span)
        assert got.get("gen_ai.response.model") == event.get("response_model")
        assert got.get("error.type") == event.get("error_type")
        assert got["gen_ai.request.model"] == event["model"]


async def test_nested_framework_spans_give_one_event_per_call_and_one_run_per_agent_run(
    forwarding_sidecar: Any, http: Any, http_receiver: HttpOtlpReceiver
) -> None:
    """LangChain's ChatOpenAI span beside the official instrumentor's chat span (same response
    id) is one call; its ``support.workflow`` run inside ``invoke_agent support`` is one run."""
    sidecar = forwarding_sidecar
    output = await _drive("langchain", sidecar.url)
    stored = (await _get(http, sidecar.url + "/v1/events?limit=1000"))["events"]
    assert len(output["runs"]) == 2
    for run in output["runs"]:
        spans = run["spans"]
        (trace_id,) = {s["trace_id"] for s in spans}
        events = [e for e in stored if e["trace_id"] == trace_id]
        kinds = Counter(e["type"] for e in events)
        assert kinds == {"llm_call": 2, "tool_call": 1, "run": 1}, kinds
        (root,) = [
            s for s in spans if s["parent_span_id"] is None and s["name"] == "invoke_agent support"
        ]
        (run_event,) = [e for e in events if e["type"] == "run"]
        assert run_event["span_id"] == root["span_id"] and "parent_span_id" not in run_event
        assert run_event["agent"] == "support"
        _assert_duration(run_event["duration_ms"], root, run)
        ids = {s["span_id"]: s for s in spans}
        for event in events:
            assert event["span_id"] in ids  # the client's own ids, nothing invented
            assert event.get("parent_span_id") == ids[event["span_id"]]["parent_span_id"]
        for event in (e for e in events if e["type"] == "llm_call"):
            assert (event["input_tokens"], event["output_tokens"]) == (PROMPT_TOKENS, 9)
            assert event["response_model"] == RESPONSE_MODEL
    samples = _samples(await _get(http, sidecar.url + "/metrics"))
    assert _metric(samples, "agent_sidecar_otlp_spans_total", outcome="mapped") == 8
    # Per run: one LLM twin per call (2) and the workflow run inside invoke_agent (1).
    assert _metric(samples, "agent_sidecar_otlp_spans_total", outcome="merged") == 6
    aggregate = await _get(http, sidecar.url + "/v1/aggregate?group_by=model")
    total = aggregate["total"]
    assert (total["input_tokens"], total["output_tokens"]) == (4 * PROMPT_TOKENS, 4 * 9)
    await asyncio.to_thread(http_receiver.wait_for, lambda spans: len(spans) >= 8)
    forwarded = {span.span_id.hex(): span for span in http_receiver.spans()}
    for event in stored:
        assert (forwarded[event["span_id"]].parent_span_id.hex() or None) == event.get(
            "parent_span_id"
        )
