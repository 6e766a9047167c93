"""The quality table of docs/redaction.md and ``python -m bench guard``, from the corpus file."""

from __future__ import annotations

import json
from pathlib import Path

from sidecar.guard.config import GuardConfig
from sidecar.guard.scorer import InjectionScorer, Source
from sidecar.guard.training.corpus import Example
from sidecar.guard.training.evaluate import Report, evaluate, markdown


def load(path: Path) -> list[Example]:
    return [Example(**json.loads(line)) for line in path.read_text("utf-8").splitlines()]


def reports(rows: list[Example]) -> dict[str, Report]:
    """Train and held-out splits, default configuration and the pattern-only pass."""
    default, patterns = InjectionScorer(), InjectionScorer(GuardConfig(model=False))
    out: dict[str, Report] = {}
    for split in ("train", "heldout"):
        part = [r for r in rows if r.split == split]
        out[split] = evaluate(lambda r: flag(default, r), part)
        out[f"{split}, patterns only"] = evaluate(lambda r: flag(patterns, r), part)
    return out


def flag(scorer: InjectionScorer, row: Example) -> bool:
    """The scorer's verdict on one labelled row."""
    source: Source = "tool_result" if row.source == "tool_result" else "user"
    return scorer.score(row.text, source).flagged


def quality_table(rows: list[Example]) -> str:
    return markdown(reports(rows))
