"""Each dashboard's JSON has the keys current Grafana expects, picks its data source through the
``datasource`` variable, uses only the allowed variables, and is the generator's output."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

DASHBOARDS = sorted((REPO / "dashboards").glob("*.json"))
ALLOWED_VARIABLES = {
    "__rate_interval",
    "__interval",
    "__range",
    "model",
    "tool",
    "agent",
    "instance",
    "job",
}
TOP_KEYS = {
    "uid",
    "title",
    "tags",
    "timezone",
    "schemaVersion",
    "version",
    "time",
    "refresh",
    "templating",
    "annotations",
    "panels",
    "editable",
}
PANEL_KEYS = {"id", "type", "title", "gridPos", "datasource", "targets", "fieldConfig", "options"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_five_dashboards_exist() -> None:
    titles = {load(p)["title"] for p in DASHBOARDS}
    assert titles == {
        "Agent sidecar / Overview",
        "Agent sidecar / Cost and budgets",
        "Agent sidecar / Tools and cache",
        "Agent sidecar / Safety",
        "Agent sidecar / Sidecar health",
    }
    assert len({load(p)["uid"] for p in DASHBOARDS}) == 5


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_schema(path: Path) -> None:
    board = load(path)
    assert set(board) >= TOP_KEYS, TOP_KEYS - set(board)
    assert board["schemaVersion"] >= 39 and len(board["uid"]) <= 40
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name, var in variables.items():
        if name != "datasource":
            assert var["type"] == "query" and var["datasource"]["uid"] == "${datasource}"
            assert var["includeAll"] and var["allValue"] == ".*"
    assert "${datasource}" in json.dumps(board)
    used: set[str] = set()
    ids = set()
    for panel in board["panels"]:
        assert {"id", "type", "title", "gridPos"} <= set(panel)
        assert panel["id"] not in ids
        ids.add(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0
        if panel["type"] == "row":
            continue
        if panel["type"] == "text":
            assert panel["options"]["content"].strip()
            continue
        assert panel["type"] in ("timeseries", "stat")
        assert set(panel) >= PANEL_KEYS, (panel["title"], PANEL_KEYS - set(panel))
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert "unit" in panel["fieldConfig"]["defaults"]
        assert panel["targets"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].strip()
            names = {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$(\w+)", target["expr"])}
            assert names <= ALLOWED_VARIABLES, (panel["title"], names - ALLOWED_VARIABLES)
            used |= names
    for name in set(variables) - {"datasource"}:
        assert name in used, f"variable ${name} is defined but no panel uses it"
    for name in used - {"__rate_interval", "__interval", "__range"}:
        assert name in variables, f"${name} used but not defined"
    # no data source uid anywhere but the variable
    uids = re.findall(r'"uid": "([^"]*)"', json.dumps(board))
    assert set(uids) <= {"${datasource}", "-- Grafana --", board["uid"]}


def test_committed_files_are_the_generator_output() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", REPO / "scripts" / "build_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert sorted(built) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text(encoding="utf-8") == module.render(built[path.name]), (
            f"{path.name} is stale: run python scripts/build_dashboards.py"
        )
