"""Sidecar events to OpenTelemetry GenAI spans (semantic conventions v1.41 by default).

One trace per run: the ``run`` event becomes the root ``invoke_agent {agent}`` span (INTERNAL),
each ``llm_call`` a ``chat {model}`` span (CLIENT; the operation name is the event's
``operation`` when set), each ``tool_call`` an ``execute_tool {tool}`` span (INTERNAL).
Start and end times are the event's own (``start_ts``, ``start_ts + duration_ms``), never the
export time. A failed event gives status ERROR and ``error.type``; a successful one leaves the
status unset, as the conventions ask.

Parentage: the agent's W3C ids when the event carries them (an event with its own span id and
no parent is a root, as in the agent's trace), else ids derived from ``request_id`` (see
:mod:`sidecar.telemetry.span_ids`), so each event is turned into a finished span on its own, in
any order, and the run event, arriving last, becomes the root.

Identifiers the client sent are kept: ``gen_ai.response.model``, ``gen_ai.response.id`` and
``error.type``. A call whose usage is unknown carries ``agent_sidecar.usage_unknown=true`` and
no usage attributes (rather than a made-up 0).

Privacy: spans are built only from events that were already redacted at ingest. Content
(``input``, ``output``, ``args``, ``result``, ``error_message`` and string ``attributes``) is
copied into ``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result`` and the span attributes only when
``capture_content`` is on; by default no content string of an event reaches a span.

Cheaper than the SDK tracer's ``start_span``/``end`` for the same span: a plain
:class:`ReadableSpan`, no tracer, no context switch (``bench/bench_traces.py``; figures in
docs/benchmarks.md, "GenAI spans").
"""

from __future__ import annotations

import os
from typing import Any

import msgspec
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.telemetry import genai_names as gn
from sidecar.telemetry.config import DEFAULT_SERVICE_NAME, TracesConfig
from sidecar.telemetry.span_ids import (
    child_span_id_for,
    root_span_id_for,
    span_key,
    trace_id_for,
)

SCOPE = InstrumentationScope("agent-sidecar", "0.1.0")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)
_json = msgspec.json.Encoder()


def build_resource(config: TracesConfig) -> Resource:
    """The spans' resource: ``OTEL_RESOURCE_ATTRIBUTES``/``OTEL_SERVICE_NAME``, then config.

    Values set in the config win; ``service.name`` falls back to ``agent-sidecar``.
    """
    attributes: dict[str, str] = {}
    if config.service_name:
        attributes["service.name"] = config.service_name
    elif not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        attributes["service.name"] = DEFAULT_SERVICE_NAME
    if config.service_namespace:
        attributes["service.namespace"] = config.service_namespace
    if config.deployment_environment:
        attributes["deployment.environment.name"] = config.deployment_environment
    return Resource.create(attributes)


def _content(value: Any) -> str:
    """Content as given: a string stays itself, anything else is its JSON text."""
    if isinstance(value, str):
        return value
    return _json.encode(value).decode("utf-8")


def _nanos(seconds: float) -> int:
    return round(seconds * 1e9)


