"""Events and OTLP spans with a canary planted in every free-text and identifier field.

Every planted text is ``"<marker> <canary>"``: the marker is a unique word the redactor leaves
alone, so finding it in the store proves the field was stored at all (the test can fail), while
the canary beside it must be gone. Identifier fields get the bare canary: the redactor replaces
the whole value by a pseudonym (``[ID:...]``), so there the proof is that pseudonym.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from .canaries import Canary

IDENTIFIERS = {
    "llm_call": (
        "id",
        "request_id",
        "session_id",
        "user_id",
        "tenant",
        "agent",
        "model",
        "provider",
        "error_type",
        "finish_reason",
        "operation",
        "reservation_id",
    ),
    "tool_call": (
        "id",
        "request_id",
        "session_id",
        "user_id",
        "tenant",
        "agent",
        "tool",
        "error_type",
        "call_id",
    ),
    "run": ("id", "request_id", "session_id", "user_id", "tenant", "agent", "error_type"),
}


@dataclass
class Planter:
    """Builds planted events and remembers each marker with the kind of field it went into."""

    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    content_markers: list[str] = field(default_factory=list)  # input/output/args/result
    kept_markers: list[str] = field(default_factory=list)  # error_message, attributes
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def text(self, canary: Canary, *, content: bool) -> str:
        marker = f"mk{self.run}n{next(self._counter)}z"  # z: n9 is no prefix of n90
        (self.content_markers if content else self.kept_markers).append(marker)
        return f"{marker} {canary.value}"

    def _common(self, canary: Canary, kind: str, variant: int) -> dict[str, Any]:
        now = time.time()
        event: dict[str, Any] = {
            name: f"{name[:3]}{variant}{kind[0]} {canary.value}" for name in IDENTIFIERS[kind]
        }
        event.update(
            type=kind,
            ts=now,
            start_ts=now - 1,
            duration_ms=1000.0,
            status="error",
            error_message=self.text(canary, content=False),
            attributes={
                "note": self.text(canary, content=False),
                f"k{variant} {canary.value}": self.text(canary, content=False),
                "count": 3,
            },
        )
        return event

    def _messages(self, canary: Canary) -> list[dict[str, Any]]:
        tool_payload = json.dumps({"hit": self.text(canary, content=True)})
        return [
            {"role": "system", "content": self.text(canary, content=True)},
            {
                "role": "user",
                "content": [{"type": "text", "text": self.text(canary, content=True)}],
                "name": self.text(canary, content=True),
            },
            {"role": "tool", "content": tool_payload},
        ]

    def _nested(self, canary: Canary) -> dict[str, Any]:
        return {
            "query": self.text(canary, content=True),
            "filters": [{"field": "owner", "eq": self.text(canary, content=True)}],
            f"by {canary.value}": {"deep": [[self.text(canary, content=True)]]},
        }

    def events(self, canary: Canary, variant: int) -> list[dict[str, Any]]:
        """An llm_call, a tool_call and a run; ``variant`` swaps string and nested content."""
        llm = self._common(canary, "llm_call", variant)
        llm.update(input_tokens=12, output_tokens=3, stream=True, ttft_ms=100.0)
        tool = self._common(canary, "tool_call", variant)
        run = self._common(canary, "run", variant)
        run["steps"] = 2
        if variant == 0:
            llm["input"] = self._messages(canary)
            llm["output"] = self.text(canary, content=True)
            tool["args"] = self._nested(canary)
            tool["result"] = self.text(canary, content=True)
        else:
            llm["input"] = self.text(canary, content=True)
            llm["output"] = {
                "role": "assistant",
                "content": self.text(canary, content=True),
                "tool_calls": [{"arguments": json.dumps(self._nested(canary))}],
            }
            tool["args"] = json.dumps(self._nested(canary))
            tool["result"] = self._nested(canary)
        return [llm, tool, run]

    def otlp_request(self, canaries: list[Canary]) -> tuple[bytes, int]:
        """An OTLP/HTTP protobuf body: a chat, an execute_tool and an invoke_agent span per
        canary, with the canary in every gen_ai attribute that becomes an event field."""
        spans: list[Span] = []
        now_ns = time.time_ns()
        for canary in canaries:
            trace_id = uuid.uuid4().bytes
            common = {
                "user.id": f"u {canary.value}",
                "gen_ai.conversation.id": f"conv {canary.value}",
                "gen_ai.agent.name": f"agent {canary.value}",
                "error.type": f"err {canary.value}",
                "server.address": f"host {canary.value}",
            }
            chat: dict[str, str | int] = {
                **common,
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": f"model {canary.value}",
                "gen_ai.provider.name": f"prov {canary.value}",
                "gen_ai.response.id": f"resp {canary.value}",
                "gen_ai.usage.input_tokens": 7,
                "gen_ai.usage.output_tokens": 2,
                "gen_ai.input.messages": json.dumps(self._messages(canary)),
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"content": self.text(canary, content=True)}]}]
                ),
            }
            tool: dict[str, str | int] = {
                **common,
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": f"tool {canary.value}",
                "gen_ai.tool.call.id": f"call {canary.value}",
                "gen_ai.tool.call.arguments": json.dumps(self._nested(canary)),
                "gen_ai.tool.call.result": self.text(canary, content=True),
            }
            agent: dict[str, str | int] = {**common, "gen_ai.operation.name": "invoke_agent"}
            for n, attributes in enumerate((chat, tool, agent), start=1):
                spans.append(
                    Span(
                        trace_id=trace_id,
                        span_id=n.to_bytes(8, "big"),
                        name=f"{attributes['gen_ai.operation.name']} {canary.value}",
                        start_time_unix_nano=now_ns - 10**9,
                        end_time_unix_nano=now_ns,
                        attributes=[_kv(k, v) for k, v in attributes.items()],
                        status=Status(
                            code=Status.STATUS_CODE_ERROR, message=self.text(canary, content=False)
                        ),
                    )
                )
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=Resource(attributes=[_kv("service.name", "privacy-test")]),
                    scope_spans=[ScopeSpans(spans=spans)],
                )
            ]
        )
        return request.SerializeToString(), len(spans)


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))
