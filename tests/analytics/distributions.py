"""Sample generators shared by the sketch tests and the bench (seeded, reproducible)."""

from __future__ import annotations

import random
from collections.abc import Callable

Generator = Callable[[random.Random, int], list[float]]


def lognormal(rng: random.Random, n: int) -> list[float]:
    return [rng.lognormvariate(6.0, 1.0) for _ in range(n)]


def bimodal(rng: random.Random, n: int) -> list[float]:
    return [
        rng.lognormvariate(3.0, 0.3) if rng.random() < 0.7 else rng.lognormvariate(8.0, 0.5)
        for _ in range(n)
    ]


def pareto_tail(rng: random.Random, n: int) -> list[float]:
    return [rng.paretovariate(1.2) for _ in range(n)]


def constant(rng: random.Random, n: int) -> list[float]:
    return [123.456] * n


def tiny(rng: random.Random, n: int) -> list[float]:
    return [1e-9 * rng.lognormvariate(0.0, 1.0) for _ in range(n)]


def huge(rng: random.Random, n: int) -> list[float]:
    return [1e9 * rng.lognormvariate(0.0, 1.0) for _ in range(n)]


def with_zeros(rng: random.Random, n: int) -> list[float]:
    return [0.0 if rng.random() < 0.2 else rng.expovariate(0.01) for _ in range(n)]


DISTRIBUTIONS: dict[str, Generator] = {
    "lognormal": lognormal,
    "bimodal": bimodal,
    "pareto_tail": pareto_tail,
    "constant": constant,
    "tiny": tiny,
    "huge": huge,
    "with_zeros": with_zeros,
}


def exact_quantile(sorted_values: list[float], q: float) -> float:
    """The sample at rank floor(q * (n - 1)): the definition DDSketch's guarantee uses."""
    return sorted_values[int(q * (len(sorted_values) - 1))]
