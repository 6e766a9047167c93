"""Fleet bench: what publishing sketches costs each replica, and what a fleet query costs.

- Publish, per replica per interval: freezing the parts of its 1m, 5m and 1h windows (on the
  event loop), merging and encoding them (in a worker thread), the bytes written, and the one
  upsert against a real PostgreSQL; the floor is a bare ``SELECT 1`` through the same engine.
- Fleet query ``GET /v1/stats?scope=fleet&window=5m&group_by=model`` minus HTTP: reading one row
  per replica, decoding, merging, rendering; at 3 and 50 replicas (simulated: rows written by
  51 analytics instances of an hour of traffic each); the floor is the same query local only.
- OTLP metrics: the SDK's record per event in the sink's worker thread against the Prometheus
  sink's record of the same events.

Run: ``python -m bench fleet`` (``--quick`` for the short version). Needs the PostgreSQL on
127.0.0.1:5432 for the database rows (they are skipped when it is unreachable).
"""

from __future__ import annotations

import asyncio
import functools
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from bench.pg_databases import drop_database, fresh_database
from sidecar.analytics import Analytics, ManualClock
from sidecar.analytics.codec import encode_window
from sidecar.analytics.config import SERIES_FIELDS, FleetConfig
from sidecar.analytics.fleet import Fleet, PublishedWindow
from sidecar.events.schema import LlmCall

WINDOWS = ("1m", "5m", "1h")


def _events(rng: random.Random, series: int, n: int, step: int) -> list[LlmCall]:
    out = []
    for j in range(n):
        ttft = rng.lognormvariate(5.5, 0.6)
        out.append(
            msgspec.convert(
                {
                    "type": "llm_call",
                    "id": f"{step}-{j}",
                    "ts": 1.0,
                    "request_id": "r",
                    "model": f"model-{rng.randrange(series)}",
                    "provider": "openai",
                    "input_tokens": 500,
                    "output_tokens": 80,
                    "start_ts": 1.0,
                    "stream": True,
                    "ttft_ms": ttft,
                    "duration_ms": ttft + rng.lognormvariate(7.0, 0.8),
                    "status": "ok",
                    "cost_usd": 0.002,
                },
                LlmCall,
            )
        )
    return out


