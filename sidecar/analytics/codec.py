"""The wire format of sketches and window snapshots: compact, versioned, mergeable.

A blob is one format byte (:data:`FORMAT`, now 1) and then the encoded parts, which mirror the
sketch's own split:

- **mapping**: the relative accuracy (the logarithmic mapping is the only one, so ``gamma``
  follows from it) and the bin limit, once per blob;
- **store**: the bin counts from the lowest non-empty key to the highest, each in the fewest
  bytes that hold the largest count (1, 2, 4 or 8, little-endian), as one byte string;
- **sketch**: count, zero count, sum, min, max and its store;
- **series** (window snapshots only): the six key fields, counts, tokens, cost and the four
  sketches (duration, TTFT, time per output token, steps).

A standalone sketch (:func:`encode_sketch`) is msgpack after the format byte; a window snapshot
(:func:`encode_window`) is zlib-compressed msgpack after it. Decoding a blob and merging it
gives exactly the sketch that was encoded (same bins, same counts), so the relative-error
guarantee survives any number of round trips and merges. Sizes: a 400-bin latency sketch of
20,000 values is about 0.5 kB (the format before it: about 1 kB); a window snapshot of one
series with its TTFT, duration and per-token sketches about 1 kB compressed.

Decoding never trusts its input: a blob of another format, truncated or corrupt msgpack or zlib,
counts that do not add up, more bins than the bin limit, non-finite sums or a snapshot that
inflates past :data:`MAX_SNAPSHOT_BYTES` all raise :class:`SketchFormatError` (a ValueError)
naming what is wrong.
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from sidecar.analytics.series import SKETCHES, SeriesKey, SeriesStats
from sidecar.analytics.sketch import QuantileSketch
from sidecar.analytics.store import MAX_COUNT, DenseStore

FORMAT = 1
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024  # inflated; a zlib bomb stops here
MAX_KEY = 1 << 31  # bin keys of any finite double at any accuracy >= 1e-4 are far inside
_LEGACY_MAP_MARKERS = frozenset([*range(0x80, 0x90), 0xDE, 0xDF])  # msgpack map: the old form
_TYPECODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_BIG_ENDIAN = sys.byteorder == "big"

Width = Literal[1, 2, 4, 8]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
Total = Annotated[int, msgspec.Meta(ge=0, le=1 << 62)]
Label = Annotated[str, msgspec.Meta(max_length=256)]


class SketchFormatError(ValueError):
    """A blob that is not a sketch or snapshot of a format this version reads."""


class StoreWire(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    offset: Annotated[int, msgspec.Meta(ge=-MAX_KEY, le=MAX_KEY)]
    width: Width
    counts: bytes


class SketchWire(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    count: Count
    zero_count: Count
    sum: float
    min: float
    max: float
    store: StoreWire


class StandaloneWire(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    relative_accuracy: Annotated[float, msgspec.Meta(ge=0.0001, le=0.5)]
    bin_limit: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)]
    sketch: SketchWire


class SeriesWire(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    key: tuple[Label | None, Label | None, Label | None, Label | None, Label, Label]
    count: Total
    errors: Total
    input_tokens: Total
    output_tokens: Total
    cached_input_tokens: Total
    cost_usd: float
    cost_events: Total
    duration: SketchWire | None
    ttft: SketchWire | None
    tpot: SketchWire | None
    steps: SketchWire | None


class WindowWire(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    window: Annotated[str, msgspec.Meta(max_length=16)]
    until: float
    relative_accuracy: Annotated[float, msgspec.Meta(ge=0.0001, le=0.5)]
    bin_limit: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)]
    series: list[SeriesWire]


@dataclass(frozen=True)
class WindowSnapshot:
    """One replica's series over one window, as decoded (sketches in the dense layout)."""

    window: str
    until: float
    relative_accuracy: float
    bin_limit: int
    series: dict[SeriesKey, SeriesStats]

    @property
    def count(self) -> int:
        return sum(s.count for s in self.series.values())


