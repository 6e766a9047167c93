from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.analytics.sketch import IncompatibleSketchError, QuantileSketch
from tests.analytics.distributions import DISTRIBUTIONS, exact_quantile

QS = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]
FLOAT_SLACK = 1e-9  # rounding in log/exp at bin edges, far below the 1% being checked


def assert_within(sketch: QuantileSketch, values: list[float], accuracy: float) -> None:
    ordered = sorted(values)
    got = sketch.quantiles(QS)
    for q, g in zip(QS, got, strict=True):
        exact = exact_quantile(ordered, q)
        assert g is not None
        if exact == 0.0:
            assert g == 0.0, (q, g)
        else:
            assert abs(g - exact) <= (accuracy + FLOAT_SLACK) * exact, (q, g, exact)


samples = st.builds(
    lambda name, seed, n: (name, DISTRIBUTIONS[name](random.Random(seed), n)),
    st.sampled_from(sorted(DISTRIBUTIONS)),
    st.integers(0, 2**32),
    st.integers(1, 2000),
)


@settings(max_examples=60, deadline=None)
@given(samples, st.sampled_from([0.01, 0.02, 0.005]))
def test_every_quantile_within_relative_accuracy(sample: tuple[str, list[float]], a: float) -> None:
    _, values = sample
    sketch = QuantileSketch(a)
    for v in values:
        sketch.add(v)
    assert sketch.count == len(values)
    assert_within(sketch, values, a)


@settings(max_examples=40, deadline=None)
@given(samples, st.integers(2, 7), st.booleans())
def test_merged_parts_keep_the_guarantee(
    sample: tuple[str, list[float]], parts: int, dense_target: bool
) -> None:
    _, values = sample
    pieces = [QuantileSketch() for _ in range(parts)]
    for i, v in enumerate(values):
        pieces[i % parts].add(v)
    merged = QuantileSketch(dense=dense_target)
    for p in pieces:
        merged.merge(p)
    assert merged.count == len(values)
    assert_within(merged, values, 0.01)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_serialised_sketches_merge_across_sidecars(sample: tuple[str, list[float]]) -> None:
    _, values = sample
    half = len(values) // 2
    a, b = QuantileSketch(), QuantileSketch()
    for v in values[:half]:
        a.add(v)
    for v in values[half:]:
        b.add(v)
    received = QuantileSketch.from_bytes(a.to_bytes())
    received.merge(QuantileSketch.from_json(b.to_json()))
    assert_within(received, values, 0.01)
    assert received.quantiles(QS) == QuantileSketch.from_bytes(received.to_bytes()).quantiles(QS)


def test_bin_limit_bounds_memory_and_keeps_the_high_quantiles() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(0.0, 6.0) for _ in range(20_000)]  # spans ~20 decades
    for dense in (False, True):
        sketch = QuantileSketch(0.01, bin_limit=1500, dense=dense)
        for v in values:
            sketch.add(v)
        assert len(sketch) <= 1500
        ordered = sorted(values)
        for q in (0.9, 0.99, 0.999):
            exact = exact_quantile(ordered, q)
            got = sketch.quantile(q)
            assert got is not None and abs(got - exact) <= 0.0100001 * exact
        low = sketch.quantile(0.01)
        assert low is not None and low >= exact_quantile(ordered, 0.01)  # collapsed: too high


def test_dense_merge_of_collapsed_sketches_stays_bounded() -> None:
    rng = random.Random(3)
    target = QuantileSketch(bin_limit=100, dense=True)
    for _ in range(5):
        part = QuantileSketch(bin_limit=100)
        for _ in range(500):
            part.add(rng.lognormvariate(0.0, 5.0))
        target.merge(part)
    assert len(target) <= 100 and target.count == 2500


def test_merge_of_different_accuracies_is_refused() -> None:
    with pytest.raises(IncompatibleSketchError, match="relative accuracy"):
        QuantileSketch(0.01).merge(QuantileSketch(0.02))


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_invalid_values_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        QuantileSketch().add(bad)


def test_empty_sketch_has_no_quantiles_and_bad_q_is_refused() -> None:
    sketch = QuantileSketch()
    assert sketch.quantile(0.5) is None
    with pytest.raises(ValueError, match="quantiles must be in"):
        sketch.quantile(1.5)


def test_corrupt_wire_forms_are_refused() -> None:
    with pytest.raises(ValueError, match="not a serialised sketch"):
        QuantileSketch.from_bytes(b"\x00garbage")
    good = QuantileSketch()
    good.add(5.0)
    state = good.to_state()
    state.count = 7
    with pytest.raises(ValueError, match="count does not equal"):
        QuantileSketch.from_state(state)
    with pytest.raises(ValueError, match="not a serialised sketch"):
        QuantileSketch.from_json(
            b'{"relative_accuracy": 0.01, "bin_limit": 2048, "count": 1, "counts": [-1]}'
        )


def test_serialised_form_is_compact() -> None:
    rng = random.Random(1)
    sketch = QuantileSketch()
    for _ in range(100_000):
        sketch.add(rng.lognormvariate(6.0, 1.0))
    assert len(sketch.to_bytes()) < 3 * len(sketch) + 200
