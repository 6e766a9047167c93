"""Floods of unique ids leave the sidecar's memory on a plateau (``agent-sidecar serve``).

Paths covered, over real HTTP to a real child process, RSS read from ``/proc``:
- ``POST /v1/admit``: 100,000 admits, each from a new user id and request id, against a
  ``user/*`` budget: past ``budgets.max_counters`` / ``max_reservations`` new scopes are refused
  with 503 ``capacity`` and ``Retry-After``; the limiter's per-request state stops at
  ``limits.max_tracked_requests`` (oldest evicted). No 500 anywhere.
- ``POST /v1/cache/store/batch``: 100,000 stores, each in a new namespace: scopes past
  ``cache.max_scopes`` are evicted (least recently used).
- ``PUT /v1/budgets/tenant/{id}``: 20,000 runtime policies, then more: past
  ``budgets.max_policies`` each is refused with 422 naming ``id``.
- ``/metrics``: ``agent_sidecar_state_evictions_total`` and ``agent_sidecar_state_refusals_total``
  count what the caps did, by part.

The caps are set low here so the plateau is reached early; the growth allowed after it is the
bound asserted (``PLATEAU_MB``). The figures of a run are printed (``-s``) and kept in
docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import SidecarProcess

CAP = 20_000
PLATEAU_MB = 12.0  # RSS growth allowed once every cap is reached
WORKERS = 16


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def flooded(tmp_path: Path) -> Iterable[SidecarProcess]:
    config = tmp_path / "sidecar.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "protection": {"rate_limit_per_s": 0},
                "limits": {"max_tracked_requests": CAP},
                "budgets": {
                    "max_counters": CAP,
                    "max_reservations": CAP,
                    "max_policies": CAP + 1,
                    "policies": [{"scope": "user", "id": "*", "window": "1d", "max_tokens": 10**9}],
                },
                "cache": {"max_scopes": CAP // 4},
            }
        )
    )
    process = SidecarProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}", env={"SIDECAR_CONFIG": str(config)}
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _flood(
    total: int,
    request: Callable[[aiohttp.ClientSession, int], Any],
    pid: int,
    marks: Iterable[int],
) -> tuple[Counter[int], dict[int, float]]:
    """``total`` calls of ``request(session, n)`` by WORKERS clients; RSS at each mark."""
    statuses: Counter[int] = Counter()
    rss: dict[int, float] = {0: _rss_mb(pid)}
    wanted = sorted(marks)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=WORKERS)) as http:
        for start, end in zip([0, *wanted], wanted, strict=False):
            queue = iter(range(start, end))

            async def worker(queue: Any = queue) -> None:
                for n in queue:
                    statuses[await request(http, n)] += 1

            await asyncio.gather(*(worker() for _ in range(WORKERS)))
            rss[end] = _rss_mb(pid)
    assert sum(statuses.values()) == total
    return statuses, rss


def _report(name: str, rss: dict[int, float], statuses: Counter[int]) -> None:
    print(
        f"\n{name}: "
        + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in sorted(rss.items()))
        + f"; statuses {dict(statuses)}"
    )


async def _metrics(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
        text = await r.text()
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^(agent_sidecar_state_\w+_total\{part="\w+"\}) (\S+)$', text, re.M)
    }


async def test_100k_admits_of_unique_users_plateau(flooded: SidecarProcess) -> None:
    url, pid = flooded.url, flooded.proc.pid  # type: ignore[union-attr]
    refusals_without_retry_after = 0

    async def admit(http: aiohttp.ClientSession, n: int) -> int:
        nonlocal refusals_without_retry_after
        body = {
            "request_id": f"r-{n}-{uuid.uuid4().hex[:6]}",
            "user_id": f"flood-user-{n}",
            "model": "gpt-4o",
            "input_tokens": 10,
            "max_output_tokens": 10,
        }
        async with http.post(url + "/v1/admit", json=body) as r:
            if r.status == 503:
                answer = await r.json()
                assert answer["error"]["code"] == "capacity", answer
                refusals_without_retry_after += "Retry-After" not in r.headers
            return r.status

    statuses, rss = await _flood(100_000, admit, pid, (10_000, 20_000, 40_000, 70_000, 100_000))
    _report("admits", rss, statuses)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] == CAP and statuses[503] == 100_000 - CAP
    assert refusals_without_retry_after == 0
    assert rss[100_000] - rss[40_000] < PLATEAU_MB, rss
    metrics = await _metrics(url)
    assert (
        metrics['agent_sidecar_state_refusals_total{part="reservations"}']
        + metrics['agent_sidecar_state_refusals_total{part="counters"}']
        == 100_000 - CAP
    ), metrics
    async with aiohttp.ClientSession() as http, http.get(url + "/health") as r:
        assert r.status == 200


async def test_100k_cache_stores_in_unique_namespaces_plateau(flooded: SidecarProcess) -> None:
    url, pid = flooded.url, flooded.proc.pid  # type: ignore[union-attr]
    batch = 500

    async def store(http: aiohttp.ClientSession, n: int) -> int:
        entries = [
            {
                "namespace": f"flood-ns-{n}-{i}",
                "key": f"question {i} of batch {n}",
                "value": {"answer": i},
            }
            for i in range(batch)
        ]
        async with http.post(url + "/v1/cache/store/batch", json={"entries": entries}) as r:
            return r.status

    statuses, rss = await _flood(200, store, pid, (20, 40, 80, 140, 200))
    rss = {n * batch: mb for n, mb in rss.items()}
    _report("cache stores", rss, statuses)
    assert statuses == Counter({200: 200}), statuses
    assert rss[100_000] - rss[40_000] < PLATEAU_MB, rss
    metrics = await _metrics(url)
    assert metrics['agent_sidecar_state_evictions_total{part="cache_scopes"}'] >= 100_000 - CAP


async def test_20k_runtime_policies_then_refused(flooded: SidecarProcess) -> None:
    url, pid = flooded.url, flooded.proc.pid  # type: ignore[union-attr]
    fields: Counter[str] = Counter()

    async def put(http: aiohttp.ClientSession, n: int) -> int:
        async with http.put(
            f"{url}/v1/budgets/tenant/flood-tenant-{n}",
            json={"window": "1d", "max_tokens": 1000 + n},
        ) as r:
            if r.status == 422:
                fields[(await r.json())["error"].get("field")] += 1
            return r.status

    statuses, rss = await _flood(24_000, put, pid, (5_000, 10_000, 20_000, 24_000))
    _report("runtime policies", rss, statuses)
    assert statuses == Counter({200: CAP, 422: 4_000}), statuses
    assert fields == Counter({"id": 4_000})
    assert rss[24_000] - rss[20_000] < PLATEAU_MB / 2, rss
    async with aiohttp.ClientSession() as http, http.get(url + "/v1/budgets") as r:
        assert len((await r.json())["policies"]) == CAP + 1
