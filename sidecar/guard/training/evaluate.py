"""Precision, recall and the per-kind tables of a guard on labelled rows (docs, tests, bench)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sidecar.guard.training.corpus import KINDS, NEGATIVE_KINDS, Example


@dataclass
class Report:
    """Counts of one guard on one set of rows; ratios are computed on demand."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    found: dict[str, list[int]] = field(default_factory=dict)  # kind -> [found, total]
    false_flags: dict[str, list[int]] = field(default_factory=dict)  # kind -> [flagged, total]
    slices: dict[str, list[int]] = field(default_factory=dict)  # slice -> [found, total]
    misses: list[Example] = field(default_factory=list)
    false_alarms: list[Example] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def slice_recall(self, name: str) -> float:
        found, total = self.slices.get(name, [0, 0])
        return found / total if total else 1.0


def evaluate(flag: Callable[[Example], bool], rows: Sequence[Example]) -> Report:
    """Score every row with ``flag`` and count by kind, language and source."""
    report = Report(
        found={k: [0, 0] for k in KINDS},
        false_flags={k: [0, 0] for k in NEGATIVE_KINDS},
        slices={"chinese": [0, 0], "tool_result": [0, 0], "user": [0, 0]},
    )
    for row in rows:
        flagged = flag(row)
        if row.injected:
            counts = report.found[row.kind]
            counts[1] += 1
            counts[0] += flagged
            slices = ["tool_result" if row.source == "tool_result" else "user"]
            if row.lang in ("zh", "mixed"):
                slices.append("chinese")
            for name in slices:
                report.slices[name][1] += 1
                report.slices[name][0] += flagged
            if flagged:
                report.tp += 1
            else:
                report.fn += 1
                report.misses.append(row)
        else:
            counts = report.false_flags[row.kind]
            counts[1] += 1
            counts[0] += flagged
            if flagged:
                report.fp += 1
                report.false_alarms.append(row)
            else:
                report.tn += 1
    return report


def markdown(reports: dict[str, Report]) -> str:
    """Per-kind recall and false flags, one column per named report."""
    names = list(reports)
    lines = [
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        "| precision | " + " | ".join(f"{r.precision:.3f}" for r in reports.values()) + " |",
        "| recall | " + " | ".join(f"{r.recall:.3f}" for r in reports.values()) + " |",
    ]
    for name in ("chinese", "tool_result", "user"):
        cells = []
        for r in reports.values():
            found, total = r.slices[name]
            cells.append(f"{found}/{total} ({r.slice_recall(name):.2f})")
        lines.append(f"| recall, {name.replace('_', ' ')} | " + " | ".join(cells) + " |")
    lines.append("| **injections found, by kind** |" + " |" * len(names))
    for kind in KINDS:
        cells = [f"{r.found[kind][0]}/{r.found[kind][1]}" for r in reports.values()]
        lines.append(f"| {kind.replace('_', ' ')} | " + " | ".join(cells) + " |")
    lines.append("| **benign look-alikes flagged, by kind** |" + " |" * len(names))
    for kind in NEGATIVE_KINDS:
        cells = [f"{r.false_flags[kind][0]}/{r.false_flags[kind][1]}" for r in reports.values()]
        lines.append(f"| {kind.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
