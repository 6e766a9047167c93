"""Simulated agents for load, soak and fault tests: each sends event batches, admits and cache
lookups in a loop and records exactly what the sidecar acknowledged.

Every event id is unique, so "nothing lost, nothing duplicated" is checked by comparing the set
of ids answered 202 with the ids in the store.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.conftest import llm_event


@dataclass
class LoadReport:
    acked: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    reservations: int = 0
    transport_errors: int = 0

    def count(self, kind: str, status: int, seconds: float) -> None:
        self.statuses[(kind, status)] += 1
        self.latencies.setdefault(kind, []).append(seconds)

    def quantile(self, kind: str, q: float) -> float:
        values = sorted(self.latencies.get(kind, [0.0]))
        return values[min(len(values) - 1, int(q * len(values)))]

    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500 and status != 503)


class Agents:
    """``clients`` agents looping until :meth:`stop`; ``reached(n)`` waits for n acked events."""

    def __init__(
        self,
        url: str,
        *,
        clients: int = 4,
        batch: int = 20,
        token: str | None = None,
        admit: bool = True,
        cache: bool = True,
        user_prefix: str = "u",
    ) -> None:
        self.url = url
        self.clients = clients
        self.batch = batch
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.admit = admit
        self.cache = cache
        self.user_prefix = user_prefix
        self.report = LoadReport()
        self._stop = asyncio.Event()
        self._waiters: list[tuple[int, asyncio.Event]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.failed_since: asyncio.Event = asyncio.Event()

    async def __aenter__(self) -> Agents:
        self._session = aiohttp.ClientSession(
            headers=self.headers, timeout=aiohttp.ClientTimeout(total=30)
        )
        self._tasks = [asyncio.create_task(self._agent(i)) for i in range(self.clients)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def reached(self, acked: int, timeout: float = 60.0) -> None:
        """Wait until at least ``acked`` events were acknowledged in total."""
        if len(self.report.acked) >= acked:
            return
        event = asyncio.Event()
        self._waiters.append((acked, event))
        await asyncio.wait_for(event.wait(), timeout)

    async def refused(self, timeout: float = 60.0) -> None:
        """Wait until an event batch was refused (the fault is visible to clients)."""
        await asyncio.wait_for(self.failed_since.wait(), timeout)

    def _acked(self, ids: list[str]) -> None:
        self.report.acked += ids
        for target, event in list(self._waiters):
            if len(self.report.acked) >= target:
                event.set()
                self._waiters.remove((target, event))

    async def _post(self, kind: str, path: str, body: Any) -> tuple[int, Any]:
        assert self._session is not None
        started = time.perf_counter()
        try:
            async with self._session.post(self.url + path, json=body) as resp:
                answer = await resp.json(content_type=None)
                self.report.count(kind, resp.status, time.perf_counter() - started)
                return resp.status, answer
        except (aiohttp.ClientError, TimeoutError):
            self.report.transport_errors += 1
            return 0, None

    async def _agent(self, n: int) -> None:
        user = f"{self.user_prefix}-{n}"
        step = 0
        while not self._stop.is_set():
            step += 1
            request_id = f"{user}-r{step}-{uuid.uuid4().hex[:6]}"
            if self.admit:
                status, answer = await self._post(
                    "admit",
                    "/v1/admit",
                    {
                        "request_id": request_id,
                        "user_id": user,
                        "model": "gpt-4o-mini",
                        "input_tokens": 100,
                        "max_output_tokens": 100,
                    },
                )
                if status == 200 and answer.get("reservation_id"):
                    self.report.reservations += 1
            if self.cache:
                await self._post(
                    "cache",
                    "/v1/cache/lookup",
                    {"namespace": "faq", "user_id": user, "key": f"question {step % 50}"},
                )
            events = [
                llm_event(id=uuid.uuid4().hex, request_id=request_id, user_id=user)
                for _ in range(self.batch)
            ]
            status, _ = await self._post("events", "/v1/events", events)
            if status == 202:
                self._acked([e["id"] for e in events])
            else:
                self.failed_since.set()
                await asyncio.sleep(0.05)  # a client backing off (Retry-After), not a sync
