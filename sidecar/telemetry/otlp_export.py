"""Export GenAI spans over OTLP without ever slowing ingest: a bounded queue and a drop counter.

:class:`SpanExporterSink` is an event sink (``async consume(events)``): each event becomes one
finished span (:mod:`sidecar.telemetry.spans`) handed to the OpenTelemetry SDK's
``BatchSpanProcessor``, whose worker thread batches spans and calls the OTLP exporter
(HTTP/protobuf or gRPC), which retries transient failures with exponential backoff up to its
timeout. ``consume`` itself never waits on the network: it builds spans and appends them to a
deque (throughput in docs/benchmarks.md, "GenAI spans").

Guarantee, with a collector that is down or hanging: at most ``max_queue_size`` spans wait in
memory (plus one batch in the exporter's hands); every span beyond that is dropped at once and
counted in ``stats()["dropped_queue_full"]``; spans of a batch the exporter gives up on are
counted in ``stats()["export_failed"]``. Nothing is dropped silently: a gate in front of the
processor counts spans in (``enqueued``) and spans handed to the exporter, and refuses a span
while ``enqueued - handed_over >= max_queue_size``, so the SDK's own deque (same bound) never
evicts on its own. When the collector returns, the next batch goes out; nothing needs a restart.
Memory: a queued span is about 2-3 kB, so the default queue of 2048 spans holds about 6 MB.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from sidecar.events.schema import Event
from sidecar.lifecycle import in_daemon_thread
from sidecar.telemetry.config import TracesConfig
from sidecar.telemetry.spans import SpanBuilder

_GRPC_COMPRESSION = {
    "none": grpc.Compression.NoCompression,
    "gzip": grpc.Compression.Gzip,
    "deflate": grpc.Compression.Deflate,
}


def _http_traces_url(endpoint: str) -> str:
    """A base URL (like ``OTEL_EXPORTER_OTLP_ENDPOINT``) gets the ``/v1/traces`` signal path."""
    if endpoint.rstrip("/").endswith("/v1/traces"):
        return endpoint
    return endpoint.rstrip("/") + "/v1/traces"


def make_otlp_exporter(config: TracesConfig) -> SpanExporter:
    """The OTLP span exporter the config asks for; unset fields are left to the OTEL_* env vars."""
    protocol = config.resolved_protocol()
    if protocol == "grpc":
        return GrpcSpanExporter(
            endpoint=config.endpoint,
            insecure=config.insecure,
            headers=config.headers,
            timeout=config.timeout_s,
            compression=_GRPC_COMPRESSION[config.compression] if config.compression else None,
        )
    return HttpSpanExporter(
        endpoint=_http_traces_url(config.endpoint) if config.endpoint else None,
        headers=config.headers,
        timeout=config.timeout_s,
        compression=HttpCompression(config.compression) if config.compression else None,
    )


class _GatedExporter(SpanExporter):
    """Counts spans leaving the queue (handed over) and the outcome of each export."""

    def __init__(self, inner: SpanExporter, gate: _QueueGate) -> None:
        self._inner = inner
        self._gate = gate

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._gate.handed_over(len(spans))
        try:
            result = self._inner.export(spans)
        except Exception:
            self._gate.finished(len(spans), ok=False)
            raise
        self._gate.finished(len(spans), ok=result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _QueueGate:
    """Thread-safe span accounting between the event loop and the processor's worker thread."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self.enqueued = 0
        self.handed = 0
        self.dropped_queue_full = 0
        self.exported = 0
        self.export_failed = 0

    def refuse(self, count: int) -> None:
        """Count spans turned away without queueing (the sink is shut down)."""
        with self._lock:
            self.dropped_queue_full += count

    def admit(self) -> bool:
        with self._lock:
            if self.enqueued - self.handed >= self.capacity:
                self.dropped_queue_full += 1
                return False
            self.enqueued += 1
            return True

    def handed_over(self, count: int) -> None:
        with self._lock:
            self.handed += count

    def finished(self, count: int, *, ok: bool) -> None:
        with self._lock:
            if ok:
                self.exported += count
            else:
                self.export_failed += count

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "enqueued": self.enqueued,
                "queued": self.enqueued - self.handed,
                "exported": self.exported,
                "export_failed": self.export_failed,
                "dropped_queue_full": self.dropped_queue_full,
                "dropped": self.dropped_queue_full + self.export_failed,
            }


class SpanExporterSink:
    """Event sink exporting one GenAI span per event over OTLP; never blocks the caller."""

    def __init__(
        self,
        builder: SpanBuilder,
        exporter: SpanExporter,
        *,
        max_queue_size: int = 2048,
        max_export_batch_size: int = 512,
        schedule_delay_ms: float = 1000.0,
    ) -> None:
        self.builder = builder
        self._gate = _QueueGate(max_queue_size)
        self._processor = BatchSpanProcessor(
            _GatedExporter(exporter, self._gate),
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_ms,
        )
        self._closed = False

    @classmethod
    def from_config(
        cls, config: TracesConfig, exporter: SpanExporter | None = None
    ) -> SpanExporterSink:
        """A sink built from ``config`` (the exporter defaults to the configured OTLP one)."""
        return cls(
            SpanBuilder.from_config(config),
            exporter if exporter is not None else make_otlp_exporter(config),
            max_queue_size=config.max_queue_size,
            max_export_batch_size=config.max_export_batch_size,
            schedule_delay_ms=config.schedule_delay_ms,
        )

    async def consume(self, events: Sequence[Event]) -> None:
        """Queue one span per event; drops (counted) instead of waiting when the queue is full."""
        self.submit(events)

    def submit(self, events: Sequence[Event]) -> None:
        """Synchronous body of :meth:`consume`, for callers outside an event loop."""
        if self._closed:
            self._gate.refuse(len(events))
            return
        for event in events:
            if self._gate.admit():
                self._processor.on_end(self.builder.build(event))

    def stats(self) -> dict[str, int]:
        """Counters: enqueued, queued, exported, export_failed, dropped_queue_full, dropped."""
        return self._gate.snapshot()

    def force_flush(self) -> bool:
        """Export everything queued now (blocking: for tests and shutdown, not the hot path)."""
        return self._processor.force_flush()

    async def start(self) -> None:
        """Nothing to open: the processor's worker thread starts with the sink."""

    async def close(self) -> None:
        """:meth:`shutdown` in a daemon thread: the caller's deadline bounds the wait (a
        collector that never answers holds only that thread, which the exit does not join)."""
        await in_daemon_thread(self.shutdown)

    def shutdown(self) -> None:
        """Flush what the exporter accepts within its timeout, then stop the worker thread."""
        if not self._closed:
            self._closed = True
            self._processor.shutdown()