_encode = msgspec.msgpack.Encoder().encode
_decode_standalone = msgspec.msgpack.Decoder(StandaloneWire).decode
_decode_window_wire = msgspec.msgpack.Decoder(WindowWire).decode


# -- store ------------------------------------------------------------------------------------


def encode_store(sketch: QuantileSketch) -> StoreWire:
    """The non-empty key range of a sketch's bins, each count in the fewest bytes."""
    store = sketch.store
    if isinstance(store, DenseStore) and store.counts:
        counts = store.counts
        first = next(i for i, c in enumerate(counts) if c)
        last = len(counts) - next(i for i, c in enumerate(reversed(counts)) if c)
        offset, values = store.offset + first, counts[first:last]
        largest = max(values)
    else:
        items = list(store.items())
        if not items:
            return StoreWire(0, 1, b"")
        offset = items[0][0]
        dense = [0] * (items[-1][0] - offset + 1)
        for key, c in items:
            dense[key - offset] = c
        values = array("q", dense)
        largest = max(dense)
    width: Width = (
        1 if largest < 1 << 8 else 2 if largest < 1 << 16 else 4 if largest < 1 << 32 else 8
    )
    packed = array(_TYPECODES[width], values)
    if _BIG_ENDIAN:
        packed.byteswap()
    return StoreWire(offset, width, packed.tobytes())


def _decode_store(wire: StoreWire, bin_limit: int) -> tuple[DenseStore, int]:
    if len(wire.counts) % wire.width:
        raise SketchFormatError("store: counts are not a whole number of fields")
    packed = array(_TYPECODES[wire.width])
    packed.frombytes(wire.counts)
    if _BIG_ENDIAN:
        packed.byteswap()
    if len(packed) > bin_limit:
        raise SketchFormatError(f"store: {len(packed)} bins, over the bin limit {bin_limit}")
    if wire.offset + len(packed) > MAX_KEY:
        raise SketchFormatError("store: bin keys out of range")
    store = DenseStore(bin_limit)
    if packed:
        if max(packed) > MAX_COUNT:
            raise SketchFormatError("store: a bin count is out of range")
        store.counts = array("q", packed)
        store.offset = wire.offset
    total = sum(packed)
    store.count = total
    return store, total


# -- sketch -----------------------------------------------------------------------------------


def _sketch_wire(sketch: QuantileSketch) -> SketchWire:
    empty = not sketch.count
    return SketchWire(
        sketch.count,
        sketch.zero_count,
        sketch.sum,
        0.0 if empty else sketch.min,
        0.0 if empty else sketch.max,
        encode_store(sketch),
    )


def _sketch_from_wire(wire: SketchWire, relative_accuracy: float, bin_limit: int) -> QuantileSketch:
    store, binned = _decode_store(wire.store, bin_limit)
    if binned + wire.zero_count != wire.count:
        raise SketchFormatError("sketch: count does not equal the sum of its bins")
    if not all(math.isfinite(v) and v >= 0.0 for v in (wire.sum, wire.min, wire.max)):
        raise SketchFormatError("sketch: sum, min and max must be finite and >= 0")
    if wire.count and wire.min > wire.max:
        raise SketchFormatError("sketch: min is above max")
    sketch = QuantileSketch(relative_accuracy, bin_limit, dense=True)
    sketch.store = store
    sketch.zero_count = wire.zero_count
    sketch.count = wire.count
    sketch.sum = wire.sum
    if wire.count:
        sketch.min, sketch.max = wire.min, wire.max
    return sketch


def encode_sketch(sketch: QuantileSketch) -> bytes:
    """A standalone sketch: format byte, then msgpack of accuracy, bin limit and the sketch."""
    wire = StandaloneWire(sketch.relative_accuracy, sketch.store.bin_limit, _sketch_wire(sketch))
    return bytes([FORMAT]) + _encode(wire)


