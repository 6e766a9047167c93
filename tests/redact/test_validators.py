from __future__ import annotations

import pytest

from sidecar.redact import validators as v


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "3530111333300000",
        "36259600000004",
    ],
)
def test_luhn_accepts_published_test_cards(number: str) -> None:
    assert v.luhn_valid(number)
    assert v.card_issuer_known(number)


def test_luhn_rejects_a_changed_digit() -> None:
    assert not v.luhn_valid("4111111111111112")


def test_issuer_rejects_unknown_prefixes_and_short_numbers() -> None:
    assert not v.card_issuer_known("1234567812345670")  # no network starts with 1
    assert not v.card_issuer_known("601439888434")  # 12 digits


@pytest.mark.parametrize(
    "iban",
    [
        "GB29NWBK60161331926819",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
    ],
)
def test_iban_mod97(iban: str) -> None:
    assert v.iban_valid(iban)
    assert not v.iban_valid(iban[:2] + "00" + iban[4:])
    assert not v.iban_valid(iban + "0")  # wrong length for the country


def test_cn_id_checksum_and_birth_date() -> None:
    assert v.cn_id_valid("11010519491231002X")
    assert not v.cn_id_valid("110105194912310021")  # check digit
    assert not v.cn_id_valid("11010519490231002X")  # 31 February... (checksum also differs)
    assert not v.cn_id_valid("99010519491231002X")  # no province 99


@pytest.mark.parametrize(
    ("area", "group", "serial", "ok"),
    [
        ("123", "45", "6789", True),
        ("000", "12", "3456", False),
        ("666", "12", "3456", False),
        ("900", "12", "3456", False),
        ("123", "00", "4567", False),
        ("123", "45", "0000", False),
    ],
)
def test_ssn_area_rules(area: str, group: str, serial: str, ok: bool) -> None:
    assert v.ssn_valid(area, group, serial) is ok


def test_ip_validators() -> None:
    assert v.ipv4_valid("192.168.1.1")
    assert not v.ipv4_valid("256.1.1.1")
    assert not v.ipv4_valid("01.2.3.4")
    assert v.ipv6_valid("2001:db8::1")
    assert v.ipv6_valid("::ffff:192.0.2.1")
    assert not v.ipv6_valid("12:30:45")
    assert not v.ipv6_valid("a::b")  # code, not an address


def test_phone_rules() -> None:
    assert v.international_phone_valid("14155552671")
    assert not v.international_phone_valid("14155")  # too short
    assert not v.international_phone_valid("10155552671")  # area code starts with 0
    assert v.international_phone_valid("442079460958")
    assert not v.international_phone_valid("8612345")
    assert v.cn_mobile_valid("13800138000")
    assert not v.cn_mobile_valid("12800138000")
