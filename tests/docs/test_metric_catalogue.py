"""docs/analytics.md's metric catalogue is exactly what a live sidecar's ``/metrics`` exports.

Path: a real sidecar on loopback with every optional family on, driven through its HTTP routes,
scraped at ``GET /metrics``; the table is regenerated from the scrape and compared with the
document (``python -m tests.docs.metric_catalogue`` rewrites it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.docs.metric_catalogue import DOC, _scrape, catalogue, section


def test_the_catalogue_lists_every_exported_family(tmp_path: Path) -> None:
    scraped = asyncio.run(_scrape(tmp_path))
    assert section(DOC.read_text()) == catalogue(scraped), (
        "docs/analytics.md's metric catalogue is stale: run python -m tests.docs.metric_catalogue"
    )
    for name in (
        "gen_ai_client_operation_duration_seconds",
        "agent_sidecar_cost_usd_total",
        "agent_sidecar_redactions_total",
        "agent_sidecar_admit_total",
    ):
        assert f"| `{name}` |" in section(DOC.read_text())
