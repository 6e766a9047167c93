"""Retention: delete (or archive, then delete) events older than their type's maximum age.

Guarantee: with ``max_age_days: {tool_call: 30}``, a pass at time ``T`` removes exactly the tool
calls with ``ts < T - 30 days`` and nothing else; types without an age are never touched; with
``archive_dir`` set nothing is deleted before it is in a fsynced archive file
(:mod:`sidecar.store.archive`). A pass runs at start and then every ``interval_s``; it deletes in
statements of ``batch_rows`` rows (5,000: a few ms each on SQLite) so ingest commits interleave.
A failed pass (database down, disk full) is logged and counted, and the next one retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.store.config import RetentionConfig

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
DAY_S = 86_400.0


@dataclass
class RetentionStats:
    passes: int = 0
    failures: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    archived_files: int = 0
    last_pass_ts: float | None = None


class Retention:
    """Applies a :class:`RetentionConfig`; ``start`` / ``close`` run it in the background.

    ``engine`` may be a function returning it, called at the first pass: a sidecar without a
    maximum age never creates an engine (nor imports SQLAlchemy) for retention."""

    def __init__(
        self,
        engine: AsyncEngine | Callable[[], AsyncEngine],
        config: RetentionConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine_source = engine
        self.config = config
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.stats = RetentionStats()

    async def run_once(self) -> dict[str, int]:
        """One pass over every configured type; returns the events removed per type."""
        from sidecar.store.archive import archive_events, delete_before

        source = self._engine_source
        engine = source() if callable(source) else source
        now = self._clock()
        removed: dict[str, int] = {}
        for event_type, days in sorted(self.config.max_age_days.items()):
            cutoff = now - days * DAY_S
            if self.config.archive_dir:
                name = f"events-{event_type}-before-{int(cutoff)}-{int(now)}.jsonl.gz"
                result = await archive_events(
                    engine,
                    cutoff,
                    Path(self.config.archive_dir) / name,
                    types=[event_type],
                    batch_rows=self.config.batch_rows,
                )
                count = result.events
                self.stats.archived_files += result.path is not None
            else:
                count = await delete_before(
                    engine, cutoff, types=[event_type], batch_rows=self.config.batch_rows
                )
            removed[event_type] = count
            self.stats.deleted[event_type] = self.stats.deleted.get(event_type, 0) + count
        self.stats.passes += 1
        self.stats.last_pass_ts = now
        return removed

    async def start(self) -> None:
        """Run passes in the background (nothing to do when no type has a maximum age)."""
        if self.config.active and self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def close(self) -> None:
        """Stop at once: a pass cut short is safe (each batch is its own transaction, a
        partial archive file is removed, and rows are deleted only after their file is in place)."""
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        while not self._stop.is_set():
            try:
                removed = await self.run_once()
                if any(removed.values()):
                    log.info("retention removed %s", removed)
            except (SQLAlchemyError, OSError) as exc:
                self.stats.failures += 1
                log.warning("retention pass failed: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.config.interval_s)
