"""Counters of the tool gate and the degradation ladder, for ``/metrics``.

Labels come from fixed sets (the gate's results, the approval steps, the ladder's steps); no
tool name, tenant, user or approval id is ever a label.
"""

from __future__ import annotations

from typing import Any

from sidecar.telemetry.stats_collector import StatsCollector


def register_tool_metrics(stats: StatsCollector, gate: Any, audit: Any) -> None:
    stats.counter(
        "agent_sidecar_tool_decisions",
        "Tool admits decided by the tool policy, by result (allowed or the reason).",
        lambda: gate.decisions,
        labels=("result",),
    )
    stats.counter("agent_sidecar_tool_approvals", "Tool-call approvals, by step.",
                  lambda: gate.approvals.counts,
                  labels=("step",))  # fmt: skip
    stats.counter(
        "agent_sidecar_tool_audit_failures",
        "Tool audit events the store could not take.",
        lambda: audit.failures,
    )


def register_ladder_metrics(stats: StatsCollector, ladder: Any) -> None:
    stats.counter(
        "agent_sidecar_budget_ladder_steps",
        "Admits answered on a degradation step, by step.",
        lambda: ladder.steps,
        labels=("step",),
    )
    stats.counter(
        "agent_sidecar_budget_ladder_tools_refused",
        "Expensive tools refused because a budget reached restrict_at.",
        lambda: ladder.refused_tools,
    )
