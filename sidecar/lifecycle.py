"""One lifecycle for every part that holds a background task, a buffer or a connection.

A part has ``async start()`` and ``async close()``. :class:`Stages` starts parts in the order
they were added and closes the started ones in reverse, each within its own deadline and, once
:meth:`Stages.close_by` has set one, within the whole shutdown's deadline (every stage still
gets at least :data:`MIN_STAGE_S`, so each flush is tried). A close that overruns is abandoned
with a warning, never awaited further, so a collector that accepts connections and never
answers cannot hold SIGTERM past its deadline. Blocking closes run in daemon threads
(:func:`in_daemon_thread`), which the interpreter does not wait for at exit.

Order matters and is the app factory's: what feeds a part is closed before it (the writer
before the ledger that charges its batches, the ledger's journal and the cache before the span
export, the store's engine last).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

MIN_STAGE_S = 0.2
T = TypeVar("T")


class Lifecycle(Protocol):
    """A part with a background task or a buffer: started once, closed once."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Stage:
    name: str
    part: Lifecycle
    deadline_s: float


class Stages:
    """Parts started in order and closed in reverse, each close within its deadline."""

    def __init__(self) -> None:
        self._stages: list[_Stage] = []
        self._started: list[_Stage] = []
        self._close_by: float | None = None  # time.monotonic() the whole close must end by

    def add(self, name: str, part: Lifecycle, *, deadline_s: float = 3.0) -> None:
        self._stages.append(_Stage(name, part, deadline_s))

    @property
    def names(self) -> list[str]:
        return [stage.name for stage in self._stages]

    def close_by(self, monotonic_deadline: float) -> None:
        """Bound the whole close (the server sets it when SIGTERM arrives)."""
        self._close_by = monotonic_deadline

    async def start(self) -> None:
        """Start every stage in order; if one fails, close those started and re-raise."""
        try:
            for stage in self._stages:
                await stage.part.start()
                self._started.append(stage)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        while self._started:
            stage = self._started.pop()
            budget = stage.deadline_s
            if self._close_by is not None:
                budget = min(budget, max(self._close_by - time.monotonic(), MIN_STAGE_S))
            began = time.monotonic()
            try:
                await asyncio.wait_for(stage.part.close(), budget)
            except TimeoutError:
                log.warning("shutdown: %s did not close within %.1f s; left behind",
                            stage.name, budget)  # fmt: skip
            except Exception as exc:  # one part failing to close must not keep the rest open
                log.error("shutdown: %s failed to close: %s", stage.name, type(exc).__name__)
            else:
                log.debug("shutdown: %s closed in %.3f s", stage.name, time.monotonic() - began)


def in_daemon_thread(call: Callable[[], T]) -> Awaitable[T]:
    """``call()`` in a daemon thread; the awaitable may be abandoned (the thread is not joined
    at exit, unlike those of ``asyncio.to_thread``)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting task
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="sidecar-close", daemon=True).start()
    return future


class Periodic:
    """A loop calling ``step()`` every ``interval_s`` seconds; the owner starts and closes it.
    A step that raises is logged and the loop goes on."""

    def __init__(self, name: str, interval_s: float, step: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval_s = interval_s
        self._step = step
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self._step()
            except Exception:
                log.exception("%s failed (retried next interval)", self.name)


class OnStart:
    """A start-only stage (a one-time setup step between two parts)."""

    def __init__(self, step: Callable[[], Awaitable[None]]) -> None:
        self._step = step

    async def start(self) -> None:
        await self._step()

    async def close(self) -> None:
        return None


class InBackground:
    """A stage that runs ``step`` once as a background task after the start (a warm-up that
    ``/ready`` must not wait for); closing cancels it if it is still running."""

    def __init__(self, step: Callable[[], Awaitable[None]]) -> None:
        self._step = step
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async def run() -> None:
            await self._step()

        self._task = asyncio.create_task(run(), name="warm-up")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


__all__ = [
    "MIN_STAGE_S",
    "InBackground",
    "Lifecycle",
    "OnStart",
    "Periodic",
    "Stages",
    "in_daemon_thread",
]
