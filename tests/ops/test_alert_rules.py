"""The shipped alert rules and Alertmanager example, checked by Prometheus's own tools."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.conftest import REPO
from tests.ops.promstack import binary

ALERTS = REPO / "alerts"
RULES = ALERTS / "agent-sidecar.rules.yml"
REQUIRED = {
    "AgentSidecarDown",
    "AgentSidecarHighTimeToFirstToken",
    "AgentSidecarHighErrorRate",
    "AgentSidecarToolFailureRate",
    "AgentSidecarCostBurnRate",
    "AgentSidecarBudgetDenialsSpike",
    "AgentSidecarCacheHitRatioDrop",
    "AgentSidecarSpansDropped",
    "AgentSidecarInjectionFindings",
    "AgentSidecarStoreUnavailable",
}


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ALERTS)


def rules() -> list[dict[str, object]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_check_rules() -> None:
    done = run(binary("promtool"), "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(REQUIRED)} rules found" in done.stdout


def test_promtool_unit_tests_pass_and_cover_every_alert_both_ways() -> None:
    test_files = sorted(ALERTS.glob("*_test.yml"))
    assert test_files
    done = run(binary("promtool"), "test", "rules", *map(str, test_files))
    assert done.returncode == 0, done.stdout + done.stderr
    fires: set[str] = set()
    silent: set[str] = set()
    for path in test_files:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (fires if case["exp_alerts"] else silent).add(case["alertname"])
    assert fires == REQUIRED, f"alerts never shown firing: {REQUIRED - fires}"
    assert silent == REQUIRED, f"alerts never shown silent: {REQUIRED - silent}"


def test_every_alert_is_documented_and_labelled() -> None:
    runbooks = (REPO / "docs" / "runbooks.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbooks, flags=re.M)
    }
    found = rules()
    assert {r["alert"] for r in found} == REQUIRED
    for rule in found:
        labels, notes = rule["labels"], rule["annotations"]
        assert isinstance(labels, dict) and isinstance(notes, dict)
        assert labels["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert set(notes) == {"summary", "description", "runbook_url"}, rule["alert"]
        url = str(notes["runbook_url"])
        assert "/docs/runbooks.md#" in url
        assert url.rsplit("#", 1)[1] in anchors, f"{rule['alert']}: no section {url}"
    ttft = next(r for r in found if r["alert"] == "AgentSidecarHighTimeToFirstToken")
    assert ttft["for"] == "10m" and "> 2" in str(ttft["expr"])


def test_alertmanager_example_is_valid_and_routes_by_severity(tmp_path: Path) -> None:
    amtool = binary("amtool")
    config = ALERTS / "alertmanager.yml"
    done = run(amtool, "check-config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    expected = {
        "critical": "pager",
        "warning": "team-chat",
        "info": "team-chat-digest",
        "none": "team-chat",
    }
    for severity, receiver in expected.items():
        done = run(
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"severity={severity}",
            "alertname=AgentSidecarDown",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == receiver, (severity, done.stdout)
    broken = tmp_path / "broken.yml"
    broken.write_text(config.read_text().replace("receiver: pager", "receiver: nobody"))
    assert run(amtool, "check-config", str(broken)).returncode != 0
