from __future__ import annotations

import msgspec

from sidecar.events.schema import Event, LlmCall, Run, ToolCall
from sidecar.redact import EventRedactor, RedactConfig, Redactor


def _redactor() -> Redactor:
    return Redactor(RedactConfig(hash_key="test-key"))


def test_redact_value_walks_any_json_shape() -> None:
    value = {
        "to": "bob@example.com",
        "n": [1, 2.5, True, None, "ssn 123-45-6789"],
        "bob@example.com": {"nested": ["10.0.0.1"]},
        "clean": "hello",
    }
    out = _redactor().redact_value(value)
    assert out["to"] == "[EMAIL]"
    assert out["n"] == [1, 2.5, True, None, "ssn [US_SSN]"]
    assert out["clean"] == "hello"
    (hashed_key,) = [k for k in out if k.startswith("[EMAIL:")]
    assert out[hashed_key] == {"nested": ["[IPV4]"]}
    assert len(out) == len(value)


def test_distinct_pii_keys_stay_distinct() -> None:
    out = _redactor().redact_value({"a@example.com": 1, "b@example.com": 2})
    assert sorted(out.values()) == [1, 2]


def test_every_free_text_field_of_every_event_type() -> None:
    llm = LlmCall(
        ts=1,
        request_id="r1",
        user_id="bob@example.com",
        session_id="s1",
        model="gpt-4o",
        provider="openai",
        input_tokens=1,
        output_tokens=1,
        start_ts=1,
        duration_ms=1,
        input=[{"role": "user", "content": "I am bob@example.com"}],
        output="call +44 20 7946 0958",
        error_message="key sk-" + "a1" * 12,
        attributes={"note": "ip 10.1.2.3", "n": 3},
    )
    tool = ToolCall(
        ts=1,
        request_id="r1",
        tool="crm",
        start_ts=1,
        duration_ms=1,
        args={"card": "4111 1111 1111 1111"},
        result="IBAN GB29NWBK60161331926819",
        error_message="bad ssn 123-45-6789",
        call_id="call-1",
    )
    run = Run(ts=1, request_id="r1", start_ts=1, error_message="user 13812345678 failed")
    transform = EventRedactor(_redactor())
    events: list[Event] = [llm, tool, run]
    transform.process(events)
    dumped = msgspec.json.encode(events).decode()
    for raw in (
        "bob@example.com",
        "7946",
        "sk-a1",
        "10.1.2.3",
        "4111",
        "GB29",
        "123-45",
        "13812345678",
    ):
        assert raw not in dumped, raw
    assert llm.user_id is not None and llm.user_id.startswith("[ID:")
    assert llm.session_id == "s1" and llm.model == "gpt-4o" and tool.call_id == "call-1"
    assert llm.attributes == {"note": "ip [IPV4]", "n": 3}
    assert transform.stats()["events_changed"] == 3


def test_user_id_pseudonym_is_joinable_across_events_and_batches() -> None:
    transform = EventRedactor(_redactor())
    first = Run(ts=1, request_id="r1", start_ts=1, user_id="bob@example.com")
    second = Run(ts=2, request_id="r2", start_ts=2, user_id="bob@example.com")
    other = Run(ts=2, request_id="r3", start_ts=2, user_id="alice@example.com")
    transform.process([first])
    transform.process([second, other])
    assert first.user_id == second.user_id != other.user_id
    assert len(first.user_id or "") <= 256
