"""A labelled Prometheus histogram with a cheap observe, exported by a custom collector.

``prometheus_client.Histogram.observe`` takes locks and keeps one value object per bucket;
this one keeps a plain list of bucket counts per label set, for a higher observe rate
(``bench/bench_sketch.py``, figures in docs/benchmarks.md). It is meant to be fed from one thread
(the event loop's sinks); a scrape from another thread may see one observation half applied
(bucket counted, sum not yet), never a corrupt value.
Exposition is the standard one (``_bucket{le}``, ``_sum``, ``_count``), built at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class LabelledHistogram:
    """Bucket counts per label-value tuple; ``le`` buckets are inclusive as Prometheus wants."""

    __slots__ = ("_bounds", "_le", "_rows", "_sum_index", "documentation", "label_names", "name")

    def __init__(
        self, name: str, documentation: str, label_names: Sequence[str], buckets: Sequence[float]
    ) -> None:
        if list(buckets) != sorted(set(buckets)):
            raise ValueError(f"{name}: buckets must be strictly increasing")
        self.name = name
        self.documentation = documentation
        self.label_names = tuple(label_names)
        self._bounds = tuple(float(b) for b in buckets)
        self._le = [*(floatToGoString(b) for b in self._bounds), "+Inf"]
        self._sum_index = len(self._bounds) + 1
        # per label set: bucket counts (last one +Inf), then the sum of observed values
        self._rows: dict[tuple[str, ...], list[float]] = {}

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        row = self._rows.get(labels)
        if row is None:
            row = self._new_row(labels)
        row[bisect_left(self._bounds, value)] += 1
        row[-1] += value

    def observe_all(self, labels: tuple[str, ...], values: Iterable[float]) -> None:
        """:meth:`observe` of each value in turn (the same counts and the same sum, added in
        the same order), with one lookup of the label set."""
        row = self._rows.get(labels)
        if row is None:
            row = self._new_row(labels)
        bounds = self._bounds
        total = row[-1]
        for value in values:
            row[bisect_left(bounds, value)] += 1
            total += value
        row[-1] = total

    def _new_row(self, labels: tuple[str, ...]) -> list[float]:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name}: expected labels {self.label_names}, got {labels}")
        row = self._rows[labels] = [0] * self._sum_index + [0.0]
        return row

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.label_names)
        for labels, row in list(self._rows.items()):
            cumulative, running = [], 0.0
            for le, c in zip(self._le, row[: self._sum_index], strict=True):
                running += c
                cumulative.append((le, running))
            family.add_metric(list(labels), cumulative, row[-1])
        return family

    def label_values(self, label: str) -> set[str]:
        """Distinct values of one label so far (for tests and the cardinality check)."""
        i = self.label_names.index(label)
        return {labels[i] for labels in self._rows}


class HistogramCollector(Collector):
    """Exposes a fixed set of :class:`LabelledHistogram` s to a registry."""

    def __init__(self, histograms: Sequence[LabelledHistogram]) -> None:
        self._histograms = tuple(histograms)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        for h in self._histograms:
            yield h.family()

    def describe(self) -> Iterator[HistogramMetricFamily]:
        for h in self._histograms:
            yield HistogramMetricFamily(h.name, h.documentation, labels=h.label_names)
