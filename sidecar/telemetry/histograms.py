"""A labelled Prometheus histogram with a cheap observe, exported by a custom collector.

``prometheus_client.Histogram.observe`` costs about 2.5 µs here (a lock per bucket); this one
keeps plain per-label-set bucket counts and costs about 0.3 µs, so the five observations of a
streaming LLM call stay under 2 µs. It is meant to be fed from one thread (the event loop's sinks);
a scrape from another thread may see one observation half applied, never a corrupt value.
Exposition is the standard one (``_bucket{le}``, ``_sum``, ``_count``), built at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class LabelledHistogram:
    """Bucket counts per label-value tuple; ``le`` buckets are inclusive as Prometheus wants."""

    __slots__ = ("_bounds", "_counts", "_le", "_sums", "documentation", "label_names", "name")

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
        self._counts: dict[tuple[str, ...], list[int]] = {}
        self._sums: dict[tuple[str, ...], float] = {}

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        counts = self._counts.get(labels)
        if counts is None:
            if len(labels) != len(self.label_names):
                raise ValueError(f"{self.name}: expected labels {self.label_names}, got {labels}")
            counts = self._counts[labels] = [0] * (len(self._bounds) + 1)
            self._sums[labels] = 0.0
        counts[bisect_left(self._bounds, value)] += 1
        self._sums[labels] += value

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.label_names)
        for labels, counts in list(self._counts.items()):
            cumulative, running = [], 0
            for le, c in zip(self._le, counts, strict=True):
                running += c
                cumulative.append((le, running))
            family.add_metric(list(labels), cumulative, self._sums[labels])
        return family

    def label_values(self, label: str) -> set[str]:
        """Distinct values of one label so far (for tests and the cardinality check)."""
        i = self.label_names.index(label)
        return {labels[i] for labels in self._counts}


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
