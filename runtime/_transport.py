"""Batching event delivery: bounded queue, background flush, retries, never an exception.

``emit`` is synchronous and thread-safe; it never blocks and never raises: when the queue is
full (``max_queue`` events, default 10,000) the event is dropped and counted. A background task
sends NDJSON batches of up to ``batch_size`` events every ``flush_interval_s`` (or sooner when a
batch is full), retrying connection errors, 429 and 5xx with exponential backoff; event ids make
the retries idempotent on the sidecar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec

from runtime._errors import CONFIGURATION_STATUSES, SidecarConfigurationError, configuration_error

log = logging.getLogger("runtime.sidecar")
_encode = msgspec.json.Encoder().encode


@dataclass
class ClientStats:
    """Counters of what the client did with the events it was given."""

    emitted: int = 0
    sent: int = 0
    dropped_queue_full: int = 0
    dropped_after_retries: int = 0
    rejected: int = 0
    failed_requests: int = 0
    admits_degraded: int = 0


class EventTransport:
    def __init__(
        self,
        session_factory: Any,
        url: str,
        headers: dict[str, str],
        *,
        batch_size: int,
        flush_interval_s: float,
        max_queue: int,
        max_retries: int,
        stats: ClientStats,
        on_configuration_error: Callable[[SidecarConfigurationError], None] = lambda _: None,
    ) -> None:
        self._on_configuration_error = on_configuration_error
        self._session_factory = session_factory
        self._url = url
        self._headers = {**headers, "Content-Type": "application/x-ndjson"}
        self._batch_size = batch_size
        self._interval = flush_interval_s
        self._max_queue = max_queue
        self._max_retries = max_retries
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._send_lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = stats

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="sidecar-events")

    def emit(self, event: dict[str, Any]) -> None:
        with self._lock:
            if len(self._queue) >= self._max_queue:
                self.stats.dropped_queue_full += 1
                return
            self._queue.append(event)
            self.stats.emitted += 1
            full = len(self._queue) >= self._batch_size
        if full:
            self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    async def flush(self) -> None:
        """Send everything queued now (each batch retried as usual)."""
        while True:
            batch = self._take()
            if not batch:
                return
            await self._send(batch)

    async def close(self) -> None:
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            count = min(self._batch_size, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            await self.flush()

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        assert self._send_lock is not None
        body = b"\n".join(_encode(event) for event in batch)
        async with self._send_lock:
            delay = 0.05
            for attempt in range(self._max_retries + 1):
                status = await self._post(body)
                if status is not None and status < 300:
                    self.stats.sent += len(batch)
                    return
                if status in CONFIGURATION_STATUSES:
                    self.stats.rejected += len(batch)
                    error = configuration_error("POST /v1/events", status, None)
                    log.error("%s; %d events dropped", error, len(batch))
                    self._on_configuration_error(error)
                    return
                if status is not None and status < 500 and status not in (408, 429):
                    self.stats.rejected += len(batch)
                    log.warning(
                        "sidecar rejected a batch of %d events (HTTP %d)", len(batch), status
                    )
                    return
                self.stats.failed_requests += 1
                if attempt < self._max_retries and not self._closing:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            self.stats.dropped_after_retries += len(batch)

    async def _post(self, body: bytes) -> int | None:
        try:
            session = self._session_factory()
            async with session.post(self._url, data=body, headers=self._headers) as response:
                await response.read()
                status: int = response.status
                return status
        except (TimeoutError, aiohttp.ClientError, OSError):
            return None
