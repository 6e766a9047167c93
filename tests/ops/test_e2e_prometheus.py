"""End to end against a real Prometheus and Alertmanager: a running sidecar under demo load is
scraped every second; every expression of every dashboard panel evaluates without error and
returns data; a TTFT alert driven by slow synthetic calls fires in Prometheus, reaches
Alertmanager and is delivered to a webhook.

The shipped rules are loaded unchanged except ``for:`` of AgentSidecarHighTimeToFirstToken,
shortened from 10m to 2s in the test copy (its expression, labels and annotations are the
shipped ones; the 10-minute hold itself is covered by the promtool unit tests). Dashboard
variables are substituted the way Grafana does: ``$__rate_interval`` 10s (4 scrape
intervals plus margin), ``$__interval`` 2s, ``$__range`` 1m, label variables ``.*`` (All).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from runtime import SidecarClient
from sidecar.demo_workload import Workload
from tests.conftest import REPO, make_settings, start_sidecar
from tests.ops.load import SLOW_MODEL, LoadContext, drive
from tests.ops.promstack import Alertmanager, Prometheus, WebhookReceiver, binary, until
from tests.traces.receivers import HttpOtlpReceiver

pytestmark = pytest.mark.e2e

SUBSTITUTIONS = {
    "__rate_interval": "10s",
    "__interval": "2s",
    "__range": "1m",
    "model": ".*",
    "tool": ".*",
    "agent": ".*",
    "instance": ".*",
    "job": ".*",
}
TTFT_ALERT = "AgentSidecarHighTimeToFirstToken"
DEADLINE_S = 45.0


def substitute(expr: str) -> str:
    """Grafana's variables replaced; any other ``$name`` is an error in the dashboard."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in SUBSTITUTIONS, f"unsupported variable ${name} in {expr!r}"
        return SUBSTITUTIONS[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def panel_queries() -> list[tuple[str, str, bool]]:
    """(dashboard / panel / refId, expression, instant?) for every target of every panel."""
    out = []
    for path in sorted((REPO / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for t in panel.get("targets", []):
                name = f"{path.stem} / {panel['title']} / {t['refId']}"
                out.append((name, substitute(t["expr"]), panel["type"] == "stat"))
    return out


def rules_for_the_test() -> list[dict[str, Any]]:
    groups = yaml.safe_load((REPO / "alerts" / "agent-sidecar.rules.yml").read_text())["groups"]
    found = [r for g in groups for r in g["rules"] if r.get("alert") == TTFT_ALERT]
    assert len(found) == 1 and found[0]["for"] == "10m"
    found[0]["for"] = "2s"
    return list(groups)


def has_data(answer: dict[str, Any]) -> bool:
    """At least one finite value in an instant vector or a range matrix."""
    values: list[str] = []
    for series in answer["data"]["result"]:
        if "value" in series:
            values.append(series["value"][1])
        values.extend(v for _, v in series.get("values", []))
    return any(math.isfinite(float(v)) for v in values)


async def test_dashboards_and_ttft_alert_against_real_prometheus(tmp_path: Path) -> None:
    binary("prometheus"), binary("prometheus-alertmanager", "alertmanager")
    collector = HttpOtlpReceiver()
    collector.start()
    settings = make_settings(
        tmp_path, traces={"enabled": True, "endpoint": collector.endpoint, "schedule_delay_ms": 200}
    )
    running, runner = await start_sidecar(settings)
    webhook = WebhookReceiver()
    await webhook.start()
    alertmanager = Alertmanager(tmp_path, webhook=webhook.url)
    prometheus = Prometheus(
        tmp_path,
        scrape=[running.url.removeprefix("http://")],
        rules=rules_for_the_test(),
        alertmanager=f"127.0.0.1:{alertmanager.port}",
    )
    try:
        alertmanager.start()
        prometheus.start()
        async with aiohttp.ClientSession() as http, SidecarClient(running.url) as client:
            ctx = LoadContext(running.url, http, client, Workload(client, users=20, seed=3))
            stop = asyncio.Event()
            load = asyncio.create_task(drive(ctx, stop))
            try:
                await alertmanager.ready(http)
                await prometheus.ready(http)
                errors, empty = await query_every_panel(prometheus, http)
                # the alert path is checked first so a missing metric cannot hide it
                await ttft_alert_reaches_the_webhook(prometheus, http, webhook)
                assert not errors, f"expressions Prometheus refused: {errors}"
                assert not empty, (
                    "panels without data after {:.0f} s (sidecar answers {}):\n  {}".format(
                        DEADLINE_S,
                        {k: sorted(set(v)) for k, v in ctx.statuses.items()},
                        "\n  ".join(f"{n}: {e}" for n, e, _ in empty),
                    )
                )
            finally:
                stop.set()
                await load
    finally:
        prometheus.stop()
        alertmanager.stop()
        await webhook.stop()
        await runner.cleanup()
        collector.stop()


Query = tuple[str, str, bool]


async def query_every_panel(
    prometheus: Prometheus, http: aiohttp.ClientSession
) -> tuple[dict[str, str], list[Query]]:
    """Query every panel until it has data or the deadline passes; an error stops at once.
    Returns the refused expressions and the panels still without data."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    errors: dict[str, str] = {}
    pending = panel_queries()
    assert len(pending) > 60
    while pending:
        still = []
        for name, expr, instant in pending:
            answer = await (
                prometheus.query(http, expr)
                if instant
                else prometheus.query_range(http, expr, seconds=20)
            )
            if answer.get("status") != "success":
                errors[name] = f"{answer.get('errorType')}: {answer.get('error')}"
            elif not has_data(answer):
                still.append((name, expr, instant))
        pending = still
        if errors or asyncio.get_running_loop().time() > deadline:
            break
        if pending:
            await asyncio.sleep(1.0)  # one scrape interval between rounds of queries
    return errors, pending


async def ttft_alert_reaches_the_webhook(
    prometheus: Prometheus, http: aiohttp.ClientSession, webhook: WebhookReceiver
) -> None:
    """The slow model's TTFT alert fires in Prometheus, then arrives through Alertmanager."""

    async def firing() -> list[dict[str, Any]]:
        return [
            a
            for a in await prometheus.alerts(http)
            if a["labels"].get("alertname") == TTFT_ALERT and a["state"] == "firing"
        ]

    fired = await until(firing, timeout=30, what=f"{TTFT_ALERT} firing in Prometheus")
    assert {a["labels"]["gen_ai_request_model"] for a in fired} >= {SLOW_MODEL}

    async def delivered() -> list[dict[str, Any]]:
        return [
            a
            for a in webhook.alerts()
            if a["labels"].get("alertname") == TTFT_ALERT
            and a["labels"].get("gen_ai_request_model") == SLOW_MODEL
        ]

    got = (await until(delivered, timeout=30, what="the webhook notification"))[0]
    assert got["status"] == "firing"
    assert got["labels"]["severity"] == "warning"
    assert got["annotations"]["summary"] == f"TTFT p95 of {SLOW_MODEL} above 2 s"
    assert got["annotations"]["runbook_url"].endswith(
        "docs/runbooks.md#agentsidecarhightimetofirsttoken"
    )
    assert re.search(r"is [34]\.\d+s \(threshold 2 s\)", got["annotations"]["description"])
