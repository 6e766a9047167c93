"""GenAI spans to sidecar events: the mapping half of OTLP in.

Each :class:`~sidecar.events.otlp_wire.WireSpan` that is a GenAI operation becomes one event:

- an LLM call (``gen_ai.operation.name`` ``chat`` / ``text_completion`` / ``generate_content`` /
  ``embeddings``, OpenLLMetry's ``llm.request.type``, OpenInference's
  ``openinference.span.kind`` ``LLM`` / ``EMBEDDING``) an ``llm_call``;
- a tool execution (``execute_tool``, ``traceloop.span.kind=tool``, OpenInference ``TOOL``) a
  ``tool_call``; an agent run (``invoke_agent``, ``traceloop.span.kind`` ``agent`` /
  ``workflow``, OpenInference ``AGENT``) a ``run``;
- anything else (HTTP client spans, ``create_agent``, LangGraph tasks, ...) is ignored and
  counted, and so are the sidecar's own spans (scope ``agent-sidecar``), so an export loop
  cannot feed itself.

Which attribute fills which field is the table below (:data:`SOURCES`), first match wins; the
same table is in docs/traces.md. It covers OpenTelemetry GenAI (v1.3x to latest, with
``gen_ai.system`` and ``gen_ai.provider.name``), OpenLLMetry, OpenLIT and OpenInference.

**One event per operation.** Framework and client instrumentations often both record one model
call: LangChain's ``ChatOpenAI.chat`` beside the OpenAI instrumentor's ``chat gpt-4o``, an Agents
SDK response span around ``openai.chat``. LLM spans of one trace are one call when one is an
ancestor of the other, or when they carry the same ``gen_ai.response.id`` and overlap in time;
the kept span is the one with usage, then with a TTFT, then the innermost, then the shortest, and
fields it lacks are filled from its twins. Tool spans nested in a tool span of the same name are
one tool call (the innermost kept). Run spans nested in a run span of the same agent (or where
either names no agent) are one run, and the outermost is kept. Within one request this is exact;
across requests :class:`RecentCalls` remembers the last 16,384 LLM calls (a few MB), so a twin
exported in a later batch is dropped too (the first one stored wins).

**Parentage.** Ids are the client's: a span without a parent stays a root. Event id is
``otlp-{trace_id}-{span_id}``, so an exporter's retry is a duplicate, not a second call.

**Usage.** A call that reports no token counts (a stream without ``include_usage``; OpenLIT's
streams without usage, whose counts are its own estimate of characters / 2) is stored with 0
tokens and ``usage_unknown: true``; a failed call without usage is not marked.

A span whose values break the event schema (2·10^9 tokens, a non-finite number, an id of the
wrong length) is rejected alone, with its first error reported (OTLP partial success).

Long module: one mapping table per instrumentation family (OpenTelemetry GenAI, OpenLLMetry,
OpenLIT, OpenInference), kept together so the precedence between them is visible.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from sidecar.events.checked import checked, control_field
from sidecar.events.otlp_wire import STATUS_ERROR, WireSpan
from sidecar.events.schema import Event, EventBase, LlmCall, Run, ToolCall
from sidecar.validation import TOO_LONG, long_text_field

E = TypeVar("E", bound=EventBase)

SIDECAR_SCOPE = "agent-sidecar"

# Event field -> span attributes holding it, first match wins (docs/traces.md has this table).
SOURCES: dict[str, tuple[str, ...]] = {
    "model": (
        "gen_ai.request.model",
        "llm.request.model",
        "llm.model_name",
        "gen_ai.response.model",
        "llm.response.model",
    ),
    "response_model": ("gen_ai.response.model", "llm.response.model"),
    "response_id": ("gen_ai.response.id",),
    "provider": (
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.provider",
        "llm.system",
        "llm.vendor",
    ),
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "cached_input_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_creation_input_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "stream": ("gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming"),
    "ttft_s": ("gen_ai.response.time_to_first_chunk",),
    "stream_ttft_s": ("gen_ai.server.time_to_first_token",),
    "finish_reason": (
        "gen_ai.response.finish_reasons",
        "gen_ai.response.finish_reason",
        "llm.response.finish_reason",
    ),
    "error_type": ("error.type",),
    "tool": ("gen_ai.tool.name", "tool.name", "traceloop.entity.name"),
    "call_id": ("gen_ai.tool.call.id", "tool_call.id"),
    "agent_name": ("gen_ai.agent.name", "traceloop.entity.name", "agent.name"),
    "user_id": (
        "user.id",
        "enduser.id",
        "traceloop.association.properties.user_id",
        "gen_ai.request.user",
        "gen_ai.user",
        "llm.user",
    ),
    "session_id": (
        "gen_ai.conversation.id",
        "session.id",
        "traceloop.association.properties.session_id",
    ),
    "input": ("gen_ai.input.messages",),
    "output": ("gen_ai.output.messages",),
    "args": ("gen_ai.tool.call.arguments",),
    "result": ("gen_ai.tool.call.result",),
    "reservation_id": ("agent_sidecar.reservation_id",),
}
# Span events whose first occurrence is the first chunk of a stream (OpenLLMetry, OpenInference).
CHUNK_EVENTS = frozenset(
    {"gen_ai.content.completion.chunk", "llm.content.completion.chunk", "First Token Stream Event"}
)
# Kept as event attributes (numbers and short identifiers, exported again).
KEPT_ATTRIBUTES = frozenset(
    {"gen_ai.tool.type", "gen_ai.agent.id", "server.address", "gen_ai.server.time_per_output_token"}
)
LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
_LLM_REQUEST_TYPES = frozenset({"chat", "completion", "embedding", "rerank"})
_OPENINFERENCE_KINDS = {
    "LLM": "llm_call",
    "EMBEDDING": "llm_call",
    "TOOL": "tool_call",
    "AGENT": "run",
}
_TRACELOOP_KINDS = {"tool": "tool_call", "agent": "run", "workflow": "run"}
_CLASS_REPR = re.compile(r"^<class '([^']+)'>$")
_MERGED_FIELDS = {
    "llm_call": (
        "user_id",
        "session_id",
        "stream",
        "ttft_ms",
        "response_model",
        "response_id",
        "finish_reason",
        "cached_input_tokens",
        "cache_creation_input_tokens",
        "reservation_id",
        "input",
        "output",
        "error_type",
        "error_message",
    ),
    "tool_call": ("user_id", "session_id", "call_id", "args", "result", "error_type"),
    "run": ("user_id", "session_id", "agent", "error_type", "error_message"),
}
_MAX_ANCESTRY = 256


@dataclass
class MappedSpans:
    """Events of one request, and what happened to the spans that did not become one."""

    events: list[Event] = field(default_factory=list)
    ignored_spans: int = 0
    rejected_spans: int = 0
    merged_spans: int = 0
    error_message: str | None = None

    def reject(self, span: WireSpan, reason: str) -> None:
        self.rejected_spans += 1
        if self.error_message is None:
            # The span id only: names and values may hold PII the answer must not echo.
            self.error_message = f"span {span.span_id.hex() or '?'}: {reason}"


@dataclass
class _Candidate:
    span: WireSpan
    kind: str
    event: Event
    usage_known: bool
    group: int = -1


class RecentCalls:
    """The LLM calls stored lately, to drop a twin that a later export request carries.

    Bounded (``capacity`` calls, least recent forgotten) and thread-safe.
    """

    def __init__(self, capacity: int = 16_384) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._spans: OrderedDict[tuple[bytes, bytes], tuple[int, int]] = OrderedDict()
        self._parents: OrderedDict[tuple[bytes, bytes], bytes] = OrderedDict()
        self._responses: OrderedDict[tuple[bytes, str], tuple[bytes, int, int]] = OrderedDict()

    def is_twin(self, span: WireSpan, response_id: str | None) -> bool:
        """Whether ``span`` is the same call as one already stored under another span id."""
        trace = span.trace_id
        with self._lock:
            if span.parent_span_id and (trace, span.parent_span_id) in self._spans:
                return True
            child = self._parents.get((trace, span.span_id))
            if child is not None and child != span.span_id:
                return True
            if response_id:
                known = self._responses.get((trace, response_id))
                if known is not None and known[0] != span.span_id:
                    return known[1] <= span.end_ns and span.start_ns <= known[2]
        return False

    def remember(self, span: WireSpan, response_id: str | None) -> None:
        trace = span.trace_id
        with self._lock:
            self._put(self._spans, (trace, span.span_id), (span.start_ns, span.end_ns))
            if span.parent_span_id:
                self._put(self._parents, (trace, span.parent_span_id), span.span_id)
            if response_id:
                self._put(
                    self._responses,
                    (trace, response_id),
                    (span.span_id, span.start_ns, span.end_ns),
                )

    def _put(self, table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        if len(table) > self.capacity:
            table.popitem(last=False)


def spans_to_events(spans: Sequence[WireSpan], recent: RecentCalls | None = None) -> MappedSpans:
    """Map one request's spans to events (see the module docstring for every rule)."""
    result = MappedSpans()
    candidates: list[_Candidate] = []
    for span in spans:
        if span.scope == SIDECAR_SCOPE:
            result.ignored_spans += 1
            continue
        try:
            kind = classify(span.name, span.attributes)
        except Exception:  # a value of an unexpected type: this span alone is not usable
            result.reject(span, "span attributes have unexpected types")
            continue
        if kind is None:
            result.ignored_spans += 1
            continue
        if span.problem is not None:
            result.reject(span, span.problem)
            continue
        try:
            event, usage_known = _to_event(kind, span)
        except (msgspec.ValidationError, ValueError, OverflowError) as error:
            result.reject(span, str(error))
            continue
        except Exception:  # never an exception for a client's span: rejected alone
            result.reject(span, "span could not be mapped to an event")
            continue
        candidates.append(_Candidate(span, kind, event, usage_known))
    kept = _collapse(candidates, spans)
    result.merged_spans = len(candidates) - len(kept)
    for candidate in kept:
        event = candidate.event
        if recent is not None and isinstance(event, LlmCall):
            if recent.is_twin(candidate.span, event.response_id):
                result.merged_spans += 1
                continue
            recent.remember(candidate.span, event.response_id)
        result.events.append(event)
    return result


