"""Real OTLP receivers for tests: OTLP/HTTP (protobuf; traces and metrics) and gRPC (traces),
run in threads.

Each decodes what it gets with opentelemetry-proto, like a collector would, keeps the raw
request bodies (to search them for content that must not be there) and lets a test wait for a
condition with a deadline instead of sleeping. The HTTP receiver also takes ``/v1/metrics``
(``ExportMetricsServiceRequest``), kept apart in :attr:`HttpOtlpReceiver.metrics`.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


def value(any_value: AnyValue) -> Any:
    """The Python value of an OTLP AnyValue (arrays as lists)."""
    which = any_value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value(item) for item in any_value.array_value.values]
    return getattr(any_value, which)


def attrs(span: Span) -> dict[str, Any]:
    """A received span's attributes as a dict."""
    return {kv.key: value(kv.value) for kv in span.attributes}


class ReceivedSpans:
    """Thread-safe store of decoded requests with a condition to wait on."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.requests: list[ExportTraceServiceRequest] = []
        self.raw_bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    def add(self, raw: bytes, headers: dict[str, str]) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(raw)
        with self._condition:
            self.requests.append(request)
            self.raw_bodies.append(raw)
            self.headers.append(headers)
            self._condition.notify_all()

    def _flat(self) -> list[Span]:
        return [
            span
            for request in self.requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def spans(self) -> list[Span]:
        with self._condition:
            return self._flat()

    def wait_for(self, predicate: Callable[[list[Span]], bool], timeout: float = 15.0) -> None:
        """Block until ``predicate(spans)`` holds; fail the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                spans = self._flat()
                if predicate(spans):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met in {timeout}s; got {len(spans)} spans")
                self._condition.wait(remaining)


class ReceivedMetrics:
    """Thread-safe store of decoded metrics requests with a condition to wait on."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.requests: list[ExportMetricsServiceRequest] = []

    def add(self, raw: bytes) -> None:
        request = ExportMetricsServiceRequest()
        request.ParseFromString(raw)
        with self._condition:
            self.requests.append(request)
            self._condition.notify_all()

    def snapshot(self) -> list[ExportMetricsServiceRequest]:
        with self._condition:
            return list(self.requests)

    def wait_for(
        self, predicate: Callable[[list[ExportMetricsServiceRequest]], bool], timeout: float = 30.0
    ) -> None:
        """Block until ``predicate(requests)`` holds; fail the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not predicate(list(self.requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"condition not met in {timeout}s; got {len(self.requests)} requests"
                    )
                self._condition.wait(remaining)


class HttpOtlpReceiver(ReceivedSpans):
    """An OTLP/HTTP receiver on 127.0.0.1 that can be stopped and restarted on its port."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics = ReceivedMetrics()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self.hang = threading.Event()  # while set, requests wait for `release`
        self.release = threading.Event()
        self.hanging = threading.Event()  # set once a request is being held
        self.fail_next = 0  # answer this many requests 503 (the exporter retries them)
        self.refused_bodies: list[bytes] = []  # the (decompressed) bodies answered 503

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.hang.is_set():
                    receiver.hanging.set()
                    receiver.release.wait(30)
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.path == "/v1/metrics":
                    receiver.metrics.add(body)
                    answer = ExportMetricsServiceResponse().SerializeToString()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                with receiver._condition:
                    refuse = receiver.fail_next > 0
                    if refuse:
                        receiver.fail_next -= 1
                        receiver.refused_bodies.append(body)
                if refuse:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.add(body, {k.lower(): v for k, v in self.headers.items()})
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: ReceivedSpans) -> None:
        self._store = store

    def Export(
        self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> ExportTraceServiceResponse:
        metadata = {key: value for key, value in context.invocation_metadata()}
        self._store.add(request.SerializeToString(), metadata)
        return ExportTraceServiceResponse()


class GrpcOtlpReceiver(ReceivedSpans):
    """An OTLP/gRPC receiver on 127.0.0.1 (insecure), implementing TraceService/Export."""

    def __init__(self) -> None:
        super().__init__()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Servicer(self), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)
