"""A collector that is down or hanging never holds up ingest nor grows memory; export resumes."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from sidecar.events.schema import ToolCall
from sidecar.telemetry.config import TracesConfig
from sidecar.telemetry.otlp_export import SpanExporterSink
from sidecar.telemetry.span_ids import trace_id_for

from .sample_events import BASE_TS, sample_run

QUEUE = 64


def _sink(endpoint: str, timeout_s: float = 0.5) -> SpanExporterSink:
    config = TracesConfig(
        enabled=True,
        protocol="http/protobuf",
        endpoint=endpoint,
        timeout_s=timeout_s,
        max_queue_size=QUEUE,
        max_export_batch_size=16,
        schedule_delay_ms=20.0,
    )
    return SpanExporterSink.from_config(config)


def _tool_events(start: int, count: int) -> list[ToolCall]:
    return [
        ToolCall(
            id=f"flow-{i}",
            ts=BASE_TS + i,
            request_id=f"flow-{i // 10}",
            tool="search",
            start_ts=BASE_TS + i,
            duration_ms=1.0,
            args={"q": "x" * 200},
        )
        for i in range(start, start + count)
    ]


async def _poll(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait for a condition with a deadline (the flow keeps the loop busy meanwhile)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.01)


async def test_collector_down_bounded_counted_and_resumes(http_receiver: Any) -> None:
    sink = _sink(http_receiver.endpoint)
    try:
        await sink.consume(sample_run("before"))
        http_receiver.wait_for(lambda spans: len(spans) >= 5)

        http_receiver.stop()  # the collector goes away under a steady flow of events
        tracemalloc.start()
        sent, max_queued, baseline = 0, 0, 0
        while sent < 6000 or sink.stats()["export_failed"] < 16:
            assert sent < 200_000, f"exports never failed: {sink.stats()}"
            await sink.consume(_tool_events(sent, 100))
            sent += 100
            max_queued = max(max_queued, sink.stats()["queued"])
            if sent == 1000:
                baseline = tracemalloc.get_traced_memory()[0]
            await asyncio.sleep(0.005)  # pacing: a steady flow, not a burst
        grown = tracemalloc.get_traced_memory()[0] - baseline
        tracemalloc.stop()

        stats = sink.stats()
        assert max_queued <= QUEUE
        assert stats["dropped_queue_full"] > 0
        assert stats["export_failed"] >= 16
        assert stats["dropped"] == stats["dropped_queue_full"] + stats["export_failed"]
        # 5000 more events at about 3 kB per span would be 15 MB if the queue grew. The figure
        # is the whole process's: inside the full suite the test runner's kept log records of
        # the failed exports and earlier tests' threads add up to about 4 MB (alone: < 1 MB).
        assert grown < 8_000_000, f"memory grew by {grown} bytes with the collector down"
        # Every span is accounted for: exported, failed, dropped, or still queued.
        in_flight = stats["enqueued"] - stats["exported"] - stats["export_failed"]
        assert 0 <= in_flight <= QUEUE + 16

        exported_while_down = sink.stats()["exported"]
        http_receiver.start()  # same port: the collector is back
        # The backlog drains (the queue was full, so new spans would be dropped until then) ...
        await _poll(lambda: sink.stats()["exported"] > exported_while_down)
        await _poll(lambda: sink.stats()["queued"] == 0)
        # ... and new runs go out again.
        await sink.consume(sample_run("after"))
        after_trace = trace_id_for("after").to_bytes(16, "big")

        def after_arrived(spans: list[Any]) -> bool:
            return sum(span.trace_id == after_trace for span in spans) == 5

        await asyncio.to_thread(http_receiver.wait_for, after_arrived, 20.0)
    finally:
        sink.shutdown()
    assert sink.stats()["exported"] >= 10


async def test_hanging_collector_does_not_hold_consume(http_receiver: Any) -> None:
    http_receiver.hang.set()
    sink = _sink(http_receiver.endpoint, timeout_s=10.0)
    try:
        await sink.consume(_tool_events(0, 16))  # one full batch wakes the worker
        await asyncio.to_thread(http_receiver.hanging.wait, 15)
        assert http_receiver.hanging.is_set()
        # The exporter thread is stuck in a request that will not be answered; ingest goes on.
        await sink.consume(_tool_events(16, 2000))
        assert http_receiver.hanging.is_set() and not http_receiver.release.is_set()
        stats = sink.stats()
        assert stats["queued"] == QUEUE
        assert stats["enqueued"] + stats["dropped_queue_full"] == 2016
        assert stats["dropped_queue_full"] >= 2000 - QUEUE
    finally:
        http_receiver.release.set()
        sink.shutdown()
