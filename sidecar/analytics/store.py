"""Bin stores for the quantile sketch: bin key -> count, bounded by collapsing the lowest bins.

Two layouts with one interface (:class:`BinStore`):

- :class:`SparseStore` keeps a dict. In CPython a dict update is the cheapest way to count a
  key, so the sketch that receives live values uses it.
- :class:`DenseStore` keeps a contiguous ``array('q')`` from the lowest key: 8 bytes a bin
  instead of about 50 for a dict entry, so sketches that are only merged into (closed time
  slices, windows, since-start totals) use it. 400 bins (a lognormal latency at 1%) take 3.2 kB.

Memory is bounded: past ``bin_limit`` distinct bins the lowest bins are merged into the lowest
kept one, so the largest values keep their accuracy (the tail is what latency questions are
about). With the default 2,048 bins at 1% relative accuracy nothing collapses for data spanning
less than 17 decades (for example 1e-9 .. 1e8); a quantile that falls in a collapsed bin is
reported too high, never too low.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

DEFAULT_BIN_LIMIT = 2048
_NO_FLOOR = -(1 << 62)
_ORDER = sys.byteorder  # array('q') holds native-endian 64-bit counts
MAX_COUNT = 1 << 53  # per bin and per sketch, far below the 2**63 an int64 bin can hold


class BinStore(Protocol):
    """Counts per bin key; ``count`` is the total over all bins."""

    count: int
    bin_limit: int

    def add(self, key: int, count: int = 1) -> None: ...

    def items(self) -> Iterator[tuple[int, int]]:
        """Non-empty bins in ascending key order."""
        ...

    def __len__(self) -> int: ...


def keys_at_ranks(items: Iterable[tuple[int, int]], ranks: Sequence[float]) -> list[int]:
    """For ascending ``ranks``, the key of the bin holding each rank (0-based, as DDSketch).

    The bin returned for rank ``r`` is the first whose cumulative count exceeds ``r``, i.e. the
    bin that holds the sample at sorted position ``floor(r)``.
    """
    out: list[int] = []
    want = 0
    n_ranks = len(ranks)
    running = 0
    last_key = 0
    for key, count in items:
        running += count
        last_key = key
        while want < n_ranks and running > ranks[want]:
            out.append(key)
            want += 1
        if want == n_ranks:
            return out
    out.extend([last_key] * (n_ranks - want))
    return out


class SparseStore:
    """Dict-backed store: fastest insert, about 50 bytes a non-empty bin."""

    __slots__ = ("bin_limit", "bins", "count", "floor")

    def __init__(self, bin_limit: int = DEFAULT_BIN_LIMIT) -> None:
        if bin_limit < 1:
            raise ValueError(f"bin_limit must be at least 1, got {bin_limit}")
        self.bin_limit = bin_limit
        self.bins: dict[int, int] = {}
        self.count = 0
        self.floor = _NO_FLOOR

    def add(self, key: int, count: int = 1) -> None:
        if key < self.floor:
            key = self.floor
        bins = self.bins
        if key in bins:
            bins[key] += count
        else:
            bins[key] = count
            if len(bins) > self.bin_limit:
                self._collapse()
        self.count += count

    def _collapse(self) -> None:
        keys = sorted(self.bins)
        cut = len(keys) - self.bin_limit
        kept = keys[cut]
        bins = self.bins
        bins[kept] += sum(bins.pop(k) for k in keys[:cut])
        self.floor = kept

    def items(self) -> Iterator[tuple[int, int]]:
        return iter(sorted(self.bins.items()))

    def __len__(self) -> int:
        return len(self.bins)


class DenseStore:
    """Array-backed store from the lowest key: 8 bytes a bin, for sketches that are merged into."""

    __slots__ = ("bin_limit", "count", "counts", "floor", "offset")

    def __init__(self, bin_limit: int = DEFAULT_BIN_LIMIT) -> None:
        if bin_limit < 1:
            raise ValueError(f"bin_limit must be at least 1, got {bin_limit}")
        self.bin_limit = bin_limit
        self.counts = array("q")
        self.offset = 0
        self.count = 0
        self.floor = _NO_FLOOR

    def add(self, key: int, count: int = 1) -> None:
        if key < self.floor:
            key = self.floor
        i = key - self.offset
        if not 0 <= i < len(self.counts):
            self._cover(key, key)
            key = max(key, self.floor)
            i = key - self.offset
        self.counts[i] += count
        self.count += count

    def merge(self, other: BinStore) -> None:
        """Add every bin of ``other``, with one resize at most."""
        self.merge_all((other,))

    def merge_all(self, others: Sequence[BinStore]) -> None:
        """Add every bin of every store in ``others`` (the merge of many time slices at once).

        Dense stores are added in one big-integer sum when no collapse is needed: each store's
        counts, read as one little-endian integer of 64-bit fields and shifted to a common
        offset, add field by field without a carry while every count stays below 2**63 (they
        stay below :data:`MAX_COUNT`). So merging 60 stores of 400 bins costs a few C-level
        operations per store instead of a Python loop over 24,000 bins.
        """
        dense = [o for o in others if isinstance(o, DenseStore) and o.counts]
        if dense and not self._add_dense(dense):
            for store in dense:
                self._add_items(store)
        for other in others:
            if not isinstance(other, DenseStore):
                self._add_items(other)

    def _add_items(self, other: BinStore) -> None:
        items = list(other.items())
        if not items:
            return
        lo = max(items[0][0], self.floor)
        self._cover(lo, max(items[-1][0], lo))
        counts, floor, offset = self.counts, self.floor, self.offset
        for key, c in items:
            counts[(key if key > floor else floor) - offset] += c
        self.count += other.count

    def _add_dense(self, others: list[DenseStore]) -> bool:
        """The big-integer sum of :meth:`merge_all`; False (nothing done) if it would collapse."""
        lo = min(o.offset for o in others)
        hi = max(o.offset + len(o.counts) - 1 for o in others)
        if self.counts:
            lo = min(lo, self.offset)
            hi = max(hi, self.offset + len(self.counts) - 1)
        if lo < self.floor or hi - lo + 1 > self.bin_limit:
            return False
        total = 0
        for store in (self, *others) if self.counts else others:
            total += int.from_bytes(store.counts.tobytes(), _ORDER) << (64 * (store.offset - lo))
        merged = array("q")
        merged.frombytes(total.to_bytes(8 * (hi - lo + 1), _ORDER))
        self.counts, self.offset = merged, lo
        self.count += sum(o.count for o in others)
        return True

    def _cover(self, lo: int, hi: int) -> None:
        """Resize so keys ``lo..hi`` fit, collapsing the lowest bins past ``bin_limit``."""
        if self.counts:
            lo = min(lo, self.offset)
            hi = max(hi, self.offset + len(self.counts) - 1)
        lo = max(lo, self.floor)
        if hi - lo + 1 > self.bin_limit:
            lo = hi - self.bin_limit + 1
            self.floor = lo
        if self.counts and lo == self.offset and hi == self.offset + len(self.counts) - 1:
            return
        new = array("q", bytes(8 * (hi - lo + 1)))
        for i, c in enumerate(self.counts):
            if c:
                new[max(self.offset + i, lo) - lo] += c
        self.counts = new
        self.offset = lo

    def items(self) -> Iterator[tuple[int, int]]:
        offset = self.offset
        return ((offset + i, c) for i, c in enumerate(self.counts) if c)

    def __len__(self) -> int:
        return sum(1 for c in self.counts if c)