def classify(name: str, attributes: Mapping[str, Any]) -> str | None:
    """``llm_call``, ``tool_call``, ``run`` or None (not a GenAI operation)."""
    operation = attributes.get("gen_ai.operation.name")
    if not isinstance(operation, str) or not operation:
        operation = name.split(" ", 1)[0]
    if operation in LLM_OPERATIONS:
        return "llm_call"
    if operation == "execute_tool":
        return "tool_call"
    if operation == "invoke_agent":
        return "run"
    request_type = attributes.get("llm.request.type")
    if isinstance(request_type, str) and request_type in _LLM_REQUEST_TYPES:
        return "llm_call"
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[kind.upper()]
    kind = attributes.get("traceloop.span.kind")
    if isinstance(kind, str) and kind in _TRACELOOP_KINDS:
        return _TRACELOOP_KINDS[kind]
    if _first(attributes, SOURCES["input_tokens"]) is not None and _first(
        attributes, SOURCES["model"]
    ):
        return "llm_call"
    return None


# -- one span -----------------------------------------------------------------------------------


def _to_event(kind: str, span: WireSpan) -> tuple[Event, bool]:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise ValueError("trace id must be 16 non-zero bytes")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise ValueError("span id must be 8 non-zero bytes")
    attributes = span.attributes
    trace_id = span.trace_id.hex()
    end_ns = max(span.end_ns, span.start_ns)
    failed = span.status_code == STATUS_ERROR
    common: dict[str, Any] = {
        "id": f"otlp-{trace_id}-{span.span_id.hex()}",
        "ts": end_ns / 1e9,
        "request_id": trace_id,
        "trace_id": trace_id,
        "span_id": span.span_id.hex(),
        "start_ts": span.start_ns / 1e9,
        "duration_ms": (end_ns - span.start_ns) / 1e6,
        "status": "error" if failed else "ok",
    }
    if len(span.parent_span_id) == 8 and any(span.parent_span_id):
        common["parent_span_id"] = span.parent_span_id.hex()
    for name in ("session_id", "user_id"):
        value = _first(attributes, SOURCES[name]) or _first(span.resource, SOURCES[name])
        if value is not None:
            common[name] = str(value)
    agent = attributes.get("gen_ai.agent.name") or span.resource.get("service.name")
    if agent:
        common["agent"] = str(agent)
    if failed:
        common["error_type"] = _error_type(span)
        if span.status_message:
            common["error_message"] = span.status_message
    kept = {k: v for k, v in attributes.items() if k in KEPT_ATTRIBUTES and _scalar(v)}
    if kept:
        common["attributes"] = kept
    if kind == "llm_call":
        fields, usage_known = _llm_fields(span, failed)
        return _converted({**common, **fields}, LlmCall), usage_known
    if kind == "tool_call":
        return _converted({**common, **_tool_fields(span)}, ToolCall), True
    run_agent = _first(attributes, SOURCES["agent_name"]) or _suffix(span.name, "invoke_agent")
    if run_agent:
        common["agent"] = str(run_agent)
    return _converted(common, Run), True


