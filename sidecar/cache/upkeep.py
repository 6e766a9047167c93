"""The cache as a lifecycle part: loaded at start, flushed every ``flush_interval_s`` (expired
entries purged every 60 flushes), flushed and closed at shutdown.

Writes to the persistence are queued by the cache and written by :meth:`SemanticCache.flush`
in a worker thread; a failed flush keeps them queued (``pending_writes``) for the next round,
and the close flushes once more, so an entry stored before SIGTERM is there after a restart.
"""

from __future__ import annotations

import asyncio

from sidecar.cache.cache import SemanticCache
from sidecar.lifecycle import Periodic

PURGE_EVERY = 60


class CacheUpkeep:
    """Loads, flushes and closes one :class:`SemanticCache`."""

    def __init__(self, cache: SemanticCache, flush_interval_s: float) -> None:
        self.cache = cache
        self._rounds = 0
        self._loop = Periodic("cache-flush", flush_interval_s, self.flush_once)

    async def start(self) -> None:
        await asyncio.to_thread(self.cache.ensure_loaded)
        await self._loop.start()

    async def flush_once(self) -> None:
        """One flush (and every 60th round a purge of expired entries)."""
        self._rounds += 1
        try:
            await asyncio.to_thread(self.cache.flush)
        finally:
            if self._rounds % PURGE_EVERY == 0:
                self.cache.purge_expired()

    async def close(self) -> None:
        await self._loop.close()
        await asyncio.to_thread(self.cache.close)


__all__ = ["CacheUpkeep"]
