"""Fleet stats across real ``agent-sidecar serve`` processes sharing one fresh PostgreSQL.

Paths: ``POST /v1/events`` on three replicas (disjoint events), ``GET /v1/stats?scope=fleet``
asked of each replica (local live series + the others' published rows), ``group_by``, every
published window, a replica killed with SIGKILL (reported stale, then gone from the merge),
and the answer's error bound. Time is not faked here: the replicas publish every 0.3 s, are
stale after 1.5 s and the shortest window is 10 s; every wait polls with a deadline.
"""

from __future__ import annotations

import functools
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from tests.conftest import SidecarProcess, llm_event

pytestmark = pytest.mark.postgres

TOTAL = 20_000
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
FLEET_ENV = {
    "SIDECAR_FLEET__PUBLISH_INTERVAL_S": "0.3",
    "SIDECAR_FLEET__STALE_AFTER_S": "1.5",
    "SIDECAR_FLEET__WINDOWS": "[10s, 1m, 5m, 1h]",
}


def exact(ordered: list[float], q: float) -> float:
    return ordered[int(q * (len(ordered) - 1))]


def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    """Read until ``done(value)``; fail with the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last: {value}")
        time.sleep(0.1)


def call(url: str, data: bytes | None = None, content_type: str = "") -> tuple[int, Any]:
    """One HTTP request with the standard library: (status, decoded JSON body)."""
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": content_type} if content_type else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def stats(url: str, **params: str) -> dict[str, Any]:
    status, body = call(f"{url}/v1/stats?{urllib.parse.urlencode(params)}")
    assert status == 200, body
    return body


def fleet(url: str, window: str = "5m", group_by: str = "") -> dict[str, Any]:
    return stats(url, scope="fleet", window=window, group_by=group_by)


def total(body: dict[str, Any]) -> int:
    return sum(s["count"] for s in body["series"])


@pytest.fixture
def replicas(pg_url: str) -> Iterator[list[SidecarProcess]]:
    procs = [
        SidecarProcess(pg_url, env={**FLEET_ENV, "SIDECAR_FLEET__REPLICA_ID": f"pod-{c}"})
        for c in "abc"
    ]
    try:
        for proc in procs:
            proc.start()
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def test_three_replicas_fleet_percentiles_within_one_percent_then_a_stopped_one_leaves(
    replicas: list[SidecarProcess],
) -> None:
    rng = random.Random(20)
    ttfts: list[float] = []
    durations: list[float] = []
    per_replica: list[list[dict[str, Any]]] = [[], [], []]
    for i in range(TOTAL):
        # each replica gets its own latency profile, so no single one looks like the union
        shift = (0.0, 0.7, -0.5)[i % 3]
        ttft = rng.lognormvariate(5.5 + shift, 0.6)
        duration = ttft + rng.lognormvariate(7.0 + shift, 0.8)
        ttfts.append(ttft)
        durations.append(duration)
        per_replica[i % 3].append(
            llm_event(
                id=uuid.uuid4().hex,
                ttft_ms=ttft,
                duration_ms=duration,
                output_tokens=50,
                model="gpt-4o" if i % 2 else "gpt-4o-mini",
            )
        )
    for proc, events in zip(replicas, per_replica, strict=True):
        for start in range(0, len(events), 1000):
            body = b"\n".join(msgspec.json.encode(e) for e in events[start : start + 1000])
            status, answer = call(proc.url + "/v1/events", body, "application/x-ndjson")
            assert status == 202, answer

    a, b, c = replicas
    for asker in (a, b):
        body = poll(
            functools.partial(fleet, asker.url),
            lambda body: total(body) == TOTAL and body["replicas_contributing"] == 3,
        )
        assert body["scope"] == "fleet" and body["shared_store"] is True
        assert body["relative_accuracy"] == 0.01
        assert {r["id"] for r in body["replicas"]} == {"pod-a", "pod-b", "pod-c"}
        assert sorted(r["count"] for r in body["replicas"]) == sorted(len(e) for e in per_replica)
        assert all(r["state"] == "fresh" and r["age_s"] < 60 for r in body["replicas"])
        [series] = body["series"]
        for name, samples in (("ttft_ms", sorted(ttfts)), ("duration_ms", sorted(durations))):
            for label, q in QUANTILES:
                want = exact(samples, q)
                got = series[name][label]
                assert abs(got - want) <= 0.01 * want, (name, label, got, want)
    # 5m as above: on a slow machine the oldest events are over a minute old by now
    by_model = fleet(a.url, "5m", "model")
    assert {s["key"]["model"]: s["count"] for s in by_model["series"]} == {
        "gpt-4o": TOTAL // 2,
        "gpt-4o-mini": TOTAL // 2,
    }
    local = stats(a.url, window="5m")
    assert local["scope"] == "local" and total(local) == len(per_replica[0])

    c.stop()  # SIGKILL: no last words

    def state_of_c(window: str) -> str | None:
        body = fleet(a.url, window)
        return next((r["state"] for r in body["replicas"] if r["id"] == "pod-c"), None)

    poll(lambda: state_of_c("5m"), lambda state: state == "stale", timeout=30)
    five = fleet(a.url, "5m")
    assert total(five) == TOTAL  # stale, still inside the 5m window: still merged
    # the 10s window drops pod-c once its last write is 10 s old
    gone = poll(
        lambda: fleet(a.url, "10s"),
        lambda body: all(r["id"] != "pod-c" for r in body["replicas"]),
        timeout=40,
    )
    assert gone["replicas_expired"] == 1 and gone["replicas_contributing"] == 2
    assert state_of_c("5m") == "stale"