def _converted(fields: dict[str, Any], cls: type[E]) -> E:
    """``fields`` as an event of ``cls`` when every value passes the schema and each id and
    name holds no control character and fits its cap in UTF-8 bytes; else the
    ``msgspec.ValidationError`` of the pattern-checked type, or ValueError."""
    try:
        event = msgspec.convert(fields, cls)
    except msgspec.ValidationError:
        msgspec.convert(fields, checked(cls))  # the first error in the checked type's words
        raise
    found = control_field([event])
    if found is not None:
        msgspec.convert(fields, checked(cls))
        raise ValueError(f"{found[1]} holds a control character")  # pragma: no cover
    field = long_text_field(event)
    if field is not None:
        raise ValueError(f"{field} {TOO_LONG}")
    return event


def _llm_fields(span: WireSpan, failed: bool) -> tuple[dict[str, Any], bool]:
    attributes = span.attributes
    operation = attributes.get("gen_ai.operation.name") or span.name.split(" ", 1)[0]
    if operation not in LLM_OPERATIONS:
        operation = "chat"
    model = _first(attributes, SOURCES["model"]) or _suffix(span.name, str(operation))
    input_tokens = _tokens(_first(attributes, SOURCES["input_tokens"]))
    output_tokens = _tokens(_first(attributes, SOURCES["output_tokens"]))
    stream = _first(attributes, SOURCES["stream"])
    first_chunk = next((e.time_ns for e in span.events if e.name in CHUNK_EVENTS), None)
    if not isinstance(stream, bool):
        stream = True if first_chunk is not None else None
    usage_known = (input_tokens is not None or output_tokens is not None) and not (
        stream and _openlit_estimate(attributes)
    )
    fields: dict[str, Any] = {
        "model": str(model or "unknown"),
        "provider": str(_first(attributes, SOURCES["provider"]) or "unknown"),
        "input_tokens": (input_tokens or 0) if usage_known else 0,
        "output_tokens": (output_tokens or 0) if usage_known else 0,
        "operation": str(operation),
    }
    if not usage_known and not failed:
        fields["usage_unknown"] = True
    for name in ("cached_input_tokens", "cache_creation_input_tokens"):
        count = _tokens(_first(attributes, SOURCES[name])) if usage_known else None
        if count is not None:
            fields[name] = count
    if stream is not None:
        fields["stream"] = stream
    ttft_ms = _ttft_ms(span, stream, first_chunk)
    if ttft_ms is not None:
        fields["ttft_ms"] = ttft_ms
    reasons = _first(attributes, SOURCES["finish_reason"])
    if isinstance(reasons, list) and reasons:
        reasons = reasons[0]
    if isinstance(reasons, str) and reasons:
        fields["finish_reason"] = reasons
    for name in ("response_model", "response_id", "reservation_id"):
        value = _first(attributes, SOURCES[name])
        if value is not None:
            fields[name] = str(value)
    for name in ("input", "output"):
        value = _first(attributes, SOURCES[name])
        if value is not None:
            fields[name] = value
    return fields, usage_known


