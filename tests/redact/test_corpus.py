"""Recall and precision on the labelled corpus (exact type and span), per type and overall.

Paths: ``Redactor.find`` with and without the Hyperscan pre-filter, on the tuning corpus and on
the held-out set (other phrasings, never used to tune the recognisers).
"""

from __future__ import annotations

from collections import Counter

import pytest

from sidecar.redact import RedactConfig, Redactor, hyperscan_available
from tests.redact.corpus_eval import HOLDOUT, evaluate, load

CONTRACT_TYPES = {
    "EMAIL",
    "PHONE",
    "CREDIT_CARD",
    "US_SSN",
    "IPV4",
    "IPV6",
    "IBAN",
    "API_KEY",
    "JWT",
    "CN_PHONE",
    "CN_ID",
    "PASSWORD_IN_URL",
}


def test_corpus_is_large_and_covers_every_kind_and_type() -> None:
    records = load()
    assert len(records) >= 300
    kinds = Counter(r["kind"] for r in records)
    for kind in (
        "agent_log",
        "json_tool",
        "bash",
        "sql",
        "stack_trace",
        "zh_chat",
        "csv",
        "email",
        "chat",
        "shell",
        "log",
        "hard_negative",
    ):
        assert kinds[kind] >= 20, kind
    assert kinds["hard_negative"] >= 150
    labelled = Counter(s["type"] for r in records for s in r["spans"])
    assert set(labelled) >= CONTRACT_TYPES
    assert min(labelled[t] for t in CONTRACT_TYPES) >= 15


@pytest.mark.parametrize("corpus", [None, HOLDOUT], ids=["corpus", "holdout"])
def test_recall_and_precision_at_least_099_per_type_and_overall(corpus: object) -> None:
    records = load() if corpus is None else load(HOLDOUT)
    report, errors = evaluate(Redactor(), records)
    print(
        "\n".join(
            f"{t:16s} P={s['precision']:.3f} R={s['recall']:.3f} n={s['support']:.0f}"
            for t, s in report.items()
        )
    )
    for type_, scores in report.items():
        assert scores["precision"] >= 0.99, (type_, errors)
        assert scores["recall"] >= 0.99, (type_, errors)


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
def test_prefilter_never_changes_the_result() -> None:
    fast = Redactor(RedactConfig(fast_prefilter=True))
    slow = Redactor(RedactConfig(fast_prefilter=False))
    records = load() + load(HOLDOUT)
    texts = [r["text"] for r in records]
    # the same texts inside long noisy documents: windows far from the start and the end
    filler = "lorem ipsum 2024-01-01 12:00:00 id=42 " * 40
    texts += [filler + t + filler for t in texts[::7]]
    texts += ["，".join(texts[i : i + 5]) for i in range(0, len(texts), 5)]
    for text in texts:
        assert fast.find(text) == slow.find(text), text


def test_corpus_files_are_what_the_builder_writes() -> None:
    from tests.redact.corpus.build_corpus import build, build_holdout

    assert load() == build()
    assert load(HOLDOUT) == build_holdout()
