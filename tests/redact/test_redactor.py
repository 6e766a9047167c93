from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.redact import (
    CustomRecogniserConfig,
    Finding,
    RedactConfig,
    RedactConfigError,
    Redactor,
)
from sidecar.redact.engine import resolve_overlaps

SHARED = Redactor()
TEXT = "mail bob@example.com, card 4111 1111 1111 1111, ssn 123-45-6789"


def test_label_mode_and_offsets_into_the_input() -> None:
    result = Redactor().redact(TEXT)
    assert result.text == "mail [EMAIL], card [CREDIT_CARD], ssn [US_SSN]"
    assert [(f.type, TEXT[f.start : f.end]) for f in result.findings] == [
        ("EMAIL", "bob@example.com"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("US_SSN", "123-45-6789"),
    ]


def test_offsets_are_code_points_in_chinese_text() -> None:
    text = "我的手机是13812345678，邮箱是李@example.com以及bob@example.cn。"
    findings = Redactor().find(text)
    assert [(f.type, text[f.start : f.end]) for f in findings] == [
        ("CN_PHONE", "13812345678"),
        ("EMAIL", "bob@example.cn"),
    ]


def test_keyed_hash_is_stable_per_value_and_key_and_differs_across_keys() -> None:
    one = Redactor(RedactConfig(mode="hash", hash_key="k1"))
    same = Redactor(RedactConfig(mode="hash", hash_key="k1"))
    other = Redactor(RedactConfig(mode="hash", hash_key="k2"))
    a = one.redact_text("to bob@example.com")
    assert a == same.redact_text("to bob@example.com")
    assert a != other.redact_text("to bob@example.com")
    assert a != one.redact_text("to alice@example.com")
    assert a.startswith("to [EMAIL:") and "bob" not in a


def test_partial_keeps_last_four_for_numbers_and_labels_secrets() -> None:
    r = Redactor(RedactConfig(mode="partial"))
    assert r.redact_text("card 4111-1111-1111-1111") == "card ****-****-****-1111"
    assert r.redact_text("key AKIAIOSFODNN7EXAMPLE") == "key [API_KEY]"


def test_per_type_mode_override() -> None:
    r = Redactor(RedactConfig(mode="label", modes={"US_SSN": "partial"}))
    assert r.redact_text("ssn 123-45-6789, bob@example.com") == "ssn ***-**-6789, [EMAIL]"


def test_allow_list_and_allow_patterns() -> None:
    r = Redactor(RedactConfig(allow=["Support@Example.com"], allow_patterns=[r"10\.0\.0\.\d+"]))
    text = "mail support@example.com or bob@example.com from 10.0.0.7 or 8.8.8.8"
    assert r.redact_text(text) == "mail support@example.com or [EMAIL] from 10.0.0.7 or [IPV4]"


def test_custom_recogniser_with_group_and_priority() -> None:
    config = RedactConfig(
        custom=[
            CustomRecogniserConfig(
                type="EMPLOYEE_ID", pattern=r"emp(?:loyee)?[ #:]*(E\d{6})", group=1
            )
        ]
    )
    r = Redactor(config)
    assert (
        r.redact_text("badge for employee #E123456 issued")
        == "badge for employee #[EMPLOYEE_ID] issued"
    )
    assert "EMPLOYEE_ID" in r.types


def test_invalid_config_is_refused() -> None:
    with pytest.raises(RedactConfigError):
        Redactor(RedactConfig(custom=[CustomRecogniserConfig(type="X", pattern="(")]))
    with pytest.raises(RedactConfigError):
        Redactor(RedactConfig(types=["NOT_A_TYPE"]))


def test_types_filter() -> None:
    r = Redactor(RedactConfig(types=["EMAIL"]))
    assert r.redact_text(TEXT) == "mail [EMAIL], card 4111 1111 1111 1111, ssn 123-45-6789"


def test_overlaps_resolved_by_priority_then_length_whatever_the_order() -> None:
    raw = [
        (0, 30, 60, "EMAIL"),
        (5, 11, 95, "PASSWORD_IN_URL"),
        (20, 40, 40, "IPV4"),
        (31, 35, 40, "IPV4"),
        (31, 36, 40, "PHONE"),
    ]
    expected = [(5, 11, 95, "PASSWORD_IN_URL"), (20, 40, 40, "IPV4")]
    for seed in range(20):
        shuffled = raw[:]
        random.Random(seed).shuffle(shuffled)
        assert resolve_overlaps(shuffled) == expected


def test_password_in_url_covers_only_the_password() -> None:
    text = "dsn=postgres://admin:s3cr3t-pw@db.example.com:5432/app"
    (finding,) = Redactor().find(text)
    assert finding == Finding("PASSWORD_IN_URL", text.index("s3cr3t"), text.index("@"))


def test_counts_by_type() -> None:
    r = Redactor()
    r.redact(TEXT)
    r.redact_text("again bob@example.com")
    assert r.stats() == {"EMAIL": 2, "CREDIT_CARD": 1, "US_SSN": 1}


@pytest.mark.parametrize(
    "text",
    [
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "sha 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "ts 1700000000000 at 12:30:45.123",
        "version 1.2.3.4",
        "order ORD-15369800881",
        "card 4111111111111112",
        "2024-01-15 10:30:00",
        "pi 3.14159265358979323846",
    ],
)
def test_look_alikes_are_not_findings(text: str) -> None:
    assert Redactor().find(text) == []


def test_pii_far_inside_a_long_text_is_found() -> None:
    filler = "x=1 y=2 t=2024-01-01T00:00:00Z " * 2000
    text = filler + "bob@example.com " + filler + " 4111 1111 1111 1111"
    types = [f.type for f in Redactor().find(text)]
    assert types == ["EMAIL", "CREDIT_CARD"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_findings_are_well_formed(text: str) -> None:
    result = SHARED.redact(text)
    previous_end = 0
    for finding in result.findings:
        assert previous_end <= finding.start < finding.end <= len(text)
        previous_end = finding.end


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abc XYZ,.;\n你好")), max_size=60),
    st.sampled_from(
        [
            "bob@example.com",
            "+44 20 7946 0958",
            "13812345678",
            "192.168.7.20",
            "GB29 NWBK 6016 1331 9268 19",
            "11010519491231002X",
        ]
    ),
    st.text(alphabet=st.sampled_from(list("abc XYZ,.;\n你好")), max_size=60),
)
def test_a_valid_value_between_separators_is_found_exactly(
    before: str, value: str, after: str
) -> None:
    text = f"{before} {value} {after}"
    spans = [(f.start, f.end) for f in SHARED.find(text)]
    start = len(before) + 1
    assert (start, start + len(value)) in spans