def _openlit_estimate(attributes: Mapping[str, Any]) -> bool:
    """OpenLIT fills a stream's missing usage with len(text) / 2 and then sets no cache-read
    count (which it always sets when the provider reported usage)."""
    return (
        attributes.get("telemetry.sdk.name") == "openlit"
        and "gen_ai.usage.cache_read.input_tokens" not in attributes
    )


def _ttft_ms(span: WireSpan, stream: bool | None, first_chunk: int | None) -> float | None:
    """TTFT from the latest-semconv attribute, else (streams only: on other calls OpenLIT's
    value is the whole duration) OpenLIT's attribute, else the first chunk event."""
    seconds = _first(span.attributes, SOURCES["ttft_s"])
    if seconds is None and stream:
        seconds = _first(span.attributes, SOURCES["stream_ttft_s"])
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("time to first chunk must be a number of seconds")
        return float(seconds) * 1000.0
    if stream and first_chunk is not None and first_chunk >= span.start_ns:
        return (first_chunk - span.start_ns) / 1e6
    return None


def _tool_fields(span: WireSpan) -> dict[str, Any]:
    attributes = span.attributes
    tool = _first(attributes, SOURCES["tool"]) or _suffix(span.name, "execute_tool")
    fields: dict[str, Any] = {"tool": str(tool or span.name or "unknown")}
    call_id = _first(attributes, SOURCES["call_id"])
    if call_id:
        fields["call_id"] = str(call_id)
    for name in ("args", "result"):
        value = _first(attributes, SOURCES[name])
        if value is not None:
            fields[name] = value
    return fields


