"""Model-based test of the fleet merge: replicas record, publish, fall silent; time moves.

After every step a fleet query from any replica is checked against a model that knows every
value each replica recorded and when: the count of each series is exactly the union of this
replica's live window and every other replica's last published window that is younger than the
window; every percentile is within 1% of the exact percentile of that union; each replica is
``fresh``, ``stale`` or gone exactly as its age says; a store outage is
:class:`FleetStoreUnavailable` (a 503 over HTTP), and publishing resumes after it.
Paths: :class:`Fleet` publish, query, close; the codec round trip in between.
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sidecar.analytics import Analytics, ManualClock
from sidecar.analytics.config import FleetConfig
from sidecar.analytics.fleet import Fleet, FleetStoreUnavailable
from sidecar.analytics.windows import FINE_SECONDS
from tests.analytics.distributions import exact_quantile
from tests.analytics.events import llm
from tests.fleet.memory_store import MemoryFleetStore

WINDOWS = ("30s", "1m")
SECONDS = {"30s": 30, "1m": 60}
STALE_AFTER = 12.0
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
N = 3


def _in_window(
    recorded: list[tuple[int, str, float]], now: float, window: str
) -> list[tuple[str, float]]:
    first = int(now // FINE_SECONDS) - SECONDS[window] // FINE_SECONDS
    return [(model, v) for index, model, v in recorded if index >= first]


class FleetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(start=1_000_000.0)
        self.store = MemoryFleetStore(self.clock)
        config = FleetConfig(
            windows=list(WINDOWS), publish_interval_s=4.0, stale_after_s=STALE_AFTER
        )
        self.fleets = [
            Fleet(Analytics(clock=self.clock), config, self.store, f"replica-{i}") for i in range(N)
        ]
        self.recorded: list[list[tuple[int, str, float]]] = [[] for _ in range(N)]
        # replica -> (published at, {window: values in it at that time})
        self.published: dict[int, tuple[float, dict[str, list[tuple[str, float]]]]] = {}

    @rule(
        replica=st.integers(0, N - 1),
        n=st.integers(1, 300),
        seed=st.integers(0, 2**16),
        model=st.sampled_from(["gpt-4o", "claude"]),
    )
    def record(self, replica: int, n: int, seed: int, model: str) -> None:
        rng = random.Random(seed)
        values = [rng.lognormvariate(6.0, 1.2) for _ in range(n)]
        self.fleets[replica].analytics.record([llm(v, model=model) for v in values])
        index = int(self.clock() // FINE_SECONDS)
        self.recorded[replica].extend((index, model, v) for v in values)

    @rule(replica=st.integers(0, N - 1))
    def publish(self, replica: int) -> None:
        ok = asyncio.run(self.fleets[replica].publish())
        assert ok is not self.store.down
        if ok:
            now = self.clock()
            self.published[replica] = (
                now,
                {w: _in_window(self.recorded[replica], now, w) for w in WINDOWS},
            )

    @rule(seconds=st.floats(0.5, 40.0))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def outage(self) -> None:
        self.store.down = not self.store.down

    @precondition(lambda self: self.store.down)
    @rule(replica=st.integers(0, N - 1), window=st.sampled_from(WINDOWS))
    def query_while_down(self, replica: int, window: str) -> None:
        try:
            asyncio.run(self.fleets[replica].stats(window, ["model"]))
        except FleetStoreUnavailable:
            return
        raise AssertionError("a fleet query with the store down must raise")

    @invariant()
    def fleet_answer_matches_the_model(self) -> None:
        if self.store.down:
            return
        now = self.clock()
        for asker in range(N):
            for window in WINDOWS:
                body = asyncio.run(self.fleets[asker].stats(window, ["model"]))
                self._check(body, asker, window, now)

    def _check(self, body: dict[str, Any], asker: int, window: str, now: float) -> None:
        union = list(_in_window(self.recorded[asker], now, window))
        expected_states = {f"replica-{asker}": "fresh"}
        for replica, (at, snapshot) in self.published.items():
            if replica == asker:
                continue
            age = now - at
            if age >= SECONDS[window]:
                continue
            expected_states[f"replica-{replica}"] = "fresh" if age <= STALE_AFTER else "stale"
            union.extend(snapshot[window])
        got_states = {r["id"]: r["state"] for r in body["replicas"]}
        assert got_states == expected_states, (window, got_states, expected_states)
        assert all(r["contributing"] for r in body["replicas"])
        assert body["relative_accuracy"] == 0.01 and body["scope"] == "fleet"
        by_model: dict[str, list[float]] = {}
        for model, v in union:
            by_model.setdefault(model, []).append(v)
        got = {s["key"]["model"]: s for s in body["series"]}
        assert set(got) == set(by_model)
        for model, values in by_model.items():
            series = got[model]
            assert series["count"] == len(values)
            ordered = sorted(values)
            for name, q in QUANTILES:
                exact = exact_quantile(ordered, q)
                value = series["duration_ms"][name]
                assert math.isclose(value, exact, rel_tol=0.01 + 1e-9), (model, name, value, exact)


FleetMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
test_fleet_model = FleetMachine.TestCase
