"""Property: no body makes OTLP decoding raise anything but a ValueError (a 400 or 413), and a
decoded request accounts for every span (events + ignored + rejected + merged = spans).

Path: :func:`sidecar.events.otlp.decode_otlp_traces`, the function ``POST /v1/traces`` runs, on
hypothesis-generated OTLP JSON (the real skeleton with arbitrary values in every slot: NaN and
infinities, 2^64, control characters, wrong types, nesting) and on mutated protobuf bodies.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.events.otlp import decode_otlp_traces
from sidecar.events.otlp_wire import decode_trace_request
from tests.traces.test_otlp_http import _request

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "5b8efff798038103d269b633813fc60c",
            "eee19b7ec3c1b174",
            "",
            "\x00\x1f",
        ]
    ),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=12,
)
ANY_VALUE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "stringValue": JSON_VALUES,
            "intValue": JSON_VALUES,
            "doubleValue": JSON_VALUES,
            "boolValue": JSON_VALUES,
            "arrayValue": JSON_VALUES,
            "kvlistValue": JSON_VALUES,
            "bytesValue": JSON_VALUES,
        },
    ),
    JSON_VALUES,
)
KEYS = st.sampled_from(
    [
        "gen_ai.operation.name",
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.id",
        "gen_ai.request.stream",
        "gen_ai.server.time_to_first_token",
        "llm.request.type",
        "traceloop.span.kind",
        "openinference.span.kind",
        "user.id",
        "error.type",
        "telemetry.sdk.name",
    ]
)
ATTRIBUTE = st.fixed_dictionaries({"key": st.one_of(KEYS, JSON_VALUES), "value": ANY_VALUE})
SPAN = st.fixed_dictionaries(
    {},
    optional={
        "traceId": st.one_of(st.just("5b8efff798038103d269b633813fc60c"), JSON_VALUES),
        "spanId": st.one_of(st.sampled_from(["eee19b7ec3c1b174", "eee19b7ec3c1b175"]), JSON_VALUES),
        "parentSpanId": st.one_of(st.sampled_from(["eee19b7ec3c1b174", ""]), JSON_VALUES),
        "name": st.one_of(
            st.sampled_from(["chat m", "execute_tool t", "invoke_agent a"]), JSON_VALUES
        ),
        "kind": JSON_VALUES,
        "startTimeUnixNano": JSON_VALUES,
        "endTimeUnixNano": JSON_VALUES,
        "attributes": st.one_of(st.lists(ATTRIBUTE, max_size=6), JSON_VALUES),
        "events": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "name": st.sampled_from(["gen_ai.content.completion.chunk", "exception"]),
                        "timeUnixNano": JSON_VALUES,
                    }
                ),
                max_size=2,
            ),
            JSON_VALUES,
        ),
        "status": JSON_VALUES,
    },
)
REQUEST = st.one_of(
    st.fixed_dictionaries(
        {
            "resourceSpans": st.lists(
                st.fixed_dictionaries(
                    {
                        "resource": st.one_of(
                            st.fixed_dictionaries({"attributes": st.lists(ATTRIBUTE, max_size=2)}),
                            JSON_VALUES,
                        ),
                        "scopeSpans": st.lists(
                            st.fixed_dictionaries({"spans": st.lists(SPAN, max_size=4)}), max_size=2
                        ),
                    }
                ),
                max_size=2,
            )
        }
    ),
    JSON_VALUES,
)


def _spans_in(document: Any) -> int:
    return len(decode_trace_request(json.dumps(document).encode(), "application/json"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(REQUEST)
def test_any_otlp_json_decodes_or_is_a_value_error(document: Any) -> None:
    body = json.dumps(document, allow_nan=True).encode()
    try:
        result = decode_otlp_traces(body, "application/json")
    except ValueError:
        return
    total = _spans_in(document)
    assert (
        len(result.events) + result.ignored_spans + result.rejected_spans + (result.merged_spans)
        == total
    )


VALID = _request(3).SerializeToString()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8),
    st.integers(0, len(VALID)),
)
def test_mutated_protobuf_decodes_or_is_a_value_error(
    flips: list[tuple[int, int]], cut: int
) -> None:
    body = bytearray(VALID)
    for index, byte in flips:
        body[index] = byte
    try:
        result = decode_otlp_traces(bytes(body[:cut] if cut else body), "application/x-protobuf")
    except ValueError:
        return
    assert result.rejected_spans >= 0
