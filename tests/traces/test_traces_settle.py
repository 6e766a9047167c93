"""An OTLP chat span carrying ``agent_sidecar.reservation_id`` settles that reservation."""

from __future__ import annotations

import asyncio

import aiohttp
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from tests.conftest import RunningSidecar


def _instrumented_call(endpoint: str, reservation_id: str) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    span = provider.get_tracer("agent").start_span(
        "chat gpt-4o",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 300,
            "gen_ai.usage.output_tokens": 100,
            "user.id": "u-otlp",
            "agent_sidecar.reservation_id": reservation_id,
        },
    )
    span.end()
    provider.shutdown()


async def test_otlp_span_settles_its_reservation(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    async with http.put(
        sidecar.url + "/v1/budgets/user/u-otlp", json={"window": "1d", "max_tokens": 10_000}
    ) as response:
        assert response.status == 200
    async with http.post(
        sidecar.url + "/v1/admit",
        json={
            "request_id": "r-otlp",
            "user_id": "u-otlp",
            "model": "gpt-4o",
            "input_tokens": 1000,
            "max_output_tokens": 1000,
        },
    ) as response:
        grant = await response.json()
    assert grant["allowed"] is True
    async with http.get(sidecar.url + "/v1/usage/user/u-otlp") as response:
        assert (await response.json())["tokens_reserved"] == 2000
    await asyncio.to_thread(_instrumented_call, sidecar.url + "/v1/traces", grant["reservation_id"])
    async with http.get(sidecar.url + "/v1/usage/user/u-otlp") as response:
        usage = await response.json()
    assert usage["tokens_reserved"] == 0 and usage["tokens_used"] == 400
    assert usage["cost_usd"] > 0
