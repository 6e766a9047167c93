"""Precision and recall of a redactor on the labelled corpus (exact type and span match)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sidecar.redact import Redactor

CORPUS = Path(__file__).parent / "corpus" / "corpus.jsonl"
HOLDOUT = Path(__file__).parent / "corpus" / "holdout.jsonl"


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The labelled records: ``{"kind", "text", "spans": [{"type", "start", "end"}]}``."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def evaluate(
    redactor: Redactor, records: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Per-type and overall precision/recall, and a readable list of every error."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors = []
    for record in records:
        text = record["text"]
        gold = {(s["type"], s["start"], s["end"]) for s in record["spans"]}
        found = {(f.type, f.start, f.end) for f in redactor.find(text)}
        for item in found & gold:
            tp[item[0]] += 1
        for item in found - gold:
            fp[item[0]] += 1
            errors.append(f"FP {item[0]} {text[item[1] : item[2]]!r} in {text[:120]!r}")
        for item in gold - found:
            fn[item[0]] += 1
            errors.append(f"FN {item[0]} {text[item[1] : item[2]]!r} in {text[:120]!r}")
    report: dict[str, dict[str, float]] = {}
    for type_ in sorted(set(tp) | set(fp) | set(fn)):
        report[type_] = _scores(tp[type_], fp[type_], fn[type_])
    report["ALL"] = _scores(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return report, errors


def _scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "support": float(tp + fn),
    }
