"""Exporting the plain counters of the core parts (cache, ledger, redactor, span exporter).

The core packages keep ordinary integers and dictionaries; this collector reads them at scrape
time, so the hot paths pay nothing for Prometheus. Label values come from fixed sets defined by
the parts (result kinds, finding types, denial reasons), never from user input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

Reading = float | Mapping[str, float] | Mapping[tuple[str, ...], float]


@dataclass(frozen=True)
class _Source:
    kind: str
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], Reading]


class StatsCollector:
    """Collector contract of prometheus_client: ``collect()`` yields metric families."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._sources: list[_Source] = []
        registry.register(self)

    def counter(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Reading],
        labels: tuple[str, ...] = (),
    ) -> None:
        """``name`` without ``_total``; ``read`` returns a number or {label value(s): number}."""
        self._sources.append(_Source("counter", name, documentation, labels, read))

    def gauge(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Reading],
        labels: tuple[str, ...] = (),
    ) -> None:
        self._sources.append(_Source("gauge", name, documentation, labels, read))

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            family_type = CounterMetricFamily if source.kind == "counter" else GaugeMetricFamily
            family = family_type(source.name, source.documentation, labels=list(source.labels))
            value = source.read()
            if isinstance(value, Mapping):
                for key, number in value.items():
                    values = list(key) if isinstance(key, tuple) else [key]
                    family.add_metric(values, float(number))
            else:
                family.add_metric([], float(value))
            yield family
