"""The labelled corpus, the shipped model, and the quality bars measured on them.

Paths: the corpus builder and trainer (``python -m sidecar.guard.training``: both shipped files
must be what it writes), the packaged weights (package data), and ``InjectionScorer`` on the
``train`` and ``heldout`` splits (held-out texts come from phrase lists and sentence frames the
training split never uses, and are reported separately).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bench.bench_guard import agent_texts
from sidecar.guard import InjectionScorer
from sidecar.guard.training.__main__ import CORPUS, MODEL, corpus_text, model_text
from sidecar.guard.training.corpus import KINDS, NEGATIVE_KINDS, TOOL_CARRIERS, Example
from sidecar.guard.training.evaluate import Report, evaluate

ROWS = [Example(**json.loads(line)) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    scorer = InjectionScorer()
    verdicts = {id(r): scorer.score(r.text, r.source).flagged for r in ROWS}  # type: ignore[arg-type]
    out = {"all": evaluate(lambda r: verdicts[id(r)], ROWS)}
    for split in ("train", "heldout"):
        out[split] = evaluate(lambda r: verdicts[id(r)], [r for r in ROWS if r.split == split])
    return out


def test_the_shipped_corpus_and_model_are_reproducible_from_the_script() -> None:
    corpus = corpus_text()
    assert corpus == CORPUS.read_text(encoding="utf-8"), "run python -m sidecar.guard.training"
    weights, model = model_text(corpus)
    assert weights == MODEL.read_text(encoding="utf-8"), "run python -m sidecar.guard.training"
    assert model.meta["corpus_sha256"] in weights


def test_the_weights_are_package_data_and_small() -> None:
    assert MODEL.parent.parent.name == "guard"
    assert MODEL.stat().st_size < 200_000
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"**/*.json"' in pyproject  # sidecar/guard/weights/*.json ships in the wheel


def test_corpus_shape_covers_every_kind_on_both_sources() -> None:
    assert len(ROWS) >= 2000
    assert len({r.text for r in ROWS}) == len(ROWS)
    chinese = sum(r.lang == "zh" for r in ROWS)
    assert chinese / len(ROWS) >= 0.25
    pairs = Counter((r.kind, r.source) for r in ROWS)
    for kind in (*KINDS, *NEGATIVE_KINDS):
        for source in ("user", "tool_result"):
            assert pairs[(kind, source)] >= 5, (kind, source)
    carriers = Counter(r.carrier for r in ROWS if r.injected and r.source == "tool_result")
    for carrier in TOOL_CARRIERS:
        assert carriers[carrier] >= 50, carrier
    splits = Counter(r.split for r in ROWS)
    assert splits["heldout"] >= 0.25 * len(ROWS)
    for kind in KINDS:
        assert any(r.kind == kind and r.lang in ("zh", "mixed") for r in ROWS), kind


def test_overall_recall_and_precision(reports: dict[str, Report]) -> None:
    whole = reports["all"]
    assert whole.precision >= 0.9
    assert whole.recall >= 0.9
    assert whole.slice_recall("chinese") >= 0.8
    assert whole.slice_recall("tool_result") >= 0.8


def test_heldout_split_generalises(reports: dict[str, Report]) -> None:
    held = reports["heldout"]
    assert held.precision >= 0.9
    assert held.recall >= 0.85
    assert held.slice_recall("chinese") >= 0.8
    assert held.slice_recall("tool_result") >= 0.8
    for kind, (found, total) in held.found.items():
        assert found / total >= 0.65, kind
    for kind, (flagged, total) in held.false_flags.items():
        assert flagged / total <= 0.2, kind  # a held-out kind has only two or three templates


def test_ordinary_agent_traffic_is_almost_never_flagged() -> None:
    """Logs, JSON tool results and prose from a generator the corpus never used."""
    scorer = InjectionScorer()
    texts = agent_texts(1000, seed=99)
    flagged = sum(scorer.score(t, "tool_result").flagged for t in texts)
    assert flagged <= 10
