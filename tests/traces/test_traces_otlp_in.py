"""Spans from the real OpenTelemetry SDK, sent by the real OTLP/HTTP exporter, become events."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from sidecar.events.otlp import decode_otlp_traces
from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.telemetry.config import TracesConfig
from sidecar.telemetry.otlp_export import SpanExporterSink

T0 = 1_700_000_000_000_000_000  # ns


def _instrumented_agent(endpoint: str) -> None:
    """What an agent instrumented with OTel GenAI / OpenLLMetry sends, via the real exporter."""
    provider = TracerProvider(resource=Resource.create({"service.name": "support-agent"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    tracer = provider.get_tracer("my-instrumentation")
    root = tracer.start_span(
        "invoke_agent support",
        kind=SpanKind.INTERNAL,
        start_time=T0,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "support",
            "gen_ai.conversation.id": "conv-9",
        },
    )
    ctx = set_span_in_context(root)
    chat = tracer.start_span(
        "chat gpt-4o-mini",
        context=ctx,
        kind=SpanKind.CLIENT,
        start_time=T0 + 10_000_000,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 321,
            "gen_ai.usage.output_tokens": 54,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.conversation.id": "conv-9",
            "gen_ai.response.id": "chatcmpl-1",
            "gen_ai.input.messages": '[{"role":"user","content":"hi"}]',
        },
    )
    chat.end(end_time=T0 + 760_000_000)  # 750 ms
    legacy = tracer.start_span(  # OpenLLMetry's spellings, older gen_ai.system
        "openai.chat",
        context=ctx,
        kind=SpanKind.CLIENT,
        start_time=T0 + 800_000_000,
        attributes={
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "llm.usage.prompt_tokens": 1000,
            "gen_ai.usage.completion_tokens": 200,
            "llm.is_streaming": True,
        },
    )
    legacy.end(end_time=T0 + 1_050_000_000)  # 250 ms
    tool = tracer.start_span(
        "execute_tool lookup_order",
        context=ctx,
        start_time=T0 + 1_100_000_000,
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup_order",
            "gen_ai.tool.call.id": "call_42",
        },
    )
    tool.end(end_time=T0 + 1_142_500_000)  # 42.5 ms
    failed = tracer.start_span(
        "chat claude-haiku",
        context=ctx,
        kind=SpanKind.CLIENT,
        start_time=T0 + 1_200_000_000,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-haiku",
            "gen_ai.usage.input_tokens": 12,
            "error.type": "overloaded_error",
        },
    )
    failed.set_status(Status(StatusCode.ERROR, "upstream overloaded"))
    failed.end(end_time=T0 + 1_300_000_000)
    http = tracer.start_span(
        "GET /orders/42",
        context=ctx,
        kind=SpanKind.CLIENT,
        start_time=T0 + 1_110_000_000,
        attributes={"http.method": "GET"},
    )
    http.end(end_time=T0 + 1_120_000_000)
    root.end(end_time=T0 + 2_000_000_000)
    provider.force_flush()
    provider.shutdown()


@pytest.fixture
def captured_body(http_receiver: Any) -> bytes:
    _instrumented_agent(http_receiver.endpoint + "/v1/traces")
    http_receiver.wait_for(lambda spans: len(spans) >= 6)
    request = ExportTraceServiceRequest()
    for raw in http_receiver.raw_bodies:  # one request, or several: merge them
        request.MergeFromString(raw)
    return request.SerializeToString()


def _by_type(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    for event in events:
        grouped.setdefault(type(event).__name__, []).append(event)
    return grouped


def _check_events(events: list[Event]) -> None:
    grouped = _by_type(events)
    assert len(grouped["LlmCall"]) == 3 and len(grouped["ToolCall"]) == 1
    assert len(grouped["Run"]) == 1
    (run,) = grouped["Run"]
    assert isinstance(run, Run)
    llm = {event.model: event for event in grouped["LlmCall"] if isinstance(event, LlmCall)}
    chat = llm["gpt-4o-mini"]
    assert (chat.input_tokens, chat.output_tokens) == (321, 54)
    assert chat.provider == "openai" and chat.operation == "chat"
    assert chat.duration_ms == pytest.approx(750.0)
    assert chat.start_ts == pytest.approx((T0 + 10_000_000) / 1e9)
    assert chat.finish_reason == "stop" and chat.status == "ok"
    assert chat.session_id == "conv-9"
    assert chat.input == '[{"role":"user","content":"hi"}]'  # content is redacted at ingest
    assert chat.response_id == "chatcmpl-1" and chat.attributes is None
    legacy = llm["gpt-4o"]
    assert (legacy.input_tokens, legacy.output_tokens) == (1000, 200)
    assert legacy.provider == "openai" and legacy.stream is True
    assert legacy.duration_ms == pytest.approx(250.0)
    failed = llm["claude-haiku"]
    assert failed.status == "error" and failed.error_type == "overloaded_error"
    assert failed.error_message == "upstream overloaded"
    (tool,) = grouped["ToolCall"]
    assert isinstance(tool, ToolCall)
    assert tool.tool == "lookup_order" and tool.call_id == "call_42"
    assert tool.duration_ms == pytest.approx(42.5)
    assert run.agent == "support" and run.duration_ms == pytest.approx(2000.0)
    assert run.parent_span_id is None
    # One trace, one request; every child points at the root span; ids make retries idempotent.
    assert {event.trace_id for event in events} == {run.trace_id}
    assert {event.request_id for event in events} == {run.trace_id}
    assert all(e.parent_span_id == run.span_id for e in events if e is not run)
    assert all(e.id == f"otlp-{e.trace_id}-{e.span_id}" for e in events)


def test_protobuf_from_the_real_sdk(captured_body: bytes) -> None:
    result = decode_otlp_traces(captured_body, "application/x-protobuf")
    assert result.ignored_spans == 1  # the plain HTTP span
    assert result.rejected_spans == 0
    _check_events(result.events)


def _otlp_json(body: bytes) -> bytes:
    """The OTLP JSON mapping of a protobuf request: hex ids, integer enums, int64 as strings."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    text = json.dumps(document)
    assert '"intValue": "321"' in text  # 64-bit integers travel as strings
    return text.encode()