def busy_analytics(series: int, seed: int, per_step: int) -> Analytics:
    """An hour (and a bit) of traffic over ``series`` models, ``per_step`` calls per 10 s."""
    clock = ManualClock()
    analytics = Analytics(clock=clock)
    rng = random.Random(seed)
    for step in range(370):
        analytics.record(_events(rng, series, per_step, step))
        clock.advance(10)
    analytics.record(_events(rng, series, per_step, 370))  # the open slice holds 10 s too
    return analytics


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def _time(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


async def _atime(fn: Callable[[], Awaitable[Any]], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - started)
    return out


def _publish_cost(analytics: Analytics, repeats: int) -> tuple[float, float, int, list[bytes]]:
    """(loop ms, worker ms, bytes, payloads) of one publish of the three windows, steady state
    (the blocks of closed slices already merged, as they are after the first publish)."""
    from sidecar.analytics.fleet import _encoded

    config = analytics.config
    for w in WINDOWS:
        analytics.window_parts(w)  # builds the blocks once
    on_loop = _time(lambda: [analytics.window_parts(w) for w in WINDOWS], repeats)
    parts = [analytics.window_parts(w) for w in WINDOWS]

    def encode() -> list[bytes]:
        return [
            _encoded(w, analytics.now(), config.relative_accuracy, config.bin_limit, p)[0]
            for w, p in zip(WINDOWS, parts, strict=True)
        ]

    worker = _time(encode, repeats)
    payloads = encode()
    return _median_ms(on_loop), _median_ms(worker), sum(len(p) for p in payloads), payloads


async def _database(
    url: str, payloads: dict[int, list[bytes]], replicas: list[Analytics], repeats: int
) -> dict[str, float]:
    from sqlalchemy import text

    from sidecar.store import StoreConfig, create_engine
    from sidecar.store.fleet import PostgresFleetStore

    engine = create_engine(url, StoreConfig())
    store = PostgresFleetStore(engine)
    out: dict[str, float] = {}
    try:
        await store.start()

        async def floor() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await floor()
        out["floor"] = _median_ms(await _atime(floor, repeats * 4))
        for series, blobs in payloads.items():
            windows = [PublishedWindow(w, 1, b) for w, b in zip(WINDOWS, blobs, strict=True)]
            await store.publish(f"bench-{series}", windows)
            out[f"upsert {series}"] = _median_ms(
                await _atime(functools.partial(store.publish, "bench-upsert", windows), repeats * 4)
            )
        config = replicas[0].config
        fleet = Fleet(replicas[0], FleetConfig(), store, "replica-00")
        await store.purge(0.0)  # clears the upsert rows above (the replicas are rewritten)
        for count in (3, 50):
            for i, other in enumerate(replicas[1:count], start=1):
                blobs = [
                    encode_window(
                        w,
                        other.now(),
                        config.relative_accuracy,
                        config.bin_limit,
                        other.merged(w, SERIES_FIELDS),
                    )
                    for w in WINDOWS
                ]
                await store.publish(
                    f"replica-{i:02d}",
                    [PublishedWindow(w, 1, b) for w, b in zip(WINDOWS, blobs, strict=True)],
                )
            body = await fleet.stats("5m", ["model"])
            assert body["replicas_contributing"] == count, body["replicas_contributing"]
            out[f"fleet {count}"] = _median_ms(
                await _atime(lambda: fleet.stats("5m", ["model"]), repeats)
            )
            out[f"read {count}"] = _median_ms(await _atime(lambda: store.read("5m"), repeats))
    finally:
        await engine.dispose()
    return out


def _otlp_vs_prometheus(events: list[LlmCall]) -> tuple[float, float]:
    """µs per event: the OTLP sink's SDK record (worker side) and the Prometheus sink's."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
    from opentelemetry.sdk.resources import Resource
    from prometheus_client import CollectorRegistry

    from sidecar.telemetry.config import OtlpMetricsConfig
    from sidecar.telemetry.otlp_metrics import OtlpMetricsSink
    from sidecar.telemetry.prometheus import PrometheusMetrics

    class Discard(MetricExporter):
        def export(
            self, metrics_data: Any, timeout_millis: float = 0, **kw: Any
        ) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kw: Any) -> None:
            return None

    sink = OtlpMetricsSink(
        OtlpMetricsConfig(export_interval_s=3600), Resource({}), exporter=Discard()
    )
    prom = PrometheusMetrics(CollectorRegistry())
    try:
        otlp_s = statistics.median(_time(lambda: sink._record(events), 3))
        prom_s = statistics.median(_time(lambda: prom.record(events), 3))
    finally:
        sink.shutdown()
    return otlp_s / len(events) * 1e6, prom_s / len(events) * 1e6


def run(quick: bool = False) -> str:
    repeats = 5 if quick else 15
    per_step = 20 if quick else 60
    local = {
        series: busy_analytics(series, 1, per_step * max(1, series // 10)) for series in (10, 100)
    }
    costs = {series: _publish_cost(a, repeats) for series, a in local.items()}
    n_replicas = 50
    replicas = [local[10]] + [
        busy_analytics(10, seed, per_step) for seed in range(2, n_replicas + 1)
    ]
    url = fresh_database()
    db: dict[str, float] = {}
    if url is not None:
        try:
            db = asyncio.run(_database(url, {s: c[3] for s, c in costs.items()}, replicas, repeats))
        finally:
            drop_database(url)
    floor_local = _median_ms(_time(lambda: local[10].stats("5m", ["model"]), repeats))
    otlp_us, prom_us = _otlp_vs_prometheus(
        _events(random.Random(9), 10, 5000 if quick else 20000, 0)
    )

    lines = [
        "## Fleet stats (sketch upserts and fleet queries)",
        "",
        "Command: `python -m bench fleet`. Each replica holds an hour of traffic "
        f"({per_step} streaming LLM calls per 10 s for each 10 series of model x status); it "
        "publishes its 1m, 5m and 1h "
        "windows in one upsert per interval (5 s by default). Times are medians on this "
        "shared machine (provisional: other work runs beside it); read the ratios.",
        "",
        "| per publish, one replica | 10 series | 100 series |",
        "|---|---:|---:|",
        f"| event loop: freeze the 3 windows' parts | {costs[10][0]:.2f} ms | "
        f"{costs[100][0]:.2f} ms |",
        f"| worker thread: merge and encode them | {costs[10][1]:.1f} ms | "
        f"{costs[100][1]:.1f} ms |",
        f"| bytes upserted (zlib'd, 3 windows) | {costs[10][2]:,} | {costs[100][2]:,} |",
        f"| bytes per series and window | {costs[10][2] / 30:,.0f} | {costs[100][2] / 300:,.0f} |",
    ]
    if db:
        lines += [
            f"| the upsert (PostgreSQL, one statement) | {db['upsert 10']:.2f} ms | "
            f"{db['upsert 100']:.2f} ms |",
            f"| vs a bare SELECT 1 round trip ({db['floor']:.2f} ms) | "
            f"{db['upsert 10'] / db['floor']:.1f}x | {db['upsert 100'] / db['floor']:.1f}x |",
            "",
            "| fleet query, `window=5m&group_by=model`, 10 series per replica | 3 replicas | "
            "50 replicas |",
            "|---|---:|---:|",
            f"| read the rows | {db['read 3']:.1f} ms | {db['read 50']:.1f} ms |",
            f"| whole query (read, decode, merge, render) | {db['fleet 3']:.1f} ms | "
            f"{db['fleet 50']:.1f} ms |",
            f"| vs the local-only query ({floor_local:.1f} ms) | "
            f"{db['fleet 3'] / floor_local:.1f}x | {db['fleet 50'] / floor_local:.1f}x |",
        ]
    else:
        lines += ["", "PostgreSQL was not reachable: the upsert and query rows are missing."]
    lines += [
        "",
        "Database load: one upsert per replica per interval, so 50 replicas at the default 5 s "
        "write 10 statements/s; the table holds one row per replica and window.",
        "",
        f"OTLP metrics (when on): the SDK's record costs {otlp_us:.1f} µs per streaming LLM "
        f"call in the sink's worker thread, {otlp_us / prom_us:.1f}x the Prometheus sink's "
        f"{prom_us:.1f} µs; ingest only appends the batch to the sink's bounded queue.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
