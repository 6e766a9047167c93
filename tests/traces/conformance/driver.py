"""An instrumented agent, run in the instrumentations' own virtualenv (``.venv-otel``).

``python driver.py FAMILY SIDECAR_URL`` instruments the real ``openai`` SDK with one GenAI
instrumentation (``v2``: opentelemetry-instrumentation-openai-v2; ``openllmetry``: OpenLLMetry's
opentelemetry-instrumentation-openai; ``openlit``: OpenLIT; ``langchain``: OpenLLMetry's LangChain
instrumentation over the official OpenAI one, with a LangChain agent), drives it against the
fake provider on loopback, exports through the real OTLP/HTTP exporter with gzip to
``SIDECAR_URL/v1/traces``, and prints one JSON document: per call what the client measured
(duration, TTFT at the first chunk) and the ids of the span the instrumentation made, and the
export results. It imports nothing from the sidecar.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_provider import FakeProvider
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up an order.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    }
]
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "where is my order?"}]


class Recorder(SpanProcessor):
    """Keeps every finished span, to report the ids the instrumentation gave."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


class CountingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[str] = []
        self.spans = 0

    def export(self, spans: Any) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append(result.name)
        self.spans += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _hex(value: int | None, width: int) -> str | None:
    return None if not value else f"{value:0{width}x}"


def _span_ids(span: ReadableSpan) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": _hex(span.context.trace_id, 32),
        "span_id": _hex(span.context.span_id, 16),
        "parent_span_id": _hex(span.parent.span_id if span.parent else None, 16),
        "duration_ms": ((span.end_time or 0) - (span.start_time or 0)) / 1e6,
    }


def instrument(family: str) -> None:
    if family == "v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif family == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Traceloop

        Traceloop().instrument()
    elif family == "openlit":
        import openlit

        pricing = Path(tempfile.mkdtemp()) / "pricing.json"
        pricing.write_text("{}")  # no network: OpenLIT would fetch its price list
        openlit.init(
            pricing_json=str(pricing),
            disable_metrics=True,
            disable_events=True,
            application_name="conformance",
        )
    elif family == "langchain":
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        LangchainInstrumentor().instrument()
        OpenAIInstrumentor().instrument()
    else:
        raise SystemExit(f"unknown family {family}")


def run_calls(provider: FakeProvider, recorder: Recorder) -> list[dict[str, Any]]:
    import openai

    client = openai.OpenAI(base_url=provider.base_url, api_key="sk-test", max_retries=0)
    tracer = trace.get_tracer("conformance-agent")
    scenarios: list[tuple[str, dict[str, Any]]] = [
        ("non_stream", {}),
        ("stream_usage", {"stream": True, "stream_options": {"include_usage": True}}),
        ("stream_no_usage", {"stream": True}),
        ("tool_call", {"tools": TOOLS}),
        (
            "tool_call_stream",
            {"tools": TOOLS, "stream": True, "stream_options": {"include_usage": True}},
        ),
        ("error_400", {"model": "fail-400"}),
        ("error_429", {"model": "fail-429"}),
        ("error_500", {"model": "fail-500"}),
        ("stream_error_503", {"model": "fail-503", "stream": True}),
        ("nested", {"parent": True}),
    ]
    calls = []
    for label, options in scenarios:
        options = dict(options)
        model = options.pop("model", "gpt-4o-mini")
        nested = options.pop("parent", False)
        seen = len(recorder.spans)
        parent = tracer.start_span("handle_request") if nested else None
        context = trace.set_span_in_context(parent) if parent else None
        token = None
        if context is not None:
            from opentelemetry import context as context_api

            token = context_api.attach(context)
        error = None
        first_chunk = None
        started, wall_started = time.perf_counter(), time.time()
        try:
            answer = client.chat.completions.create(model=model, messages=MESSAGES, **options)
            if options.get("stream"):
                for _chunk in answer:
                    if first_chunk is None:
                        first_chunk = time.perf_counter()
        except openai.APIError as exc:
            error = type(exc).__name__
        ended, wall_ended = time.perf_counter(), time.time()
        if token is not None:
            from opentelemetry import context as context_api

            context_api.detach(token)
        if parent is not None:
            parent.end()
        spans = [_span_ids(s) for s in recorder.spans[seen:]]
        calls.append(
            {
                "label": label,
                "model": model,
                "stream": bool(options.get("stream")),
                "usage": not options.get("stream")
                or bool(options.get("stream_options", {}).get("include_usage")),
                "tools": "tools" in options,
                "error": error,
                "client_ms": (ended - started) * 1000.0,
                "wall_ms": (wall_ended - wall_started) * 1000.0,
                "client_ttft_ms": None if first_chunk is None else (first_chunk - started) * 1000.0,
                "parent_span_id": _hex(parent.get_span_context().span_id, 16) if parent else None,
                "spans": spans,
            }
        )
    return calls


def run_agent(provider: FakeProvider, recorder: Recorder, runs: int) -> list[dict[str, Any]]:
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def lookup_order(order_id: str) -> str:
        """Look up an order."""
        return f"order {order_id} shipped"

    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=provider.base_url, api_key="sk-test", max_retries=0
    )
    agent = create_agent(model, tools=[lookup_order], name="support")
    done = []
    for _ in range(runs):
        seen = len(recorder.spans)
        started, wall_started = time.perf_counter(), time.time()
        agent.invoke({"messages": [{"role": "user", "content": "where is order 42?"}]})
        done.append(
            {
                "client_ms": (time.perf_counter() - started) * 1000.0,
                "wall_ms": (time.time() - wall_started) * 1000.0,
                "spans": [_span_ids(s) for s in recorder.spans[seen:]],
            }
        )
    return done


def main() -> None:
    family, sidecar_url = sys.argv[1], sys.argv[2]
    provider_traces = TracerProvider(
        resource=Resource.create({"service.name": f"agent-{family}", "enduser.id": "user-7"})
    )
    exporter = CountingExporter(
        OTLPSpanExporter(
            endpoint=sidecar_url + "/v1/traces", compression=Compression.Gzip, timeout=10
        )
    )
    recorder = Recorder()
    provider_traces.add_span_processor(recorder)
    provider_traces.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    trace.set_tracer_provider(provider_traces)
    instrument(family)
    with FakeProvider() as provider:
        if family == "langchain":
            output: dict[str, Any] = {"runs": run_agent(provider, recorder, 2)}
        else:
            output = {"calls": run_calls(provider, recorder)}
    provider_traces.force_flush()
    provider_traces.shutdown()
    output["exports"] = exporter.results
    output["exported_spans"] = exporter.spans
    output["compression"] = os.environ.get("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    print(json.dumps(output))


if __name__ == "__main__":
    main()
