"""A batch observed at once leaves exactly the metrics of its events observed one by one."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from sidecar.analytics import Analytics, ManualClock
from sidecar.events.schema import Event
from sidecar.telemetry.config import MetricsConfig
from sidecar.telemetry.prometheus import PrometheusMetrics
from tests.analytics.events import llm, run, tool
from tests.telemetry.test_prometheus import samples

NAMES = st.sampled_from(["a", "b", "c", "d"])
MS = st.floats(0.0, 90_000.0)
STATUS = st.sampled_from(["ok", "error"])
COST = st.sampled_from([0.1, 0.2, 0.3, 1e-9, 1 / 3, 0.7, 1e6])  # sums that depend on order


def _llm(duration: float, model: str, agent: str | None, status: str, error: str | None,
         stream: bool | None, ttft: float | None, tokens: int, unknown: bool | None,
         cost: float | None) -> Event:  # fmt: skip
    return llm(duration, model=model, agent=agent, status=status, error_type=error,
               stream=stream, ttft_ms=ttft, output_tokens=tokens, usage_unknown=unknown,
               cost_usd=cost, operation=None if model == "a" else "chat")  # fmt: skip


def _tool(duration: float, name: str, status: str, error: str | None) -> Event:
    return tool(duration, tool=name, status=status, error_type=error)


def _run(duration: float | None, agent: str | None, status: str | None, steps: int | None) -> Event:
    return run(duration_ms=duration, agent=agent, status=status, steps=steps)


LLM = st.builds(
    _llm, MS, NAMES, st.none() | NAMES, STATUS, st.none() | NAMES, st.none() | st.booleans(),
    st.none() | MS, st.integers(0, 3), st.none() | st.booleans(), st.none() | COST,
)  # fmt: skip
TOOL = st.builds(_tool, MS, NAMES, STATUS, st.none() | NAMES)
RUN = st.builds(
    _run, st.none() | MS, st.none() | NAMES, st.none() | STATUS, st.none() | st.integers(0, 40)
)
BATCH = st.lists(st.one_of(LLM, LLM, TOOL, RUN), max_size=40)
# Caps of 2 make the first-come order of label values matter.
TIGHT = MetricsConfig(
    max_label_values={"gen_ai_request_model": 2, "gen_ai_agent_name": 2, "error_type": 2,
                      "gen_ai_tool_name": 2},
    default_label_cap=2,
)  # fmt: skip


def _exported(
    batches: list[list[Event]], one_by_one: bool
) -> list[tuple[str, dict[str, str], float]]:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry, TIGHT)
    for batch in batches:
        if one_by_one:
            for event in batch:
                metrics.record([event])
        else:
            metrics.record(batch)
    exported = [s for s in samples(registry) if not s[0].endswith("_created")]  # clock times
    return sorted(exported, key=lambda s: (s[0], sorted(s[1].items())))


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(BATCH, min_size=1, max_size=3))
def test_prometheus_batches_are_observed_as_one_by_one(batches: list[list[Event]]) -> None:
    together = _exported(batches, one_by_one=False)
    alone = _exported(batches, one_by_one=True)
    assert [(n, labels) for n, labels, _ in together] == [(n, labels) for n, labels, _ in alone]
    for (name, _, got), (_, _, want) in zip(together, alone, strict=True):
        if name.startswith("agent_sidecar_cost_usd"):  # summed per batch, then added
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
        else:
            assert got == want, name


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(BATCH, min_size=1, max_size=3))
def test_analytics_batches_are_recorded_as_one_by_one(batches: list[list[Event]]) -> None:
    together = Analytics(clock=ManualClock(100.0))
    alone = Analytics(clock=ManualClock(100.0))
    for batch in batches:
        together.record(batch)
        for event in batch:
            alone.record([event])
    groups = ["model", "provider", "agent", "tool", "status"]
    assert together.stats("5m", groups) == alone.stats("5m", groups)
