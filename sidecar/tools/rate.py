"""Per-tool call rates: a token bucket per (tenant, agent, tool), in this process.

A bucket holds up to ``burst`` calls and refills at ``per_s``; a call takes one or is refused
with the seconds until one is back. Buckets are kept for at most ``max_buckets`` keys (least
recently used dropped first, which only ever forgives), so memory is bounded whatever the
callers send. Each replica has its own buckets: N replicas allow up to N times the rate.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from sidecar.tools.policy import RateRule


class ToolRates:
    def __init__(self, max_buckets: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self._buckets: OrderedDict[tuple[str, ...], tuple[float, float]] = OrderedDict()
        self._max = max_buckets
        self._clock = clock

    def take(self, key: tuple[str, ...], rule: RateRule) -> float | None:
        """None when a call may go now (and takes it); else seconds until one may."""
        now = self._clock()
        capacity = float(rule.capacity)
        tokens, last = self._buckets.pop(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rule.per_s)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return None
        self._store(key, tokens, now)
        return (1.0 - tokens) / rule.per_s

    def _store(self, key: tuple[str, ...], tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)
