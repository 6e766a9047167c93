"""Latency analytics: mergeable quantile sketches, sliding windows, stats queries.

Public surface: :class:`Analytics` (the event sink and ``stats`` query), :class:`QuantileSketch`,
:class:`AnalyticsConfig`, :class:`LabelGuard` and :class:`ManualClock` (for tests).
"""

from sidecar.analytics.cardinality import OTHER, LabelGuard
from sidecar.analytics.config import SERIES_FIELDS, AnalyticsConfig
from sidecar.analytics.engine import Analytics
from sidecar.analytics.report import QUANTILES
from sidecar.analytics.sketch import IncompatibleSketchError, QuantileSketch
from sidecar.analytics.windows import ManualClock

__all__ = [
    "OTHER",
    "QUANTILES",
    "SERIES_FIELDS",
    "Analytics",
    "AnalyticsConfig",
    "IncompatibleSketchError",
    "LabelGuard",
    "ManualClock",
    "QuantileSketch",
]