def otlp_to_events(body: bytes, media_type: str) -> list[Event]:
    return decode_otlp_traces(body, media_type).events


def test_json_mapping(captured_body: bytes) -> None:
    body = _otlp_json(captured_body)
    from_json = otlp_to_events(body, "application/json")
    _check_events(from_json)
    assert from_json == otlp_to_events(captured_body, "application/x-protobuf")


def test_hand_written_json() -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "text_completion davinci",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000500000000",
                                "attributes": [
                                    {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                                    {
                                        "key": "gen_ai.usage.prompt_tokens",
                                        "value": {"intValue": "7"},
                                    },
                                    {
                                        "key": "gen_ai.usage.completion_tokens",
                                        "value": {"intValue": 9},
                                    },
                                ],
                                "unknownFutureField": {"x": 1},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    (event,) = otlp_to_events(json.dumps(body).encode(), "application/json")
    assert isinstance(event, LlmCall)
    assert (event.model, event.provider) == ("davinci", "openai")
    assert event.operation == "text_completion"
    assert (event.input_tokens, event.output_tokens, event.duration_ms) == (7, 9, 500.0)
    assert event.trace_id == "5b8efff798038103d269b633813fc60c"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"not a protobuf at all", "application/x-protobuf", "protobuf"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[]", "application/json", "OTLP JSON trace request"),
        (b'{"resourceSpans": 5}', "application/json", "array"),
        (b"<xml/>", "text/xml", "content type"),
    ],
)
def test_malformed_input_raises_a_clear_value_error(
    body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        otlp_to_events(body, content_type)


def test_span_breaking_the_schema_is_rejected_alone() -> None:
    def span(span_id: str, tokens: str) -> dict[str, Any]:
        return {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": span_id,
            "name": "chat m",
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000001000000000",
            "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": tokens}}],
        }

    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            span("eee19b7ec3c1b174", "2000000000"),
                            span("eee19b7ec3c1b175", "5"),
                        ]
                    }
                ]
            }
        ]
    }
    result = decode_otlp_traces(json.dumps(body).encode(), "application/json")
    assert [event.input_tokens for event in result.events if isinstance(event, LlmCall)] == [5]
    assert result.rejected_spans == 1
    assert result.error_message is not None and "input_tokens" in result.error_message


async def test_forwarded_events_keep_the_agent_trace(
    captured_body: bytes, grpc_receiver: Any
) -> None:
    events = otlp_to_events(captured_body, "application/x-protobuf")
    config = TracesConfig(
        enabled=True, protocol="grpc", endpoint=grpc_receiver.endpoint, schedule_delay_ms=50.0
    )
    sink = SpanExporterSink.from_config(config)
    try:
        await sink.consume(events)
        grpc_receiver.wait_for(lambda spans: len(spans) >= 5)
    finally:
        sink.shutdown()
    sent = {(e.trace_id, e.span_id, e.parent_span_id) for e in events}
    got = {
        (s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex() or None)
        for s in grpc_receiver.spans()
    }
    assert got == sent
    names = {span.name for span in grpc_receiver.spans()}
    assert names == {
        "invoke_agent support",
        "chat gpt-4o-mini",
        "chat gpt-4o",
        "chat claude-haiku",
        "execute_tool lookup_order",
    }
