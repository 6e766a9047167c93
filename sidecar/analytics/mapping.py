"""Logarithmic index mapping: value -> bin index, with a relative-error guarantee.

With relative accuracy ``a`` the bins are the intervals ``(g**(k-1), g**k]`` where
``g = (1 + a) / (1 - a)``; the value reported for bin ``k`` is ``2 * g**k / (g + 1)``, which is
within ``a`` (relative) of every value in the bin. Example: at 1% (``a = 0.01``, ``g ~ 1.0202``)
a value of 100 ms lands in a bin whose reported value lies in [99, 101] ms, and one decade of
values spans about 115 bins, so 1 ms .. 1 hour (6.6 decades) needs about 760 bins.

This is the mapping of DDSketch (Masson, Rim, Lee, "DDSketch: a fast and fully-mergeable quantile
sketch with relative-error guarantees", VLDB 2019), computed with ``math.log`` (exact mapping).
"""

from __future__ import annotations

import math


class LogarithmicMapping:
    """Maps positive floats to integer bin keys such that a bin's value is within ``a`` of all."""

    __slots__ = ("gamma", "multiplier", "relative_accuracy")

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        self.relative_accuracy = relative_accuracy
        self.gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self.multiplier = 1.0 / math.log(self.gamma)

    def key(self, value: float) -> int:
        """The bin key of a positive ``value``: ``ceil(log_gamma(value))``."""
        return math.ceil(math.log(value) * self.multiplier)

    def value(self, key: int) -> float:
        """The representative of bin ``key``, within the relative accuracy of its members."""
        return 2.0 * math.exp(key / self.multiplier) / (self.gamma + 1.0)
