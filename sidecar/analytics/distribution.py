"""Latency distributions: a quantile curve per series, for charts.

``distribution(analytics, "5m", ["model"], "ttft_ms")`` gives, for each model, the values at the
quantiles of :data:`CURVE` (1 % to 99.9 %), each within the sketches' relative accuracy (1 % by
default) of the exact quantile of the window, like ``/v1/stats``. 101 points per series
whatever the number of calls, so a chart costs a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.analytics.engine import Analytics, parse_group_by

CURVE: tuple[float, ...] = (*(i / 100 for i in range(1, 100)), 0.995, 0.999)
METRICS = {"ttft_ms": "ttft", "duration_ms": "duration", "tpot_ms": "tpot", "steps": "steps"}


def distribution(
    analytics: Analytics, window: str, group_by: Sequence[str], metric: str
) -> dict[str, Any]:
    """The body of ``GET /v1/stats/distribution``; ValueError naming the bad parameter."""
    if metric not in METRICS:
        raise ValueError(f"metric: use one of {', '.join(METRICS)}")
    fields = parse_group_by(group_by)
    names = [*fields, "operation"] if "operation" not in fields else fields
    series = []
    for group, agg in analytics.merged(window, fields).items():
        sketch = getattr(agg, METRICS[metric])
        if sketch is None or not sketch.count:
            continue
        values = sketch.quantiles(CURVE)
        series.append(
            {
                "key": dict(zip(names, group, strict=True)),
                "count": sketch.count,
                "values": [None if v is None else round(v, 3) for v in values],
            }
        )
    series.sort(key=lambda s: (-s["count"], repr(sorted(s["key"].items()))))
    return {
        "window": window,
        "metric": metric,
        "group_by": fields,
        "relative_accuracy": analytics.config.relative_accuracy,
        "quantiles": list(CURVE),
        "series": series,
    }
