"""One joined pre-filter scan of a batch clears exactly what scans one by one do, and places
every recogniser's window at least as wide as they do.

Paths: ``Redactor.suspects`` (event identifiers, ``EventRedactor``), ``Redactor.redact_many``
(the batch form of ``POST /v1/redact``) against ``Redactor.redact`` of each text alone, on
hypothesis-built texts (pieces that start, end or complete findings, U+0000, non-ASCII, a lone
surrogate, long repeats), on the labelled corpus and the hard cases joined in batches, with a
custom recogniser and with an anchored one (no joined scan: each text alone).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.events.schema import LlmCall, ToolCall
from sidecar.redact import EventRedactor, IdentifierMasker, RedactConfig, Redactor
from sidecar.redact.config import CustomRecogniserConfig
from sidecar.redact.joined_scan import joinable
from sidecar.redact.prefilter import hyperscan_available
from tests.redact.corpus_eval import HOLDOUT, load

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="needs Hyperscan")

# Pieces that start, end or complete a finding, separators, U+0000, non-ASCII and a lone
# surrogate: joined at random they make texts whose findings may span a piece boundary.
PIECES = [
    "a", "Z9", "_", "-", " ", ".", ":", "@", "+", "/", "\n", "\r\n", "\x00", "\t", "é", "电话",
    "\ud800", "bob@example.com", "@example.com", "bob@", "4111 1111 1111 1111", "4111",
    "1111 ", "+44 20 7946 0958", "+44", "020 7946 0958", "123-45-6789", "123-45", "-6789",
    "10.0.0.1", "10.0.", "2001:db8::1", "::", "GB29NWBK60161331926819", "GB29", "sk-",
    "sk-" + "a1" * 12, "eyJhbGciOiJI", "://u:p@", "://", "-----BEGIN RSA PRIVATE KEY",
    "ssn ", "tel: ", "password=", "token: ", "0123456789abcdef", "2" * 40, "9f2c41d07a3b",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
LONG = st.builds(lambda piece, n: piece * n, st.sampled_from(PIECES), st.integers(50, 400))
TEXTS = st.lists(st.one_of(TEXT, TEXT, LONG), max_size=40)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    r = Redactor(RedactConfig(hash_key="joined"))
    r.warm()
    return r


def test_the_builtin_expressions_are_scanned_joined(redactor: Redactor) -> None:
    assert redactor.suspects(["user-12", "bob@example.com", "ab"]) == {1}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=TEXTS)
def test_a_text_cleared_in_a_batch_has_no_candidate_alone(
    redactor: Redactor, texts: list[str]
) -> None:
    suspects = redactor.suspects(texts)
    assert suspects is not None
    prefilter = redactor._prefilter
    for index, text in enumerate(texts):
        if index not in suspects:
            assert redactor.find(text) == []
            assert len(text) < 3 or prefilter.candidates(text) == {}
        else:  # something matched alone, or a match spans a separator
            assert len(text) >= 3


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=30))
def test_a_batch_is_masked_and_counted_as_one_by_one(
    redactor: Redactor, values: list[tuple[str, str, str]]
) -> None:
    def events() -> list[LlmCall | ToolCall]:
        out: list[LlmCall | ToolCall] = []
        for i, (user, request, model) in enumerate(values):
            if i % 2:
                out.append(ToolCall(ts=1, request_id=request or "r", user_id=user, tool=model,
                                    start_ts=1, duration_ms=1, id=f"{i}{model}"))  # fmt: skip
            else:
                out.append(LlmCall(ts=1, request_id=request or "r", user_id=user, model=model,
                                   provider="p", input_tokens=1, output_tokens=1, start_ts=1,
                                   duration_ms=1, session_id=user))  # fmt: skip
        return out

    batch = events()
    redactor.counts.clear()
    EventRedactor(redactor).process(batch)
    batch_counts = dict(redactor.counts)

    alone = events()
    redactor.counts.clear()
    for event in alone:
        masker = IdentifierMasker(redactor)  # a fresh memo: every value scanned by itself
        for name in ("id", "request_id", "session_id", "user_id", "model", "tool", "provider"):
            value = getattr(event, name, None)
            if isinstance(value, str):
                setattr(event, name, masker(value))
    assert [e.to_dict() if hasattr(e, "to_dict") else _fields(e) for e in batch] == [
        e.to_dict() if hasattr(e, "to_dict") else _fields(e) for e in alone
    ]
    assert batch_counts == redactor.counts


def _fields(event: LlmCall | ToolCall) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__struct_fields__}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=TEXTS)
def test_redact_many_is_redact_of_each_text_alone(redactor: Redactor, texts: list[str]) -> None:
    hits = redactor._prefilter.candidates_many(texts)
    assert hits is not None and len(hits) == len(texts)
    for text, entry in zip(texts, hits, strict=True):
        alone = redactor._prefilter.candidates(text) or {}
        for index, (first, _) in alone.items():
            assert index in entry and entry[index][0] <= first <= entry[index][1] <= len(text)
    assert redactor.redact_many(texts) == [redactor.redact(text) for text in texts]
    assert redactor.redact_many(texts, "hash") == [redactor.redact(t, "hash") for t in texts]


@pytest.mark.parametrize("size", [1, 7, 50, 1000])
def test_redact_many_on_the_labelled_corpus_in_batches(redactor: Redactor, size: int) -> None:
    texts = [str(record["text"]) for record in load() + load(HOLDOUT)]
    alone = [redactor.redact(text) for text in texts]
    batched = []
    for start in range(0, len(texts), size):
        batched += redactor.redact_many(texts[start : start + size])
    assert batched == alone
    assert any(result.findings for result in alone)


def test_redact_many_with_a_custom_recogniser() -> None:
    config = RedactConfig(
        hash_key="joined",
        custom=[CustomRecogniserConfig(type="EMPLOYEE", pattern=r"EMP-[0-9]{4,6}")],
    )
    redactor = Redactor(config)
    texts = ["EMP-1234", "x EMP-12 EMP-123456 bob@example.com", "EMP-", "EMP-9999 " * 30]
    assert redactor.redact_many(texts) == [redactor.redact(text) for text in texts]
    assert redactor.redact_many(texts)[0].text == "[EMPLOYEE]"


def test_redact_many_of_nothing_and_of_short_texts(redactor: Redactor) -> None:
    assert redactor.redact_many([]) == []
    assert redactor.redact_many(["", "ab", "\x00"]) == [
        redactor.redact(t) for t in ("", "ab", "\x00")
    ]


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        (r"[A-Za-z0-9]@[A-Za-z0-9]", True),
        (r"(?i)(?:ssn|social.?security)[^0-9\n]{0,48}[0-9]{3}", True),
        (r"\bkey\b", True),
        (r"\^\$", True),
        (r"^ID[0-9]+", False),
        (r"ID[0-9]+$", False),
        (r"\AID", False),
        (r"ID\z", False),
        (r"ID\Z", False),
        (r"(?m)ID", False),
        (r"(?P<n>ID)", False),
        (r"[a^]", False),  # refused although harmless: the check is conservative
    ],
)
def test_joinable_refuses_anchors_and_inline_options(expression: str, ok: bool) -> None:
    assert joinable(expression) is ok


def test_an_anchored_custom_pattern_is_scanned_alone_and_still_found() -> None:
    config = RedactConfig(
        hash_key="joined", custom=[CustomRecogniserConfig(type="EMPLOYEE", pattern=r"^E-[0-9]{4}")]
    )
    redactor = Redactor(config)
    assert redactor.suspects(["E-1234", "x"]) is None
    assert [r.text for r in redactor.redact_many(["E-1234", "x E-1234"])] == [
        "[EMPLOYEE]",
        "x E-1234",
    ]
    events = [
        ToolCall(ts=1, request_id="r", user_id=user, tool="t", start_ts=1, duration_ms=1)
        for user in ("E-1234", "x E-1234")
    ]
    EventRedactor(redactor).process(events)
    assert events[0].user_id == redactor.pseudonym("E-1234")
    assert events[1].user_id == "x E-1234"