class SpanBuilder:
    """Turns one event into one finished span; pure and thread-safe."""

    def __init__(
        self,
        resource: Resource,
        *,
        capture_content: bool = False,
        latest_experimental: bool = False,
    ) -> None:
        self.resource = resource
        self.capture_content = capture_content
        self.latest_experimental = latest_experimental

    @classmethod
    def from_config(cls, config: TracesConfig) -> SpanBuilder:
        """A builder with the config's resource, content capture and semconv opt-in."""
        return cls(
            build_resource(config),
            capture_content=config.capture_content,
            latest_experimental=config.latest_experimental(),
        )

    def build(self, event: Event) -> ReadableSpan:
        """The GenAI span of ``event`` (a ``run``, ``llm_call`` or ``tool_call``)."""
        attributes = self._common_attributes(event)
        if isinstance(event, LlmCall):
            name, kind = self._llm_attributes(event, attributes)
            end_s = event.start_ts + event.duration_ms / 1000.0
        elif isinstance(event, ToolCall):
            name, kind = self._tool_attributes(event, attributes)
            end_s = event.start_ts + event.duration_ms / 1000.0
        else:
            name, kind = self._run_attributes(event, attributes)
            if event.duration_ms is not None:
                end_s = event.start_ts + event.duration_ms / 1000.0
            else:
                end_s = max(event.ts, event.start_ts)
        context, parent = self._contexts(event)
        return ReadableSpan(
            name=name,
            context=context,
            parent=parent,
            resource=self.resource,
            attributes=attributes,
            kind=kind,
            status=self._status(event),
            start_time=_nanos(event.start_ts),
            end_time=_nanos(end_s),
            instrumentation_scope=SCOPE,
        )

    @staticmethod
    def _contexts(event: Event) -> tuple[SpanContext, SpanContext | None]:
        """(span context, parent context): W3C ids when given, else derived ones."""
        trace_id = int(event.trace_id, 16) if event.trace_id else trace_id_for(event.request_id)
        if event.span_id:
            span_id = int(event.span_id, 16)
        elif isinstance(event, Run):
            span_id = root_span_id_for(event.request_id)
        else:
            span_id = child_span_id_for(span_key(event))
        if event.parent_span_id:
            parent_id: int | None = int(event.parent_span_id, 16)
        elif isinstance(event, Run) or event.span_id:
            parent_id = None  # a root as sent (its own span id and no parent)
        else:
            parent_id = root_span_id_for(event.request_id)
        context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)
        if parent_id is None:
            return context, None
        return context, SpanContext(trace_id, parent_id, is_remote=False, trace_flags=_SAMPLED)

    def _common_attributes(self, event: Event) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {}
        if event.attributes:
            for key, value in event.attributes.items():
                if value is None or (isinstance(value, str) and not self.capture_content):
                    continue
                attributes[key] = value
        attributes[gn.SIDECAR_REQUEST_ID] = event.request_id
        if event.id:
            attributes[gn.SIDECAR_EVENT_ID] = event.id
        if event.session_id:
            attributes[gn.CONVERSATION_ID] = event.session_id
        if event.error_type:
            attributes[gn.ERROR_TYPE] = event.error_type
        elif event.status == "error":
            attributes[gn.ERROR_TYPE] = "_OTHER"
        return attributes

    def _llm_attributes(
        self, event: LlmCall, attributes: dict[str, AttributeValue]
    ) -> tuple[str, SpanKind]:
        operation = event.operation or gn.OP_CHAT
        attributes[gn.OPERATION_NAME] = operation
        attributes[gn.PROVIDER_NAME] = event.provider
        attributes[gn.REQUEST_MODEL] = event.model
        if event.response_model:
            attributes[gn.RESPONSE_MODEL] = event.response_model
        if event.response_id:
            attributes[gn.RESPONSE_ID] = event.response_id
        if event.usage_unknown:
            attributes[gn.SIDECAR_USAGE_UNKNOWN] = True  # no usage attributes: none is known
        else:
            attributes[gn.USAGE_INPUT_TOKENS] = event.input_tokens
            attributes[gn.USAGE_OUTPUT_TOKENS] = event.output_tokens
        if event.finish_reason:
            attributes[gn.RESPONSE_FINISH_REASONS] = (event.finish_reason,)
        if event.cost_usd is not None:
            attributes[gn.SIDECAR_COST_USD] = event.cost_usd
        if self.latest_experimental:
            if event.stream is not None:
                attributes[gn.LATEST_REQUEST_STREAM] = event.stream
            if event.ttft_ms is not None:
                attributes[gn.LATEST_TIME_TO_FIRST_CHUNK] = event.ttft_ms / 1000.0
            if event.cached_input_tokens is not None:
                attributes[gn.LATEST_CACHE_READ_INPUT_TOKENS] = event.cached_input_tokens
            if event.cache_creation_input_tokens is not None:
                attributes[gn.LATEST_CACHE_CREATION_INPUT_TOKENS] = (
                    event.cache_creation_input_tokens
                )
        if self.capture_content:
            if event.input is not None:
                attributes[gn.INPUT_MESSAGES] = _content(event.input)
            if event.output is not None:
                attributes[gn.OUTPUT_MESSAGES] = _content(event.output)
        return f"{operation} {event.model}", SpanKind.CLIENT

    def _tool_attributes(
        self, event: ToolCall, attributes: dict[str, AttributeValue]
    ) -> tuple[str, SpanKind]:
        attributes[gn.OPERATION_NAME] = gn.OP_EXECUTE_TOOL
        attributes[gn.TOOL_NAME] = event.tool
        if event.call_id:
            attributes[gn.TOOL_CALL_ID] = event.call_id
        if self.capture_content:
            if event.args is not None:
                attributes[gn.TOOL_CALL_ARGUMENTS] = _content(event.args)
            if event.result is not None:
                attributes[gn.TOOL_CALL_RESULT] = _content(event.result)
        return f"{gn.OP_EXECUTE_TOOL} {event.tool}", SpanKind.INTERNAL

    @staticmethod
    def _run_attributes(event: Run, attributes: dict[str, AttributeValue]) -> tuple[str, SpanKind]:
        attributes[gn.OPERATION_NAME] = gn.OP_INVOKE_AGENT
        if event.agent:
            attributes[gn.AGENT_NAME] = event.agent
            return f"{gn.OP_INVOKE_AGENT} {event.agent}", SpanKind.INTERNAL
        return gn.OP_INVOKE_AGENT, SpanKind.INTERNAL

    def _status(self, event: Event) -> Status:
        if event.status != "error":
            return _UNSET
        # The description is the low-cardinality error type; the message is content.
        description = event.error_type or "_OTHER"
        if self.capture_content and event.error_message:
            description = f"{description}: {event.error_message}"
        return Status(StatusCode.ERROR, description)
