"""Admission metrics: decisions by kind and result, denials by reason, warnings, latency.

Labels come from fixed sets (kind ``llm``/``tool``, result, the six denial reasons, the three
scopes); no user, tenant or request id is ever a label.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class AdmitMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter(
            "agent_sidecar_admit", "Admission decisions.", ["kind", "result"], registry=registry
        )
        self.denied = Counter(
            "agent_sidecar_admit_denied",
            "Denied admissions, by reason.",
            ["reason"],
            registry=registry,
        )
        self.warnings = Counter(
            "agent_sidecar_budget_warnings",
            "Budget warn_at thresholds crossed, by scope.",
            ["scope"],
            registry=registry,
        )
        self.duration = Histogram(
            "agent_sidecar_admit_duration_seconds",
            "Time to decide one admission, in the sidecar.",
            buckets=_BUCKETS,
            registry=registry,
        )

    def blocked(self) -> None:
        """A step refused because its tool result scored as a prompt injection."""
        self.decisions.labels("llm", "denied").inc()
        self.denied.labels("prompt_injection_detected").inc()

    def observe(
        self, kind: str, decision: Any, seconds: float, *, unavailable: bool = False
    ) -> None:
        self.duration.observe(seconds)
        if unavailable or decision is None:
            self.decisions.labels(kind, "unavailable").inc()
            return
        if decision.allowed:
            self.decisions.labels(kind, "degraded" if decision.degraded else "allowed").inc()
        else:
            self.decisions.labels(kind, "denied").inc()
            self.denied.labels(str(decision.reason)).inc()
        for warning in decision.warnings:
            self.warnings.labels(warning.scope).inc()