def _error_type(span: WireSpan) -> str:
    """The client's ``error.type`` (``<class 'openai.RateLimitError'>``, a repr some versions
    send, becomes ``openai.RateLimitError``), else the exception event's type, else ``_OTHER``."""
    raw = span.attributes.get("error.type")
    if not raw:
        raw = next((e.exception_type for e in span.events if e.exception_type), None)
    if not raw:
        return "_OTHER"
    text = str(raw)
    match = _CLASS_REPR.match(text)
    return match.group(1) if match else text


def _tokens(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"token count of type {type(value).__name__} is not an integer")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("token count is not a finite number")
    try:
        return int(value)
    except ValueError:
        raise ValueError("token count is not an integer") from None


def _first(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _suffix(name: str, prefix: str) -> str | None:
    head, _, tail = name.partition(" ")
    if head != prefix:
        return None
    return tail.strip() or None


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


# -- one event per operation ---------------------------------------------------------------------


def _collapse(candidates: list[_Candidate], spans: Sequence[WireSpan]) -> list[_Candidate]:
    """Merge the candidates that record one operation (module docstring); keeps input order."""
    if len(candidates) < 2:
        return candidates
    parents = {(s.trace_id, s.span_id): s.parent_span_id for s in spans if s.span_id}
    by_span = {(c.span.trace_id, c.span.span_id): c for c in candidates}
    groups = _UnionFind(len(candidates))
    depth: dict[int, int] = {}
    ancestors: dict[int, _Candidate | None] = {}
    for index, candidate in enumerate(candidates):
        candidate.group = index
        ancestors[index], depth[index] = _nearest_ancestor(candidate, parents, by_span)
    agent_names: dict[int, Any] = {}  # group root -> the agent name of a run group
    for index in sorted(range(len(candidates)), key=depth.__getitem__):  # outermost first
        candidate, ancestor = candidates[index], ancestors[index]
        if candidate.kind == "run":
            name = _first(candidate.span.attributes, SOURCES["agent_name"])
            if ancestor is not None:
                outer = agent_names.get(groups.find(ancestor.group))
                if name is None or outer is None or name == outer:
                    groups.union(ancestor.group, index)
                    name = name or outer
            agent_names[groups.find(index)] = name
        elif ancestor is not None and _same_operation(ancestor, candidate):
            groups.union(ancestor.group, index)
    _join_response_twins(candidates, groups)
    members: dict[int, list[int]] = {}
    for index in range(len(candidates)):
        members.setdefault(groups.find(index), []).append(index)
    kept: list[_Candidate] = []
    for index, candidate in enumerate(candidates):
        group = members[groups.find(index)]
        if len(group) == 1:
            kept.append(candidate)
            continue
        best = _best(candidates, group, depth)
        if best == index:
            _fill_from_twins(candidate, [candidates[i] for i in group if i != index])
            kept.append(candidate)
    return kept


def _nearest_ancestor(
    candidate: _Candidate,
    parents: dict[tuple[bytes, bytes], bytes],
    by_span: dict[tuple[bytes, bytes], _Candidate],
) -> tuple[_Candidate | None, int]:
    """The closest ancestor of the same kind among this request's spans, and the depth."""
    trace = candidate.span.trace_id
    parent = candidate.span.parent_span_id
    nearest = None
    steps = 0
    seen: set[bytes] = set()
    while parent and steps < _MAX_ANCESTRY and parent not in seen:
        seen.add(parent)
        steps += 1
        found = by_span.get((trace, parent))
        if nearest is None and found is not None and found.kind == candidate.kind:
            nearest = found
        next_parent = parents.get((trace, parent))
        if next_parent is None:
            break
        parent = next_parent
    return nearest, steps


def _same_operation(outer: _Candidate, inner: _Candidate) -> bool:
    """An LLM span inside an LLM span is the same call; a tool inside the same tool too."""
    if isinstance(outer.event, ToolCall) and isinstance(inner.event, ToolCall):
        return outer.event.tool == inner.event.tool
    return inner.kind == "llm_call"


def _join_response_twins(candidates: list[_Candidate], groups: _UnionFind) -> None:
    by_response: dict[tuple[bytes, str], list[int]] = {}
    for index, candidate in enumerate(candidates):
        event = candidate.event
        if isinstance(event, LlmCall) and event.response_id:
            by_response.setdefault((candidate.span.trace_id, event.response_id), []).append(index)
    for indices in by_response.values():
        if len(indices) < 2:
            continue
        indices.sort(key=lambda i: candidates[i].span.start_ns)
        reach, anchor = candidates[indices[0]].span.end_ns, indices[0]
        for index in indices[1:]:
            span = candidates[index].span
            if span.start_ns <= reach:
                groups.union(anchor, index)
                reach = max(reach, span.end_ns)
            else:
                reach, anchor = span.end_ns, index


def _best(candidates: list[_Candidate], group: list[int], depth: dict[int, int]) -> int:
    kind = candidates[group[0]].kind

    def score(index: int) -> tuple[Any, ...]:
        candidate = candidates[index]
        span = candidate.span
        if kind == "run":  # the outermost run covers the whole run
            return (-depth[index], span.end_ns - span.start_ns, span.span_id)
        ttft = isinstance(candidate.event, LlmCall) and candidate.event.ttft_ms is not None
        return (
            candidate.usage_known,
            ttft,
            depth[index],
            span.start_ns - span.end_ns,
            span.span_id,
        )

    return max(group, key=score)


def _fill_from_twins(kept: _Candidate, twins: list[_Candidate]) -> None:
    for name in _MERGED_FIELDS[kept.kind]:
        if getattr(kept.event, name, None) is not None:
            continue
        for twin in twins:
            value = getattr(twin.event, name, None)
            if value is not None:
                setattr(kept.event, name, value)
                break


class _UnionFind:
    def __init__(self, size: int) -> None:
        self._parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)


__all__ = [
    "CHUNK_EVENTS",
    "SIDECAR_SCOPE",
    "SOURCES",
    "MappedSpans",
    "RecentCalls",
    "classify",
    "spans_to_events",
]
