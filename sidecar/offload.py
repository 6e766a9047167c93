"""Bulk work off the event loop, without collector pauses.

:func:`off_loop` runs a function in a worker thread (``asyncio.to_thread``) with Python's
cyclic garbage collector paused while any such job runs. A large body allocates hundreds of
thousands of objects; each full collection they trigger stops every thread, the loop's too, for
as long as it scans the heap (figures in docs/reliability.md, "No request holds the event
loop"). Reference counting still frees what the job drops; cycles wait for the next collection,
which runs once the last job ends. :func:`freeze_startup_objects` moves what start-up built
(tables, models, compiled patterns) out of the collector's reach, so that collection is short.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_running = 0


def _enter() -> None:
    global _running
    with _lock:
        _running += 1
        if _running == 1:
            gc.disable()


def _leave() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0:
            gc.enable()


def _paused(call: Callable[..., T], *args: object) -> T:
    _enter()
    try:
        return call(*args)
    finally:
        _leave()


async def off_loop(call: Callable[..., T], *args: object) -> T:
    """``call(*args)`` in a worker thread, the cyclic collector paused meanwhile."""
    return await asyncio.to_thread(_paused, call, *args)


def freeze_startup_objects() -> None:
    """Exempt every object alive now from later collections. No collection first: at the end
    of the start it frees about 30 objects and costs about 20 ms of the time to ready."""
    gc.freeze()


__all__ = ["freeze_startup_objects", "off_loop"]
