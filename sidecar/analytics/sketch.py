"""A mergeable quantile sketch with a relative-error guarantee (DDSketch-style).

Guarantee: for relative accuracy ``a`` (default 1%), the value reported for quantile ``q`` of
``n`` non-negative values is within ``a`` (relative) of the exact quantile, defined as the sample
at sorted position ``floor(q * (n - 1))``. If the exact p99 is 100 ms, the sketch reports a value
between 99 and 101 ms, whatever the distribution. Merging sketches (across time slices or across
sidecars, see :mod:`sidecar.analytics.codec`) keeps the guarantee: the merge of two sketches is
the sketch of the union of their values.

Memory and speed: one bin per ``a``-relative band of values, so 1 ms .. 1 hour at 1% needs at most
about 760 bins; a bin limit (default 2,048) bounds memory by collapsing the lowest bins, which
only affects quantiles falling in the collapsed range (17+ decades below the maximum at 1%).
Insert rates, beside the ``ddsketch`` package's: ``bench/bench_sketch.py`` (docs/benchmarks.md,
"Quantile sketch"). Serialised, a 400-bin sketch is about 0.5 kB.

Values must be finite and non-negative (latencies, token counts, steps): zero is counted apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import msgspec

from sidecar.analytics.mapping import LogarithmicMapping
from sidecar.analytics.store import (
    DEFAULT_BIN_LIMIT,
    BinStore,
    DenseStore,
    SparseStore,
    keys_at_ranks,
)

_INF = math.inf
_log = math.log
_ceil = math.ceil


class IncompatibleSketchError(ValueError):
    """Raised on merging sketches built with different relative accuracies."""


class SketchState(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The wire form of a sketch: dense counts from ``offset`` (msgpack bytes or JSON)."""

    relative_accuracy: Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)]
    bin_limit: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)]
    count: Annotated[int, msgspec.Meta(ge=0)]
    zero_count: Annotated[int, msgspec.Meta(ge=0)] = 0
    sum: float = 0.0
    min: float | None = None
    max: float | None = None
    offset: int = 0
    counts: list[Annotated[int, msgspec.Meta(ge=0)]] = []


_decode_msgpack = msgspec.msgpack.Decoder(SketchState).decode
_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder(SketchState).decode


