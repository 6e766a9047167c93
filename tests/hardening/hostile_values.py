"""Hostile query strings for the GET routes (hypothesis strategies shared by the fuzz tests):
documented and unknown parameter names; values with control characters, 64 KB strings, 2^63,
1e308, NaN, forged cursors and repeated ``group_by`` fields."""

from __future__ import annotations

import base64

from hypothesis import strategies as st

from sidecar.api.openapi import build_document

GET_ROUTES = sorted(
    path
    for path, operations in build_document()["paths"].items()
    if "get" in operations and "{" not in path and path not in ("/", "/ui", "/ui/")
)
NAMES = sorted(
    {"user_id", "session_id", "request_id", "tenant", "trace_id", "since", "until", "limit",
     "cursor", "order", "group_by", "window", "scope", "metric", "type", "bucket", "top",
     "model", "tool", "status", "agent", "all_users", "colour"}
)  # fmt: skip
HOSTILE = st.sampled_from([
    "", "\x00", "a\x1fb", "\x7f", "x" * 65_536, str(2**63), str(-(2**63) - 1), "1e308",
    "-1e308", "NaN", "Infinity", "-0", "0x10", "1_000", " 5", "model,model", "model,,tool",
    "9" * 5000, "2026-13-45T99:99:99", "9999-12-31T23:59:59", "%00", "é" * 300,
    base64.urlsafe_b64encode(f"s{2**63}".encode()).decode(),
    base64.urlsafe_b64encode(b'["t",1e308,"x"]').decode(),
    base64.urlsafe_b64encode(b'["t",1.0,"\\u0000"]').decode(),
    base64.urlsafe_b64encode(b'["t",1.0,' + b"[" * 5000 + b"]" * 5000 + b"]").decode(),
])  # fmt: skip
VALUES = st.one_of(HOSTILE, st.text(max_size=40), st.integers().map(str),
                   st.floats().map(repr))  # fmt: skip
QUERIES = st.tuples(
    st.sampled_from(GET_ROUTES), st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4)
)
