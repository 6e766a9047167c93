"""docs/analytics.md stays true for the fleet and OTLP metrics: its configuration block loads,
its sketch example runs, its fleet answer has the keys a real answer has, its OTLP instrument
table names the instruments the sink creates, and its catalogue's fleet metrics are exposed."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest

from sidecar.analytics import Analytics, ManualClock
from sidecar.analytics.config import FleetConfig
from sidecar.analytics.fleet import Fleet
from sidecar.app import build_components
from sidecar.config import load_settings
from sidecar.telemetry import otlp_metrics
from tests.analytics.events import llm
from tests.conftest import REPO
from tests.fleet.memory_store import MemoryFleetStore

DOC = (REPO / "docs" / "analytics.md").read_text()


def section(title: str) -> str:
    return DOC.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_configuration_block_loads(tmp_path: Path) -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", section("Configuration"), re.S)
    path = tmp_path / "sidecar.yaml"
    path.write_text(block)
    settings = load_settings(path, env={})
    assert settings.fleet.windows == ["1m", "5m", "1h"]
    assert settings.otlp_metrics.histogram_max_size == 160
    assert yaml.safe_load(block)["fleet"]["publish_interval_s"] == settings.fleet.publish_interval_s


def test_sketch_example_runs() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", section("Using the sketch directly"), re.S)
    rng = random.Random(1)
    from sidecar.analytics import QuantileSketch

    other = QuantileSketch()
    for _ in range(1000):
        other.add(rng.lognormvariate(5, 1))
    scope: dict[str, Any] = {
        "latencies": [rng.lognormvariate(5, 1) for _ in range(20_000)],
        "other_sidecar_payload": other.to_bytes(),
    }
    exec(compile(code, "docs/analytics.md", "exec"), scope)
    assert scope["fleet"].count == 21_000
    assert len(scope["payload"]) < 600


def test_fleet_answer_example_has_the_keys_of_a_real_answer() -> None:
    (example,) = re.findall(
        r"```json\n(.*?)```", section("Fleet percentiles: `GET /v1/stats?scope=fleet`"), re.S
    )
    documented = json.loads(example)
    clock = ManualClock()
    store = MemoryFleetStore(clock)
    fleets = [Fleet(Analytics(clock=clock), FleetConfig(), store, f"r{i}") for i in range(2)]
    for fleet in fleets:
        fleet.analytics.record([llm(100.0)])
        asyncio.run(fleet.publish())
    real = asyncio.run(fleets[0].stats("5m", ["model"]))
    assert set(documented) == set(real)
    assert set(documented["replicas"][0]) == set(real["replicas"][0])
    assert set(documented["series"][0]) - {"..."} <= set(real["series"][0])


def test_otlp_instrument_table_names_the_sink_instruments() -> None:
    table = section("OTLP metrics (beside Prometheus)")
    named = set(re.findall(r"^\| `([a-z_.]+)` \|", table, re.M))
    created = {
        getattr(otlp_metrics, n)
        for n in (
            "OPERATION_DURATION",
            "TIME_TO_FIRST_CHUNK",
            "TIME_PER_OUTPUT_CHUNK",
            "TOKEN_USAGE",
            "TOOL_DURATION",
            "AGENT_DURATION",
            "COST",
            "ADMIT",
            "ADMIT_DENIED",
        )
    }
    assert named == created


def test_catalogued_fleet_metrics_are_exposed(tmp_path: Path) -> None:
    catalogue = section("Prometheus metric catalogue")
    fleet_rows = set(re.findall(r"^\| `(agent_sidecar_fleet_[a-z_]+)`", catalogue, re.M))
    parts = build_components(
        load_settings(env={}, overrides={"db_url": f"sqlite:///{tmp_path / 'x.db'}"})
    )
    text = generate_latest(parts.registry).decode()
    exposed = set(re.findall(r"^(agent_sidecar_fleet_[a-z_]+?)(?:_created)? ", text, re.M))
    assert fleet_rows and fleet_rows == exposed, (fleet_rows, exposed)