class QuantileSketch:
    """Quantiles of non-negative values within ``relative_accuracy``; mergeable, bounded."""

    __slots__ = ("_multiplier", "count", "mapping", "max", "min", "store", "sum", "zero_count")

    def __init__(
        self,
        relative_accuracy: float = 0.01,
        bin_limit: int = DEFAULT_BIN_LIMIT,
        *,
        dense: bool = False,
    ) -> None:
        self.mapping = LogarithmicMapping(relative_accuracy)
        self._multiplier = self.mapping.multiplier
        self.store: SparseStore | DenseStore = (
            DenseStore(bin_limit) if dense else SparseStore(bin_limit)
        )
        self.zero_count = 0
        self.count = 0
        self.sum = 0.0
        self.min = _INF
        self.max = -_INF

    @property
    def relative_accuracy(self) -> float:
        return self.mapping.relative_accuracy

    def add(self, value: float) -> None:
        """Count one value; raises ValueError for a negative, NaN or infinite one."""
        if 0.0 < value < _INF:
            self.store.add(_ceil(_log(value) * self._multiplier))
        elif value == 0.0:
            self.zero_count += 1
        else:
            raise ValueError(f"sketch values must be finite and >= 0, got {value!r}")
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def add_all(self, values: Sequence[float]) -> None:
        """:meth:`add` of each value in order (the same sketch, sum added in the same order),
        with one call; raises ValueError, adding none, when one is negative, NaN or infinite."""
        for value in values:
            if not 0.0 <= value < _INF:
                raise ValueError(f"sketch values must be finite and >= 0, got {value!r}")
        add, multiplier = self.store.add, self._multiplier
        total, low, high, zeros = self.sum, self.min, self.max, 0
        for value in values:
            if value > 0.0:
                add(_ceil(_log(value) * multiplier))
            else:
                zeros += 1
            total += value
            if value < low:
                low = value
            if value > high:
                high = value
        self.zero_count += zeros
        self.count += len(values)
        self.sum, self.min, self.max = total, low, high

    def merge(self, other: QuantileSketch) -> None:
        """Add ``other``'s values to this sketch (same relative accuracy required)."""
        self.merge_all((other,))

    def merge_all(self, others: Sequence[QuantileSketch]) -> None:
        """Add the values of every sketch in ``others``: the sketch of the union.

        Raises :class:`IncompatibleSketchError` (merging nothing) when one was built with another
        relative accuracy. A dense target merges dense sources in one pass
        (:meth:`DenseStore.merge_all`), so merging many time slices or replicas stays cheap.
        """
        gamma = self.mapping.gamma
        for other in others:
            if other.mapping.gamma != gamma:
                raise IncompatibleSketchError(
                    f"cannot merge a sketch of relative accuracy {other.relative_accuracy} into "
                    f"one of {self.relative_accuracy}"
                )
        others = [o for o in others if o.count]
        if not others:
            return
        store = self.store
        if isinstance(store, DenseStore):
            store.merge_all([o.store for o in others])
        else:
            for other in others:
                for key, c in other.store.items():
                    store.add(key, c)
        for other in others:
            self.zero_count += other.zero_count
            self.count += other.count
            self.sum += other.sum
            if other.min < self.min:
                self.min = other.min
            if other.max > self.max:
                self.max = other.max

    def quantile(self, q: float) -> float | None:
        """The value at quantile ``q`` in [0, 1], or None when the sketch is empty."""
        return self.quantiles([q])[0]

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Several quantiles in one pass over the bins (``qs`` in any order)."""
        if any(not 0.0 <= q <= 1.0 for q in qs):
            raise ValueError(f"quantiles must be in [0, 1], got {list(qs)!r}")
        if not self.count:
            return [None] * len(qs)
        order = sorted(range(len(qs)), key=lambda i: qs[i])
        ranks = [qs[i] * (self.count - 1) - self.zero_count for i in order]
        positive = [r for r in ranks if r >= 0]
        keys = keys_at_ranks(self.store.items(), positive) if positive else []
        out: list[float | None] = [None] * len(qs)
        k = 0
        value = self.mapping.value
        for i, r in zip(order, ranks, strict=True):
            if r < 0:
                out[i] = 0.0
            else:
                out[i] = float(min(max(value(keys[k]), self.min), self.max))
                k += 1
        return out

    def copy(self, *, dense: bool = True) -> QuantileSketch:
        """An independent copy (dense by default: the compact layout for merge targets)."""
        new = QuantileSketch(self.relative_accuracy, self.store.bin_limit, dense=dense)
        new.merge(self)
        return new

    def __len__(self) -> int:
        """Non-empty bins (a memory figure, not the value count)."""
        return len(self.store)

    # -- wire form ---------------------------------------------------------------------------

    def to_state(self) -> SketchState:
        items = list(self.store.items())
        offset = items[0][0] if items else 0
        counts = [0] * ((items[-1][0] - offset + 1) if items else 0)
        for key, c in items:
            counts[key - offset] = c
        return SketchState(
            relative_accuracy=self.relative_accuracy,
            bin_limit=self.store.bin_limit,
            count=self.count,
            zero_count=self.zero_count,
            sum=self.sum,
            min=self.min if self.count else None,
            max=self.max if self.count else None,
            offset=offset,
            counts=counts,
        )

    @classmethod
    def from_state(cls, state: SketchState) -> QuantileSketch:
        """Rebuild a sketch; raises ValueError when the state is inconsistent."""
        if len(state.counts) > state.bin_limit:
            raise ValueError(f"sketch has {len(state.counts)} bins, over its bin_limit")
        if state.zero_count + sum(state.counts) != state.count:
            raise ValueError("sketch count does not equal the sum of its bins")
        if state.count and (state.min is None or state.max is None):
            raise ValueError("a non-empty sketch needs min and max")
        sketch = cls(state.relative_accuracy, state.bin_limit, dense=True)
        store = sketch.store
        assert isinstance(store, DenseStore)
        if state.counts:
            store.counts.extend(state.counts)
            store.offset = state.offset
            store.count = state.count - state.zero_count
        sketch.zero_count = state.zero_count
        sketch.count = state.count
        sketch.sum = state.sum
        if state.count:
            assert state.min is not None and state.max is not None
            sketch.min, sketch.max = state.min, state.max
        return sketch

    def to_bytes(self) -> bytes:
        """Compact versioned form (:mod:`sidecar.analytics.codec`), for shipping to another
        sidecar and merging there: about 0.5 kB for a 400-bin latency sketch."""
        from sidecar.analytics.codec import encode_sketch

        return encode_sketch(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> QuantileSketch:
        """Read :meth:`to_bytes` output (or the unversioned msgpack form before it); raises
        ValueError for anything else."""
        from sidecar.analytics.codec import decode_sketch

        return decode_sketch(data)

    @classmethod
    def from_legacy_bytes(cls, data: bytes) -> QuantileSketch:
        """The unversioned msgpack :class:`SketchState` form of earlier releases."""
        try:
            return cls.from_state(_decode_msgpack(data))
        except msgspec.DecodeError as exc:
            raise ValueError(f"not a serialised sketch: {exc}") from exc

    def to_json(self) -> bytes:
        return _encode_json(self.to_state())

    @classmethod
    def from_json(cls, data: bytes | str) -> QuantileSketch:
        try:
            return cls.from_state(_decode_json(data))
        except msgspec.DecodeError as exc:
            raise ValueError(f"not a serialised sketch: {exc}") from exc


__all__ = ["BinStore", "IncompatibleSketchError", "QuantileSketch", "SketchState"]
