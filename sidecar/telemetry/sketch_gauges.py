"""Optional gauges of sketch quantiles: one sidecar's p50..p99.9 within 1%, over one window.

``histogram_quantile`` over the GenAI buckets interpolates inside buckets that double in width
(about 5% error at p50 and 11% at p99.9 on lognormal latencies, see ``docs/analytics.md``); these
gauges give the analytics' quantiles instead. They are per sidecar and not aggregatable (never
average them across pods); their names say so with the ``agent_sidecar_sketch_`` prefix:

- ``agent_sidecar_sketch_operation_duration_seconds{gen_ai_operation_name, gen_ai_request_model,
  gen_ai_tool_name, percentile}``
- ``agent_sidecar_sketch_time_to_first_chunk_seconds{gen_ai_operation_name,
  gen_ai_request_model, percentile}``

Computed at scrape time from :meth:`Analytics.stats` (no cost per event); label values are the
analytics' series keys, already bounded by its caps.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sidecar.analytics import QUANTILES, Analytics

_PERCENTILE = {name: f"{q * 100:g}" for name, q in QUANTILES}  # "50" .. "99.9"


class SketchQuantileCollector(Collector):
    """Exports the analytics' quantiles over ``window`` as gauges with a ``percentile`` label.

    Not ``quantile``: Prometheus reserves that label for summaries (promtool flags it).
    """

    def __init__(self, analytics: Analytics, window: str = "5m") -> None:
        self._analytics = analytics
        self._window = window

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        help_suffix = f" over the last {self._window}, from this sidecar's sketches (1% error)."
        duration = GaugeMetricFamily(
            "agent_sidecar_sketch_operation_duration_seconds",
            "Quantiles of GenAI operation and tool durations" + help_suffix,
            labels=[
                "gen_ai_operation_name",
                "gen_ai_request_model",
                "gen_ai_tool_name",
                "percentile",
            ],
        )
        ttft = GaugeMetricFamily(
            "agent_sidecar_sketch_time_to_first_chunk_seconds",
            "Quantiles of time to first chunk of streaming GenAI calls" + help_suffix,
            labels=["gen_ai_operation_name", "gen_ai_request_model", "percentile"],
        )
        return duration, ttft

    def collect(self) -> Iterator[GaugeMetricFamily]:
        duration, ttft = self._families()
        body = self._analytics.stats(self._window, ["model", "tool"])
        for series in body["series"]:
            key = series["key"]
            op, model, tool = key["operation"], key["model"] or "", key["tool"] or ""
            for name, value in (series["duration_ms"] or {}).items():
                duration.add_metric([op, model, tool, _PERCENTILE[name]], value / 1000.0)
            for name, value in (series["ttft_ms"] or {}).items():
                ttft.add_metric([op, model, _PERCENTILE[name]], value / 1000.0)
        yield duration
        yield ttft

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()
