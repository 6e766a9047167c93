"""The composition root only wires: ``sidecar/app.py`` is at most 200 lines and defines no
metric; every Prometheus family of the sidecar is defined in ``sidecar/telemetry``; every part
with a background task is a stage, and the stages close in reverse start order with the
exporters after the budget journal and the cache.

Paths: the source tree (every module under ``sidecar/``), and the parts ``build_components``
builds for a configuration with budgets, span export and OTLP metrics on.
"""

from __future__ import annotations

import re
from pathlib import Path

from sidecar.app import build_components
from tests.conftest import REPO, make_settings

METRIC_CALL = re.compile(
    r"\.(counter|gauge|histogram)\(\s*\"agent_sidecar_|"
    r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"|MetricFamily\("
)


def test_app_py_only_wires() -> None:
    source = (REPO / "sidecar" / "app.py").read_text()
    assert len(source.splitlines()) <= 200
    assert not METRIC_CALL.search(source)


def test_every_metric_is_defined_in_telemetry() -> None:
    outside = [
        str(path.relative_to(REPO))
        for path in (REPO / "sidecar").rglob("*.py")
        if "telemetry" not in path.parts and METRIC_CALL.search(path.read_text())
    ]
    assert outside == []


def test_stages_close_in_reverse_with_the_exporters_after_journal_and_cache(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        budgets={"policies": [{"scope": "user", "id": "*", "window": "day", "max_tokens": 9}]},
        traces={"enabled": True, "endpoint": "http://127.0.0.1:9"},
        otlp_metrics={"enabled": True, "endpoint": "http://127.0.0.1:9"},
    )
    closing = list(reversed(build_components(settings).stages.names))
    for first, later in (("writer", "ledger"), ("ledger", "span export"),
                         ("cache", "span export"), ("cache", "metrics export"),
                         ("settle retry", "ledger"), ("span export", "store")):  # fmt: skip
        assert closing.index(first) < closing.index(later), (first, later, closing)
    assert closing[-1] == "store"
