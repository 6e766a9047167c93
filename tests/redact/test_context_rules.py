"""Context-dependent recognisers and their hard negatives.

Paths: ``Redactor.find`` / ``redact`` / ``redact_text`` (the API every outbound path uses), with
and without the Hyperscan pre-filter. Rules: SSN keyword context, national phone layouts (GB,
DE, FR, CN, US), phone keyword context, table columns (CSV, TSV, ``;``, Markdown), cards inside
delimited digit runs, JWT headers and base64 JSON refused as API keys.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.redact import RedactConfig, Redactor, hyperscan_available, phones
from sidecar.redact import validators as v

FAST = Redactor()
PORTABLE = Redactor(RedactConfig(fast_prefilter=False))
REDACTORS = [FAST, PORTABLE] if hyperscan_available() else [PORTABLE]


def found(text: str) -> list[tuple[str, str]]:
    results = [[(f.type, text[f.start : f.end]) for f in r.find(text)] for r in REDACTORS]
    assert all(result == results[0] for result in results), results
    return results[0]


# ----------------------------------------------------------------------------- SSN keyword
@pytest.mark.parametrize(
    "text",
    [
        "ssn: 123456789",
        "--ssn 123456789",
        "--ssn=123456789",
        "SSN 123456789 does not match our records",
        "social security number 123456789",
        "my social security number is 123456789.",
        'customer_ssn: "123456789"',
        '{"ssn": "123456789"}',
        "userSSN=123456789",
        "Social Security No. 123456789",
        "SSN#: 123456789",
        "ssn on file: 123456789",
        "<ssn>123456789</ssn>",
        "SSN: 123.45.6789",
    ],
)
def test_nine_digits_after_an_ssn_keyword_are_an_ssn(text: str) -> None:
    digits = "123.45.6789" if "123.45" in text else "123456789"
    assert found(text) == [("US_SSN", digits)]


@pytest.mark.parametrize(
    "text",
    [
        "order 123456789 shipped",  # no keyword
        "id=123456789",
        "SSN check passed for order 123456789",  # keyword, then other words
        "SSN verification failed. Ticket 123456789 closed.",
        "classname 123456789",  # "ssn" inside a word
        "grassnut 123456789",
        "ssn: 000123456",  # SSA rules
        "ssn: 666123456",
        "ssn: 912345678",
        "ssn: 123004567",
        "ssn: 123450000",
        "ssn: 1234567890",  # ten digits
        "ssn_last4: 6789",
        "Order #123-45-6789 refunded",  # SSN layout labelled as an order
    ],
)
def test_ssn_look_alikes_are_not_ssns(text: str) -> None:
    assert [t for t in found(text) if t[0] == "US_SSN"] == []


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 899).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
    st.sampled_from(["ssn: ", "SSN ", "--ssn ", "social security number is ", '"ssn": "']),
    st.sampled_from(["", " ", ".", '"', " does not match"]),
)
def test_every_valid_ssn_after_a_keyword_is_found(
    area: int, group: int, serial: int, keyword: str, tail: str
) -> None:
    number = f"{area:03d}{group:02d}{serial:04d}"
    assert found(f"{keyword}{number}{tail}") == [("US_SSN", number)]


@settings(max_examples=100, deadline=None)
@given(st.integers(900, 999) | st.just(0) | st.just(666), st.integers(0, 999_999))
def test_no_invalid_area_after_a_keyword_is_found(area: int, rest: int) -> None:
    assert found(f"ssn: {area:03d}{rest:06d}") == []


# ----------------------------------------------------------------------------- phones
@pytest.mark.parametrize(
    "number",
    [
        "020 7946 0958",  # GB London
        "07700 900123",  # GB mobile (Ofcom example range)
        "07700 900 123",
        "0161 496 0000",
        "(020) 7946 0958",
        "01632 960123",
        "030 12345678",  # DE Berlin
        "0151 12345678",  # DE mobile
        "089 1234567",
        "030/12345678",
        "01 23 45 67 89",  # FR
        "06 12 34 56 78",
        "01.23.45.67.89",
        "010-12345678",  # CN Beijing landline
        "0755-12345678",
        "0755-1234 5678",
        "(415) 555-0132",  # US
        "415-555-0132",
        "1-800-555-0199",
        "+44 (0)20 7946 0958",
        "0044 20 7946 0958",
    ],
)
def test_national_and_international_layouts_are_phones(number: str) -> None:
    assert found(f"call {number} today") == [("PHONE", number)]
    assert found(f'{{"phone": "{number}"}}') == [("PHONE", number)]


@pytest.mark.parametrize(
    "text",
    [
        "released 01.02.2024 10:30",  # dates
        "due 05/06/2024, paid 06-05-2024",
        "build 0.12.345 and v0.9.12.1023",  # versions
        "invoice 0123 456 789",  # invoice numbers
        "INV-0201-2345-678",
        "PO 0172 334 455",
        "ts 20240115 093000",  # timestamps
        "09:30:00.123",
        "amount 1 234 567,89 EUR",  # amounts
        "0,99 € and 0.99 $",
        "ISBN 0-306-40615-2 and 978-0-306-40615-7",  # ISBNs
        "peer 010.010.020.030",  # IP-like
        "seq 0207946095 offset 0161496000",  # numeric ids in logs
        "request 0923 9387 8794 6612 took 12 ms",
        "IBAN DE00 3704 0044 0532 0130 00",
        "phone verified: yes, attempts 3, account 415555013",
        "call_id=4155550132",
        "call on 2024-05-06 10:30",
    ],
)
def test_phone_look_alikes_are_not_phones(text: str) -> None:
    assert [t for t in found(text) if t[0] == "PHONE"] == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("phone: 02079460958", "02079460958"),
        ('"mobile": "4155550132"', "4155550132"),
        ("Tel. 0151 123 45 67", "0151 123 45 67"),
        ("sms send --to 0612345678", "0612345678"),
        ("homePhone=01614960000", "01614960000"),
        ("电话：01012345678", "01012345678"),
        ("call me at 4155550132", "4155550132"),
    ],
)
def test_digits_after_a_phone_keyword_are_a_phone(text: str, number: str) -> None:
    assert found(text) == [("PHONE", number)]


def test_national_validation_uses_the_numbering_plans() -> None:
    assert phones.national_valid("02079460958")
    assert phones.national_valid("07700900123")  # Ofcom example range, not in libphonenumber
    assert phones.national_valid("0612345678")
    assert not phones.national_valid("0012345678")  # 00 is the international prefix
    assert not phones.national_valid("0700000000")  # valid in none of GB, DE, FR, CN
    assert phones.layout_valid((2, 2, 2, 2, 2), " ")
    assert not phones.layout_valid((2, 2, 4), ".")  # a date
    assert not phones.layout_valid((3, 3, 3, 3), ".")  # an IP-like quad
    assert not phones.layout_valid((4, 3, 2, 2), " ")  # two trailing pairs: no layout


# ----------------------------------------------------------------------------- tables
def test_columns_headed_ssn_and_phone_are_found_in_every_row() -> None:
    text = (
        "id,name,ssn,phone\n"
        "1,Ann,123456789,02079460958\n"
        '2,"Lee, Bo",234567890,4155550132\n'
        "3,Cy,000123456,0000000000\n"
    )
    assert found(text) == [
        ("US_SSN", "123456789"),
        ("PHONE", "02079460958"),
        ("US_SSN", "234567890"),
        ("PHONE", "4155550132"),
    ]


def test_markdown_and_tab_separated_tables() -> None:
    markdown = "| name | SSN |\n|---|---|\n| Ann | 345678912 |"
    assert found(markdown) == [("US_SSN", "345678912")]
    tsv = "user\tmobile\nann\t07700900123\n"
    assert found(tsv) == [("PHONE", "07700900123")]


def test_other_columns_and_other_tables_are_not_read() -> None:
    text = "order,amount\n123456789,4155550132\n\nssn,note\nx,y\n"
    assert found(text) == []


# ----------------------------------------------------------------------------- cards
@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("4111111111111111,20240101,123456789012", "4111111111111111"),
        ("20240101,4111111111111111,123456789012", "4111111111111111"),
        ("20240101;4111 1111 1111 1111;123456789012", "4111 1111 1111 1111"),
        ("20240101 4111 1111 1111 1111 123456789012", "4111 1111 1111 1111"),
        ("2024 4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("ts\tcard\n1700000000000\t5555555555554444", "5555555555554444"),
        ("order 4111 1111 1111 1111", "4111 1111 1111 1111"),  # grouped: a card anyway
        ("id,card,date\n123,4012888888881881,2024", "4012888888881881"),
    ],
)
def test_cards_inside_delimited_data(text: str, card: str) -> None:
    assert found(text) == [("CREDIT_CARD", card)]


@pytest.mark.parametrize(
    "text",
    [
        "order_id=4111111111111111",  # Luhn-valid, labelled as something else
        "order number 4111111111111111 shipped",
        "tracking,weight\n4111111111111111,2kg",
        "IMEI 356938035643809",  # Luhn-valid, 15 digits with a JCB prefix
        "serial 4012888888881881",
        "score=0.4111111111111111",  # a float
        "card 7111111111111113 rejected",  # Luhn-valid, no issuer starts with 7
        "4111111111111112,20240101",  # Luhn fails
        "41111111111111110000",  # 20 digits
    ],
)
def test_card_look_alikes_are_not_cards(text: str) -> None:
    assert [t for t in found(text) if t[0] == "CREDIT_CARD"] == []


# ----------------------------------------------------------------------------- JWT / keys
CURSORS = [
    "eyJvZmZzZXQiOjEwfQ",  # {"offset":10}
    "eyJvZmZzZXQiOjEwMCwibGltaXQiOjI1fQ",  # {"offset":100,"limit":25}
    "eyJwYWdlIjozLCJzaXplIjo1MH0",
    "WzEyMzQ1NiwiMjAyNC0wNS0wMVQwMDowMDowMFoiXQ",  # [123456,"2024-05-01T00:00:00Z"]
]


@pytest.mark.parametrize("cursor", CURSORS)
@pytest.mark.parametrize(
    "template",
    [
        "next_page_token={}",
        '{{"next_token": "{}"}}',
        "page_token: {}",
        "continuation_token={}&limit=25",
        "?token={}",
    ],
)
def test_base64_json_cursors_are_not_keys(cursor: str, template: str) -> None:
    assert found(template.format(cursor)) == []


def test_real_jwts_and_keys_are_still_found() -> None:
    jwt = (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    assert found(f"token={jwt}") == [("JWT", jwt)]
    assert found("next_token=eyJvZmZzZXQiOjEwfQ.eyJsaW1pdCI6MjB9.c2lnbmF0dXJl") == []
    assert found("api_key=9f8e7d6c5b4a39281706f5e4d3c2b1a0") == [
        ("API_KEY", "9f8e7d6c5b4a39281706f5e4d3c2b1a0")
    ]
    secret_json = "eyJwcml2YXRlX2tleSI6ImFiYzEyMyJ9"  # {"private_key":"abc123"}
    assert found(f"token={secret_json}") == [("API_KEY", secret_json)]
    opaque = "eyJvZmZzZXQiOjEwMCwibGltaXQiOjI1fQ"
    assert found(f"Authorization: Bearer {opaque}") == [("API_KEY", opaque)]


def test_base64_validators() -> None:
    assert v.plain_json_base64("eyJvZmZzZXQiOjEwfQ")
    assert not v.plain_json_base64("eyJhbGciOiJIUzI1NiJ9")  # a JWT header
    assert not v.plain_json_base64("eyJwcml2YXRlX2tleSI6ImFiYzEyMyJ9")  # names a secret
    assert not v.plain_json_base64("dXNlcjpwYXNzd29yZA")  # user:password, not JSON
    assert not v.plain_json_base64("eyJub3QganNvbg")  # {"not json
    assert v.jwt_header_valid("eyJhbGciOiJIUzI1NiJ9")
    assert not v.jwt_header_valid("eyJ0eXAiOiJKV1QifQ")  # {"typ":"JWT"}: no alg
    assert not v.jwt_header_valid("eyJvZmZzZXQiOjEwfQ")


def test_redact_masks_context_findings_in_place() -> None:
    text = "ssn: 123456789, tel 020 7946 0958, cursor=eyJvZmZzZXQiOjEwfQ"
    assert FAST.redact_text(text) == "ssn: [US_SSN], tel [PHONE], cursor=eyJvZmZzZXQiOjEwfQ"
    assert FAST.redact(text).text == FAST.redact_text(text)


@pytest.mark.parametrize("label", ["model", "member", "user", "customer", "id", "chat model"])
def test_a_dashed_ssn_after_a_neutral_label_stays_an_ssn(label: str) -> None:
    assert found(f"{label} 242-80-5301") == [("US_SSN", "242-80-5301")]


def test_a_card_does_not_take_the_first_group_of_the_next_number() -> None:
    text = "+49 30 4219 4892 4411 5781 5659 3873 554-76-5267"
    assert found(text) == [
        ("PHONE", "+49 30 4219 4892"),
        ("CREDIT_CARD", "4411 5781 5659 3873"),
        ("US_SSN", "554-76-5267"),
    ]
