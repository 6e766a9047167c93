"""Identifiers: event ids, and W3C trace-context ids so sidecar spans join the agent's traces."""

from __future__ import annotations

import os


def new_id() -> str:
    return os.urandom(16).hex()


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()
