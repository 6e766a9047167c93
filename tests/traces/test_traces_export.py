"""A run arrives at a real OTLP receiver (HTTP/protobuf and gRPC) as exactly one GenAI trace."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.telemetry.config import TracesConfig
from sidecar.telemetry.otlp_export import SpanExporterSink
from sidecar.telemetry.span_ids import (
    TraceIdTransform,
    hex_span_id,
    root_span_id_for,
    trace_id_for,
)

from .receivers import ReceivedSpans, attrs, value
from .sample_events import BASE_TS, sample_run


def nanos(seconds: float) -> int:
    return round(seconds * 1e9)


def make_sink(protocol: str, endpoint: str, **overrides: Any) -> SpanExporterSink:
    config = TracesConfig(
        enabled=True,
        protocol=protocol,  # type: ignore[arg-type]
        endpoint=endpoint,
        timeout_s=5.0,
        schedule_delay_ms=50.0,
        service_name="billing-agent",
        service_namespace="agents",
        deployment_environment="test",
        **overrides,
    )
    return SpanExporterSink.from_config(config)


@pytest.fixture(params=["http/protobuf", "grpc"])
def receiver_and_protocol(
    request: pytest.FixtureRequest,
) -> tuple[ReceivedSpans, str]:
    name = "http_receiver" if request.param == "http/protobuf" else "grpc_receiver"
    return request.getfixturevalue(name), request.param


async def test_run_arrives_as_one_genai_trace(
    receiver_and_protocol: tuple[ReceivedSpans, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    receiver, protocol = receiver_and_protocol
    sink = make_sink(protocol, receiver.endpoint)  # type: ignore[attr-defined]
    try:
        for event in sample_run():  # one by one, as they are stored; the run comes last
            await sink.consume([event])
        receiver.wait_for(lambda spans: len(spans) >= 5)
    finally:
        sink.shutdown()

    spans = receiver.spans()
    assert len(spans) == 5
    assert {span.trace_id.hex() for span in spans} == {f"{trace_id_for('req-1'):032x}"}
    by_name = {span.name: span for span in spans}
    assert set(by_name) == {
        "invoke_agent planner",
        "chat gpt-4o",
        "chat claude-sonnet-4",
        "execute_tool search",
        "execute_tool fetch",
    }
    root = by_name["invoke_agent planner"]
    assert root.parent_span_id == b""
    assert root.span_id.hex() == hex_span_id(root_span_id_for("req-1"))
    assert root.kind == Span.SPAN_KIND_INTERNAL
    for name, span in by_name.items():
        if span is not root:
            assert span.parent_span_id == root.span_id, name
    assert by_name["chat gpt-4o"].kind == Span.SPAN_KIND_CLIENT
    assert by_name["chat claude-sonnet-4"].kind == Span.SPAN_KIND_CLIENT
    assert by_name["execute_tool search"].kind == Span.SPAN_KIND_INTERNAL

    # Times are the events' own, to the nanosecond (start_ts, start_ts + duration_ms).
    for span, start, duration_ms in [
        (root, BASE_TS, 2000.0),
        (by_name["chat gpt-4o"], BASE_TS + 0.1, 800.0),
        (by_name["execute_tool search"], BASE_TS + 1.0, 200.0),
        (by_name["execute_tool fetch"], BASE_TS + 1.3, 100.0),
        (by_name["chat claude-sonnet-4"], BASE_TS + 1.5, 300.0),
    ]:
        assert span.start_time_unix_nano == nanos(start), span.name
        assert span.end_time_unix_nano == nanos(start + duration_ms / 1000.0), span.name

    stream = attrs(by_name["chat gpt-4o"])
    assert stream["gen_ai.operation.name"] == "chat"
    assert stream["gen_ai.provider.name"] == "openai"
    assert stream["gen_ai.request.model"] == "gpt-4o"
    assert stream["gen_ai.usage.input_tokens"] == 120
    assert stream["gen_ai.usage.output_tokens"] == 30
    assert stream["gen_ai.response.finish_reasons"] == ["stop"]
    assert stream["gen_ai.conversation.id"] == "sess-1"
    assert stream["attempt"] == 1
    # v1.41 names by default: the newer TTFT/stream/cache names only behind the opt-in.
    assert "gen_ai.response.time_to_first_chunk" not in stream
    assert "gen_ai.request.stream" not in stream
    assert "gen_ai.system" not in stream
    assert by_name["chat gpt-4o"].status.code == Status.STATUS_CODE_UNSET

    failed_llm = by_name["chat claude-sonnet-4"]
    assert failed_llm.status.code == Status.STATUS_CODE_ERROR
    assert failed_llm.status.message == "RateLimitError"
    assert attrs(failed_llm)["error.type"] == "RateLimitError"
    assert attrs(failed_llm)["gen_ai.provider.name"] == "anthropic"

    search = attrs(by_name["execute_tool search"])
    assert search["gen_ai.operation.name"] == "execute_tool"
    assert search["gen_ai.tool.name"] == "search"
    assert search["gen_ai.tool.call.id"] == "call-1"
    assert "error.type" not in search
    fetch = by_name["execute_tool fetch"]
    assert fetch.status.code == Status.STATUS_CODE_ERROR
    assert attrs(fetch)["error.type"] == "TimeoutError"

    run = attrs(root)
    assert run["gen_ai.operation.name"] == "invoke_agent"
    assert run["gen_ai.agent.name"] == "planner"
    assert run["gen_ai.conversation.id"] == "sess-1"
    assert root.status.code == Status.STATUS_CODE_UNSET

    resource_attributes = receiver.requests[0].resource_spans[0].resource.attributes
    resource = {kv.key: value(kv.value) for kv in resource_attributes}
    assert resource["service.name"] == "billing-agent"
    assert resource["service.namespace"] == "agents"
    assert resource["deployment.environment.name"] == "test"
    assert sink.stats()["exported"] == 5
    assert sink.stats()["dropped"] == 0


async def test_agent_w3c_ids_are_kept(http_receiver: Any) -> None:
    trace_id, run_span, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "a" * 16
    events: list[Event] = [
        ToolCall(
            ts=BASE_TS + 1,
            request_id="r",
            tool="t",
            start_ts=BASE_TS,
            duration_ms=5.0,
            trace_id=trace_id,
            span_id="1" * 16,
            parent_span_id=run_span,
        ),
        Run(
            ts=BASE_TS + 2,
            request_id="r",
            start_ts=BASE_TS,
            duration_ms=10.0,
            trace_id=trace_id,
            span_id=run_span,
            parent_span_id=parent,
        ),
    ]
    sink = make_sink("http/protobuf", http_receiver.endpoint)
    try:
        await sink.consume(events)
        http_receiver.wait_for(lambda spans: len(spans) >= 2)
    finally:
        sink.shutdown()
    by_name = {span.name: span for span in http_receiver.spans()}
    assert {span.trace_id.hex() for span in by_name.values()} == {trace_id}
    assert by_name["invoke_agent"].span_id.hex() == run_span
    assert by_name["invoke_agent"].parent_span_id.hex() == parent  # the agent's own parent
    assert by_name["execute_tool t"].parent_span_id.hex() == run_span


async def test_latest_experimental_names_behind_the_opt_in(
    http_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http,gen_ai_latest_experimental")
    sink = make_sink("http/protobuf", http_receiver.endpoint)
    try:
        await sink.consume(sample_run()[:1])
        http_receiver.wait_for(lambda spans: len(spans) >= 1)
    finally:
        sink.shutdown()
    streamed = attrs(http_receiver.spans()[0])
    assert streamed["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.150)
    assert streamed["gen_ai.request.stream"] is True
    assert streamed["gen_ai.usage.cache_read.input_tokens"] == 20


async def test_resent_event_keeps_its_span_id(http_receiver: Any) -> None:
    event = LlmCall(
        id="same",
        ts=BASE_TS,
        request_id="r2",
        model="m",
        provider="p",
        input_tokens=1,
        output_tokens=1,
        start_ts=BASE_TS,
        duration_ms=1.0,
    )
    sink = make_sink("http/protobuf", http_receiver.endpoint)
    try:
        await sink.consume([event])
        await sink.consume([event])
        http_receiver.wait_for(lambda spans: len(spans) >= 2)
    finally:
        sink.shutdown()
    assert len({span.span_id for span in http_receiver.spans()}) == 1
    await sink.consume([event])  # after shutdown: not exported, but counted
    assert sink.stats()["dropped"] == 1


async def test_stored_ids_match_exported_spans(http_receiver: Any) -> None:
    events = sample_run("req-ids")
    TraceIdTransform().process(events)  # at ingest, before the store
    stored = {(e.trace_id, e.span_id, e.parent_span_id) for e in events}
    assert len({e.trace_id for e in events}) == 1
    sink = make_sink("http/protobuf", http_receiver.endpoint)
    try:
        await sink.consume(sample_run("req-ids"))  # the same events without ids
        http_receiver.wait_for(lambda spans: len(spans) >= 5)
    finally:
        sink.shutdown()
    exported = {
        (s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex() or None)
        for s in http_receiver.spans()
    }
    assert exported == stored
