"""The sketch wire format: round trips are exact, merges keep the 1% bound, bad bytes are refused.

Paths: ``QuantileSketch.to_bytes``/``from_bytes`` (and the unversioned form before it), the
window snapshots replicas publish (:func:`encode_window`/:func:`decode_window`), and hostile
blobs: truncated, bit-flipped, another format, a zlib bomb, counts that do not add up.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.analytics import QuantileSketch
from sidecar.analytics.codec import (
    FORMAT,
    MAX_SNAPSHOT_BYTES,
    SketchFormatError,
    StandaloneWire,
    decode_sketch,
    decode_window,
    encode_window,
)
from sidecar.analytics.series import SKETCHES, SeriesStats
from sidecar.analytics.store import DenseStore, SparseStore
from tests.analytics.distributions import DISTRIBUTIONS, exact_quantile

QS = [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]

samples = st.builds(
    lambda name, seed, n: DISTRIBUTIONS[name](random.Random(seed), n),
    st.sampled_from(sorted(DISTRIBUTIONS)),
    st.integers(0, 2**32),
    st.integers(0, 3000),
)


def _sketch(values: list[float], *, dense: bool, accuracy: float = 0.01) -> QuantileSketch:
    sketch = QuantileSketch(accuracy, dense=False)
    for v in values:
        sketch.add(v)
    return sketch.copy(dense=True) if dense else sketch


@settings(max_examples=80, deadline=None)
@given(samples, st.booleans(), st.sampled_from([0.01, 0.005, 0.02]))
def test_round_trip_keeps_every_bin(values: list[float], dense: bool, accuracy: float) -> None:
    sketch = _sketch(values, dense=dense, accuracy=accuracy)
    back = QuantileSketch.from_bytes(sketch.to_bytes())
    assert list(back.store.items()) == list(sketch.store.items())
    assert (back.count, back.zero_count, back.relative_accuracy) == (
        sketch.count,
        sketch.zero_count,
        sketch.relative_accuracy,
    )
    assert back.quantiles(QS) == sketch.quantiles(QS)


@settings(max_examples=40, deadline=None)
@given(samples, st.integers(2, 6))
def test_decoded_parts_merge_within_one_percent_of_the_union(
    values: list[float], parts: int
) -> None:
    pieces = [values[i::parts] for i in range(parts)]
    merged = QuantileSketch(dense=True)
    merged.merge_all(
        [
            QuantileSketch.from_bytes(_sketch(p, dense=i % 2 == 0).to_bytes())
            for i, p in enumerate(pieces)
        ]
    )
    assert merged.count == len(values)
    ordered = sorted(values)
    for q, got in zip(QS, merged.quantiles(QS), strict=True):
        if not values:
            assert got is None
            continue
        exact = exact_quantile(ordered, q)
        assert got is not None and abs(got - exact) <= (0.01 + 1e-9) * exact, (q, got, exact)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3000, 3000), st.integers(1, 10**6)), max_size=300),
    st.lists(
        st.lists(st.tuples(st.integers(-3000, 3000), st.integers(1, 10**6)), max_size=200),
        max_size=5,
    ),
    st.integers(16, 2048),
)
def test_dense_merge_all_equals_bin_by_bin_addition(
    base: list[tuple[int, int]], others: list[list[tuple[int, int]]], bin_limit: int
) -> None:
    """The big-integer sum of many dense stores equals adding their bins one by one,
    collapses (past ``bin_limit``) included."""

    def dense(pairs: list[tuple[int, int]]) -> DenseStore:
        store = DenseStore(bin_limit)
        for key, count in pairs:
            store.add(key, count)
        return store

    fast, slow = dense(base), dense(base)
    sources = [dense(p) for p in others]
    fast.merge_all(sources)
    for source in sources:
        for key, count in source.items():
            slow.add(key, count)
    assert list(fast.items()) == list(slow.items())
    assert fast.count == slow.count == sum(c for _, c in fast.items())
    assert len(fast.counts) <= bin_limit


def test_sparse_and_dense_sources_merge_alike() -> None:
    rng = random.Random(3)
    values = [rng.lognormvariate(5, 1) for _ in range(5000)]
    sparse = _sketch(values, dense=False)
    assert isinstance(sparse.store, SparseStore)
    a, b = QuantileSketch(dense=True), QuantileSketch(dense=True)
    a.merge_all([sparse, sparse.copy()])
    b.merge(sparse)
    b.merge(sparse)
    assert list(a.store.items()) == list(b.store.items())


def test_serialised_sketch_is_compact_and_versioned() -> None:
    rng = random.Random(1)
    sketch = _sketch([rng.lognormvariate(6.0, 1.0) for _ in range(20_000)], dense=False)
    blob = sketch.to_bytes()
    assert blob[0] == FORMAT
    legacy = msgspec.msgpack.encode(sketch.to_state())
    assert len(blob) < 0.85 * len(legacy), (len(blob), len(legacy))
    assert len(blob) < 2 * len(sketch) + 64  # under 2 bytes a non-empty bin
    # the unversioned form of earlier releases is still read
    assert QuantileSketch.from_bytes(legacy).quantiles(QS) == sketch.quantiles(QS)


def _snapshot_blob(
    seed: int = 5, series: int = 4
) -> tuple[bytes, dict[tuple[Any, ...], SeriesStats]]:
    rng = random.Random(seed)
    groups: dict[tuple[Any, ...], SeriesStats] = {}
    for i in range(series):
        agg = SeriesStats(0.01, 2048)
        agg.count = agg.errors = 0
        for name in SKETCHES[:3]:
            setattr(agg, name, agg.new_sketch())
        for _ in range(500):
            agg.count += 1
            agg.errors += rng.random() < 0.1
            agg.input_tokens += 100
            agg.output_tokens += 20
            agg.cost_usd += 0.001
            agg.cost_events += 1
            for name in SKETCHES[:3]:
                getattr(agg, name).add(rng.lognormvariate(5, 1))
        groups[(f"model-{i}", "openai", None, None, "chat", "ok")] = agg
    return encode_window("5m", 1_700_000_000.0, 0.01, 2048, groups), groups


def test_window_snapshot_round_trip() -> None:
    blob, groups = _snapshot_blob()
    snapshot = decode_window(blob)
    assert (snapshot.window, snapshot.until, snapshot.relative_accuracy) == ("5m", 1.7e9, 0.01)
    assert set(snapshot.series) == set(groups)
    for key, agg in groups.items():
        got = snapshot.series[key]
        assert (got.count, got.errors, got.input_tokens, got.cost_events) == (
            agg.count,
            agg.errors,
            agg.input_tokens,
            agg.cost_events,
        )
        assert got.steps is None
        for name in SKETCHES[:3]:
            assert getattr(got, name).quantiles(QS) == getattr(agg, name).quantiles(QS)
    assert len(blob) < 600 * len(groups)  # about 0.5 kB a series with three sketches


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_blobs_decode_or_raise_format_error(data: st.DataObject) -> None:
    """Any truncation or byte change of a valid blob decodes into a valid snapshot or sketch,
    or raises SketchFormatError: never another exception."""
    kind = data.draw(st.sampled_from(["window", "sketch"]))
    if kind == "window":
        blob, _ = _snapshot_blob(series=2)
        raw = bytearray(zlib.decompress(blob[1:]))
    else:
        raw = bytearray(_sketch([1.0, 5.0, 300.0, 0.0], dense=False).to_bytes()[1:])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[at:]
        else:
            raw[at:at] = bytes([data.draw(st.integers(0, 255))])
    try:
        if kind == "window":
            snapshot = decode_window(bytes([FORMAT]) + zlib.compress(bytes(raw)))
            for agg in snapshot.series.values():
                for name in SKETCHES:
                    sketch = getattr(agg, name)
                    if sketch is not None:
                        sketch.quantiles(QS)
        else:
            decode_sketch(bytes([FORMAT]) + bytes(raw)).quantiles(QS)
    except SketchFormatError:
        pass


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "empty"),
        (bytes([FORMAT + 1]) + b"\x00", "format 2 is not readable"),
        (bytes([FORMAT]) + b"not zlib", "window snapshot"),
        (bytes([FORMAT]) + zlib.compress(b"\x00" * (MAX_SNAPSHOT_BYTES + 10)), "inflates past"),
    ],
)
def test_hostile_snapshots_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(SketchFormatError, match=message):
        decode_window(blob)


def test_inconsistent_sketches_are_refused() -> None:
    good = _sketch([1.0, 2.0, 3.0], dense=True)
    wire = msgspec.msgpack.decode(good.to_bytes()[1:], type=StandaloneWire)
    for change, message in (
        ({"count": 99}, "count does not equal"),
        ({"sum": float("nan")}, "finite"),
        ({"min": 5.0, "max": 1.0}, "min is above max"),
    ):
        bad = msgspec.structs.replace(wire, sketch=msgspec.structs.replace(wire.sketch, **change))
        with pytest.raises(SketchFormatError, match=message):
            decode_sketch(bytes([FORMAT]) + msgspec.msgpack.encode(bad))
    too_many = msgspec.structs.replace(wire, bin_limit=1)
    with pytest.raises(SketchFormatError, match="over the bin limit"):
        decode_sketch(bytes([FORMAT]) + msgspec.msgpack.encode(too_many))
