"""Redaction and prompt-injection metrics, for ``/metrics``: PII types, pattern families and
sources are fixed sets; no matched text is ever a label."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sidecar.telemetry.stats_collector import StatsCollector

SOURCES = ("user", "tool_result")


@dataclass(frozen=True)
class InjectionStats:
    """Findings by source and family, and texts flagged by source."""

    findings: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    flagged: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Mapping[str, Mapping[str, int]]) -> InjectionStats:
        """From the scorer's ``stats()`` (``{source: {family: n}, "flagged": {source: n}}``)."""
        return cls({s: snapshot.get(s, {}) for s in SOURCES}, snapshot.get("flagged", {}))


def register_safety_metrics(
    stats: StatsCollector,
    redactions: Callable[[], Mapping[str, int]],
    injection: Callable[[], InjectionStats],
) -> None:
    stats.counter(
        "agent_sidecar_redactions", "PII and secrets masked, by type.", redactions, labels=("type",)
    )

    def findings() -> dict[tuple[str, ...], float]:
        found = injection().findings
        return {(family, source): n for source in SOURCES for family, n in found[source].items()}

    stats.counter(
        "agent_sidecar_injection_findings",
        "Prompt-injection pattern findings, by family and source.",
        findings,
        labels=("family", "source"),
    )
    stats.counter(
        "agent_sidecar_injection_flagged",
        "Texts whose injection score reached the threshold, by source.",
        lambda: dict(injection().flagged),
        labels=("source",),
    )
