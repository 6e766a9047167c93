"""The ``GET /v1/stats`` answer: series merged by ``group_by`` and rendered with percentiles.

One renderer for one sidecar's windows and for the fleet's merged snapshots, so both answer in
the same shape with the same error bound: every percentile is read from a sketch that is the
merge of the values' sketches, so it is within the relative accuracy (1%) of the exact
percentile of all the values merged, however many slices or replicas they came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sidecar.analytics.config import SERIES_FIELDS
from sidecar.analytics.series import SeriesStats
from sidecar.analytics.sketch import QuantileSketch

QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
_Q_VALUES = [q for _, q in QUANTILES]
_OPERATION = SERIES_FIELDS.index("operation")

Groups = dict[tuple[Any, ...], SeriesStats]


def parse_group_by(group_by: Sequence[str]) -> list[str]:
    """Validate ``group_by`` fields; ValueError naming ``group_by`` and the bad field."""
    if isinstance(group_by, str):
        group_by = [f for f in group_by.split(",") if f]
    fields: list[str] = []
    for field in group_by:
        if field not in SERIES_FIELDS:
            raise ValueError(
                f"group_by: unknown field {field!r}; expected any of {', '.join(SERIES_FIELDS)}"
            )
        if field in fields:
            raise ValueError(f"group_by: field {field!r} given twice")
        fields.append(field)
    return fields


def group_names(fields: Sequence[str]) -> list[str]:
    """The key names of a grouped series: the ``group_by`` fields, then ``operation``."""
    return [*fields, "operation"] if "operation" not in fields else list(fields)


def merge_groups(
    sources: Iterable[Mapping[tuple[Any, ...], SeriesStats]],
    fields: Sequence[str],
    relative_accuracy: float,
    bin_limit: int,
) -> Groups:
    """Merge series keyed by full series keys (time slices, replicas) into ``fields`` groups.

    Each group's sketches are merged in one pass over all their parts
    (:meth:`SeriesStats.merge_all`)."""
    index = [SERIES_FIELDS.index(f) for f in fields]
    if _OPERATION not in index:
        index.append(_OPERATION)
    parts: dict[tuple[Any, ...], list[SeriesStats]] = {}
    for source in sources:
        for key, agg in source.items():
            group = tuple(key[i] for i in index)
            found = parts.get(group)
            if found is None:
                parts[group] = [agg]
            else:
                found.append(agg)
    groups: Groups = {}
    for group, aggs in parts.items():
        target = groups[group] = SeriesStats(relative_accuracy, bin_limit, dense=True)
        target.merge_all(aggs)
    return groups


def _quantiles(sketch: QuantileSketch | None) -> dict[str, float] | None:
    if sketch is None or not sketch.count:
        return None
    values = sketch.quantiles(_Q_VALUES)
    return {name: v for (name, _), v in zip(QUANTILES, values, strict=True) if v is not None}


def render_series(fields: Sequence[str], groups: Groups) -> list[dict[str, Any]]:
    """The ``series`` list: one entry per group, largest count first."""
    names = group_names(fields)
    series: list[dict[str, Any]] = []
    for group, agg in groups.items():
        series.append(
            {
                "key": dict(zip(names, group, strict=True)),
                "count": agg.count,
                "errors": agg.errors,
                "error_rate": agg.errors / agg.count if agg.count else 0.0,
                "ttft_ms": _quantiles(agg.ttft),
                "duration_ms": _quantiles(agg.duration),
                "tpot_ms": _quantiles(agg.tpot),
                "steps": _quantiles(agg.steps),
                "tokens": {
                    "input": agg.input_tokens,
                    "output": agg.output_tokens,
                    "cached_input": agg.cached_input_tokens,
                    "total": agg.input_tokens + agg.output_tokens,
                },
                "cost_usd": round(agg.cost_usd, 9) if agg.cost_events else None,
            }
        )
    series.sort(key=lambda s: (-s["count"], repr(sorted(s["key"].items()))))
    return series


def stats_body(
    window: str, fields: Sequence[str], until: float, relative_accuracy: float, groups: Groups
) -> dict[str, Any]:
    """The body of ``GET /v1/stats`` (``scope`` local: one sidecar)."""
    return {
        "window": window,
        "group_by": list(fields),
        "until": until,
        "relative_accuracy": relative_accuracy,
        "scope": "local",
        "series": render_series(fields, groups),
    }
