"""Quantile sketch bench: insert rate and quantile error, ours vs the ``ddsketch`` package and vs
``histogram_quantile``-style interpolation over the GenAI duration buckets, on the same samples.

Run: ``python -m bench.bench_sketch`` (``--quick`` for the short version).
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from ddsketch import DDSketch, LogCollapsingLowestDenseDDSketch
from prometheus_client import CollectorRegistry, Histogram

from sidecar.analytics import Analytics, ManualClock, QuantileSketch
from sidecar.events.schema import LlmCall
from sidecar.telemetry.histograms import LabelledHistogram
from sidecar.telemetry.prometheus import DURATION_BUCKETS, PrometheusMetrics

QS = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p99.9", 0.999))


def lognormal_latencies_s(n: int, seed: int) -> list[float]:
    """LLM-call-like latencies in seconds: median 1.2 s, sigma 0.9 (p99.9 about 19 s)."""
    rng = random.Random(seed)
    return [rng.lognormvariate(math.log(1.2), 0.9) for _ in range(n)]


def exact(ordered: Sequence[float], q: float) -> float:
    return ordered[int(q * (len(ordered) - 1))]


def histogram_quantile(q: float, bounds: Sequence[float], values: Sequence[float]) -> float:
    """Prometheus ``histogram_quantile``: linear interpolation inside the bucket holding rank."""
    counts = [0] * (len(bounds) + 1)
    for v in values:
        lo, hi = 0, len(bounds)
        while lo < hi:  # bisect_left: first bound >= v (le is inclusive)
            mid = (lo + hi) // 2
            if bounds[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        counts[lo] += 1
    rank = q * len(values)
    running = 0
    for i, c in enumerate(counts):
        if running + c >= rank and c:
            if i == len(bounds):
                return bounds[-1]
            lower = bounds[i - 1] if i else 0.0
            return lower + (bounds[i] - lower) * (rank - running) / c
        running += c
    return bounds[-1]


def rate(add: Callable[[float], object], values: Sequence[float], repeats: int) -> float:
    """Median adds per second over ``repeats`` passes."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for v in values:
            add(v)
        rates.append(len(values) / (time.perf_counter() - start))
    return statistics.median(rates)


def llm_events(n: int, seed: int) -> list[LlmCall]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        d = rng.lognormvariate(math.log(1200.0), 0.9)
        events.append(
            LlmCall(
                ts=1.0,
                request_id=f"r{i}",
                model=rng.choice(["gpt-4o", "claude-sonnet", "llama"]),
                provider="openai",
                input_tokens=rng.randint(10, 4000),
                output_tokens=rng.randint(1, 800),
                start_ts=1.0,
                stream=True,
                ttft_ms=d * rng.uniform(0.05, 0.5),
                duration_ms=d,
            )
        )
    return events


def per_event_us(
    record: Callable[[list[LlmCall]], None], events: list[LlmCall], reps: int
) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for i in range(0, len(events), 500):
            record(events[i : i + 500])
        times.append((time.perf_counter() - start) / len(events) * 1e6)
    return statistics.median(times)


def run(quick: bool = False) -> str:
    n = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    seeds = (1, 2, 3) if quick else (1, 2, 3, 4, 5)
    values = lognormal_latencies_s(n, seeds[0])

    ours = QuantileSketch(0.01)
    dd = DDSketch(0.01)
    dd_bounded = LogCollapsingLowestDenseDDSketch(0.01, bin_limit=2048)
    prom = Histogram("bench_seconds", "b", buckets=DURATION_BUCKETS, registry=CollectorRegistry())
    fast = LabelledHistogram("bench_fast_seconds", "b", ("m",), DURATION_BUCKETS)
    labels = ("gpt-4o",)
    rates = {
        "QuantileSketch (ours, 1%, bin limit 2048)": rate(ours.add, values, repeats),
        "ddsketch.DDSketch (1%, unbounded)": rate(dd.add, values, repeats),
        "ddsketch.LogCollapsingLowestDenseDDSketch (1%, 2048)": rate(
            dd_bounded.add, values, repeats
        ),
        "prometheus_client Histogram.observe (GenAI buckets)": rate(prom.observe, values, repeats),
        "LabelledHistogram.observe (ours, GenAI buckets)": rate(
            lambda v: fast.observe(labels, v), values, repeats
        ),
    }
    baseline = rates["ddsketch.LogCollapsingLowestDenseDDSketch (1%, 2048)"]

    errors: dict[str, dict[str, list[float]]] = {
        k: {name: [] for name, _ in QS}
        for k in ("QuantileSketch (ours)", "ddsketch", "histogram_quantile (GenAI buckets)")
    }
    for seed in seeds:
        sample = lognormal_latencies_s(n // 4 if quick else n // 2, seed)
        ordered = sorted(sample)
        mine, theirs = QuantileSketch(0.01), DDSketch(0.01)
        for v in sample:
            mine.add(v)
            theirs.add(v)
        for name, q in QS:
            truth = exact(ordered, q)
            got: dict[str, float | None] = {
                "QuantileSketch (ours)": mine.quantile(q),
                "ddsketch": theirs.get_quantile_value(q),
                "histogram_quantile (GenAI buckets)": histogram_quantile(
                    q, DURATION_BUCKETS, sample
                ),
            }
            for k, value in got.items():
                assert value is not None
                errors[k][name].append(abs(value - truth) / truth * 100)

    events = llm_events(20_000 if quick else 100_000, 7)
    analytics = Analytics(clock=ManualClock())
    metrics = PrometheusMetrics(CollectorRegistry())
    analytics_us = per_event_us(analytics.record, events, repeats)
    metrics_us = per_event_us(metrics.record, events, repeats)

    lines = [
        "## Quantile sketch: insert rate and error",
        "",
        f"Lognormal latencies (median 1.2 s, sigma 0.9), {n:,} values, median of {repeats} "
        f"passes; errors are medians over {len(seeds)} seeds, relative to the exact quantile "
        "(sample at rank floor(q*(n-1))). Command: `python -m bench.bench_sketch"
        f"{' --quick' if quick else ''}`.",
        "",
        "| insert | adds/s | vs ddsketch (bounded) |",
        "|---|---:|---:|",
    ]
    for k, r in rates.items():
        lines.append(f"| {k} | {r:,.0f} | {r / baseline:.2f}x |")
    lines += [
        "",
        "| quantile error (%) | " + " | ".join(name for name, _ in QS) + " |",
        "|---|" + "---:|" * len(QS),
    ]
    for k, per_q in errors.items():
        cells = " | ".join(f"{statistics.median(per_q[name]):.2f}" for name, _ in QS)
        lines.append(f"| {k} | {cells} |")
    worst = max(max(v) for v in errors["QuantileSketch (ours)"].values())
    lines += [
        "",
        f"Worst error of ours over all seeds and quantiles: {worst:.3f}% (bound: 1%).",
        "",
        "| sink, streaming llm_call events in batches of 500 | µs per event |",
        "|---|---:|",
        f"| Analytics.record (3 sketches, windows) | {analytics_us:.2f} |",
        f"| PrometheusMetrics.record (5 observations) | {metrics_us:.2f} |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
