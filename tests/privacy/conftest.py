"""Fixtures for the privacy tests: the traces tests' real OTLP/HTTP receiver, per test."""

from __future__ import annotations

from tests.traces.conftest import http_receiver

__all__ = ["http_receiver"]
