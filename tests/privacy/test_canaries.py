"""The canaries themselves: each is valid and recognised as exactly its type, and the scan
finds a planted one in any case (so a clean scan means something)."""

from __future__ import annotations

from sidecar.redact import RedactConfig, Redactor

from .canaries import find_leaks, make_canaries


def test_every_canary_is_found_whole_as_its_type() -> None:
    redactor = Redactor(RedactConfig())
    for seed in range(150):
        for canary in make_canaries(seed):
            text = f"mk1z {canary.value} end"
            found = [(f.type, text[f.start : f.end]) for f in redactor.find(text)]
            core = canary.extra_needles[0] if canary.type == "PASSWORD_IN_URL" else canary.value
            assert found == [(canary.type, core)], (seed, canary)


def test_canaries_are_unique_per_run() -> None:
    first, second = make_canaries(), make_canaries()
    assert not find_leaks(" ".join(c.value for c in first), second)


def test_the_scan_sees_a_planted_canary_in_any_case_and_in_bytes() -> None:
    canaries = make_canaries()
    for canary in canaries:
        assert find_leaks(f"..{canary.value.upper()}..".encode(), canaries)
        assert find_leaks(b"\x00\xff" + canary.needles[-1].encode() + b"\x00", canaries)


def test_an_iban_wins_over_the_card_number_its_digits_contain() -> None:
    """Regression: 1 valid IBAN in ~16 holds a Luhn-valid, Visa-like 16-digit run."""
    text = "pay to DE23 3990 1794 1337 7175 97 today"
    result = Redactor(RedactConfig()).redact(text)
    assert result.text == "pay to [IBAN] today"
    assert [f.type for f in result.findings] == ["IBAN"]
