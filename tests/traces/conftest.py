"""Fixtures for the traces tests: real OTLP receivers, started per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .receivers import GrpcOtlpReceiver, HttpOtlpReceiver


@pytest.fixture
def http_receiver() -> Iterator[HttpOtlpReceiver]:
    receiver = HttpOtlpReceiver()
    receiver.start()
    yield receiver
    receiver.release.set()
    receiver.stop()


@pytest.fixture
def grpc_receiver() -> Iterator[GrpcOtlpReceiver]:
    receiver = GrpcOtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()