def decode_sketch(data: bytes) -> QuantileSketch:
    """The sketch :func:`encode_sketch` wrote (the unversioned form before it is read too)."""
    if not data:
        raise SketchFormatError("not a serialised sketch: empty")
    if data[0] in _LEGACY_MAP_MARKERS:
        return QuantileSketch.from_legacy_bytes(data)
    _check_format(data[0], "serialised sketch")
    try:
        wire = _decode_standalone(data[1:])
    except msgspec.DecodeError as exc:
        raise SketchFormatError(f"not a serialised sketch: {exc}") from None
    return _sketch_from_wire(wire.sketch, wire.relative_accuracy, wire.bin_limit)


def _check_format(version: int, what: str) -> None:
    if version != FORMAT:
        raise SketchFormatError(
            f"not a {what}: format {version} is not readable by this version "
            f"(it reads format {FORMAT})"
        )


# -- series and window snapshots --------------------------------------------------------------


def _series_wire(key: SeriesKey, agg: SeriesStats) -> SeriesWire:
    sketches: list[SketchWire | None] = []
    for name in SKETCHES:
        sketch: QuantileSketch | None = getattr(agg, name)
        sketches.append(_sketch_wire(sketch) if sketch is not None and sketch.count else None)
    return SeriesWire(
        key,
        agg.count,
        agg.errors,
        agg.input_tokens,
        agg.output_tokens,
        agg.cached_input_tokens,
        agg.cost_usd,
        agg.cost_events,
        *sketches,
    )


def encode_window(
    window: str,
    until: float,
    relative_accuracy: float,
    bin_limit: int,
    series: Mapping[tuple[Any, ...], SeriesStats],
) -> bytes:
    """One window of one replica, keyed by full series keys: format byte, then zlib(msgpack)."""
    wire = WindowWire(
        window,
        until,
        relative_accuracy,
        bin_limit,
        [_series_wire(key, agg) for key, agg in series.items()],
    )
    return bytes([FORMAT]) + zlib.compress(_encode(wire), 6)


def decode_window(data: bytes) -> WindowSnapshot:
    """The snapshot :func:`encode_window` wrote; :class:`SketchFormatError` for anything else."""
    if not data:
        raise SketchFormatError("not a window snapshot: empty")
    _check_format(data[0], "window snapshot")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data[1:], MAX_SNAPSHOT_BYTES)
    except zlib.error as exc:
        raise SketchFormatError(f"not a window snapshot: {exc}") from None
    if inflater.unconsumed_tail:
        raise SketchFormatError(f"window snapshot inflates past {MAX_SNAPSHOT_BYTES} bytes")
    try:
        wire = _decode_window_wire(raw)
    except msgspec.DecodeError as exc:
        raise SketchFormatError(f"not a window snapshot: {exc}") from None
    if not math.isfinite(wire.until):
        raise SketchFormatError("window snapshot: until must be finite")
    accuracy, bin_limit = wire.relative_accuracy, wire.bin_limit
    series: dict[SeriesKey, SeriesStats] = {}
    for item in wire.series:
        if not (math.isfinite(item.cost_usd) and item.cost_usd >= 0.0):
            raise SketchFormatError("series: cost_usd must be finite and >= 0")
        agg = SeriesStats(accuracy, bin_limit, dense=True)
        agg.count, agg.errors = item.count, item.errors
        agg.input_tokens, agg.output_tokens = item.input_tokens, item.output_tokens
        agg.cached_input_tokens = item.cached_input_tokens
        agg.cost_usd, agg.cost_events = item.cost_usd, item.cost_events
        for name in SKETCHES:
            sketch_wire: SketchWire | None = getattr(item, name)
            if sketch_wire is not None:
                setattr(agg, name, _sketch_from_wire(sketch_wire, accuracy, bin_limit))
        if item.key in series:
            series[item.key].merge(agg)
        else:
            series[item.key] = agg
    return WindowSnapshot(wire.window, wire.until, accuracy, bin_limit, series)
