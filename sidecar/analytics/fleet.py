"""Fleet stats: every replica's window sketches merged, with the error bound of one sidecar.

Each sidecar publishes, every ``fleet.publish_interval_s`` (5 s by default), the series of each
configured window (``1m``, ``5m``, ``1h`` by default) keyed by full series key, encoded by
:mod:`sidecar.analytics.codec`, in one upsert to a :class:`FleetStore` (PostgreSQL:
:mod:`sidecar.store.fleet`). ``GET /v1/stats?scope=fleet`` reads the rows of one window, merges
them with this sidecar's live series and renders the same answer as a local query. The merge of
sketches is the sketch of the union of their values, so every percentile stays within the
relative accuracy (1%) of the exact percentile of all the replicas' values: three replicas whose
union has an exact p99 TTFT of 900 ms report a fleet p99 between 891 and 909 ms.

Freshness is judged by the store's own clock (the age of each row), never by the replicas'
clocks, so skewed hosts do not matter. For a query of window ``W`` a replica is

- ``fresh`` when its last write is at most ``stale_after_s`` old (three intervals by default);
- ``stale`` when it is older but younger than ``W``: its last snapshot still covers part of the
  window, so it still contributes (it has stopped, or cannot reach the database);
- gone once its last write is ``W`` old: it leaves the merge and the ``replicas`` list (counted
  in ``replicas_expired``) and its rows are purged an hour or so later;
- ``incompatible`` when its row is of another format or relative accuracy: listed with a
  reason, never merged (the bound could not be kept).

Cost: one upsert statement per replica per interval (the rows of all windows at once), about
0.4 kB per series and window, zlib-compressed; a query reads one row per replica. Merging,
encoding and decoding run in a worker thread over frozen window parts
(:meth:`Analytics.window_parts`); the event loop only copies the open 10 s slice and the current
minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sidecar.analytics.codec import SketchFormatError, decode_window, encode_window
from sidecar.analytics.config import SERIES_FIELDS, FleetConfig
from sidecar.analytics.engine import Analytics
from sidecar.analytics.report import Groups, merge_groups, parse_group_by, stats_body
from sidecar.analytics.windows import window_seconds
from sidecar.errors import StoreUnavailable

log = logging.getLogger(__name__)

_PURGE_EVERY_S = 60.0


class FleetStoreUnavailable(StoreUnavailable):
    """The shared database did not answer (a query of the fleet is then a 503)."""


@dataclass(frozen=True)
class PublishedWindow:
    """One window of one replica, ready to store: its event count and encoded snapshot."""

    window: str
    count: int
    payload: bytes


@dataclass(frozen=True)
class ReplicaRow:
    """One replica's stored snapshot of one window; ``age_s`` by the store's clock."""

    replica_id: str
    age_s: float
    payload: bytes


class FleetStore(Protocol):
    """Where replicas meet: one row per (replica, window)."""

    async def start(self) -> None: ...

    async def publish(self, replica_id: str, windows: Sequence[PublishedWindow]) -> None:
        """Upsert every window of one replica in one statement."""
        ...

    async def read(self, window: str) -> list[ReplicaRow]: ...

    async def purge(self, older_than_s: float) -> int:
        """Delete rows not written for ``older_than_s``; returns how many."""
        ...


def default_replica_id() -> str:
    """The host name (a pod's name) and a random suffix, so a restart is a new replica."""
    host = "".join(c for c in socket.gethostname() if c.isprintable())[:100] or "sidecar"
    return f"{host}-{secrets.token_hex(3)}"


def replica_state(age_s: float, stale_after_s: float, window_s: float) -> str | None:
    """``fresh``, ``stale`` or None (gone from a window of ``window_s``) for a row's age."""
    if age_s >= window_s:
        return None
    return "fresh" if age_s <= stale_after_s else "stale"


def merge_fleet(
    local: Sequence[Groups],
    local_id: str,
    rows: Sequence[ReplicaRow],
    window: str,
    group_by: Sequence[str],
    until: float,
    relative_accuracy: float,
    bin_limit: int,
    stale_after_s: float,
) -> dict[str, Any]:
    """The ``scope=fleet`` body: this replica's ``local`` window parts (full series keys)
    merged with every live row."""
    fields = parse_group_by(group_by)
    seconds = window_seconds(window)
    assert seconds is not None
    sources = list(local)
    replicas: list[dict[str, Any]] = [_replica(local_id, 0.0, "fresh", sources, self_=True)]
    expired = 0
    for row in sorted(rows, key=lambda r: r.replica_id):
        if row.replica_id == local_id:
            continue
        state = replica_state(row.age_s, stale_after_s, seconds)
        if state is None:
            expired += 1
            continue
        reason = None
        try:
            snapshot = decode_window(row.payload)
        except SketchFormatError as exc:
            reason = str(exc)
        else:
            if snapshot.relative_accuracy != relative_accuracy:
                reason = (
                    f"relative accuracy {snapshot.relative_accuracy} differs from this "
                    f"sidecar's {relative_accuracy}"
                )
            elif snapshot.window != window:
                reason = f"row holds window {snapshot.window!r}, not {window!r}"
        if reason is not None:
            replicas.append(
                {
                    "id": row.replica_id,
                    "self": False,
                    "age_s": round(row.age_s, 3),
                    "state": "incompatible",
                    "contributing": False,
                    "count": 0,
                    "reason": reason,
                }
            )
            continue
        sources.append(snapshot.series)
        replicas.append(_replica(row.replica_id, row.age_s, state, [snapshot.series]))
    groups = merge_groups(sources, fields, relative_accuracy, bin_limit)
    body = stats_body(window, fields, until, relative_accuracy, groups)
    body.update(
        scope="fleet",
        shared_store=True,
        replicas=replicas,
        replicas_contributing=sum(1 for r in replicas if r["contributing"]),
        replicas_expired=expired,
        stale_after_s=round(stale_after_s, 3),
    )
    return body


def _replica(
    replica_id: str, age_s: float, state: str, parts: Sequence[Groups], *, self_: bool = False
) -> dict[str, Any]:
    count = sum(s.count for part in parts for s in part.values())
    return {
        "id": replica_id,
        "self": self_,
        "age_s": round(age_s, 3),
        "state": state,
        "contributing": True,
        "count": count,
    }


def _encoded(
    window: str, until: float, accuracy: float, bin_limit: int, parts: Sequence[Groups]
) -> tuple[bytes, int]:
    """A window's parts merged by full series key and encoded (runs in a worker thread)."""
    series = merge_groups(parts, SERIES_FIELDS, accuracy, bin_limit)
    payload = encode_window(window, until, accuracy, bin_limit, series)
    return payload, sum(s.count for s in series.values())


@dataclass
class FleetStats:
    """Counters for ``/metrics``: publishes, failures, bytes of the last upsert, rows purged."""

    publishes: int = 0
    publish_failures: int = 0
    last_publish_bytes: int = 0
    last_publish_s: float = 0.0
    rows_purged: int = 0
    published_at: float | None = None
    last_error: str | None = field(default=None, repr=False)


class Fleet:
    """This replica's side of the fleet: the publishing loop and the ``scope=fleet`` query.

    Without a store (SQLite, or ``fleet.enabled: false``) a fleet query answers with this
    replica alone and says so (``shared_store: false``).
    """

    def __init__(
        self,
        analytics: Analytics,
        config: FleetConfig,
        store: FleetStore | None,
        replica_id: str | None = None,
    ) -> None:
        self.analytics = analytics
        self.config = config
        self.store = store
        self.replica_id = replica_id or config.replica_id or default_replica_id()
        self.counters = FleetStats()
        self._last_purge = 0.0
        self._started = False
        self._loop: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self.store is not None

    # -- publishing --------------------------------------------------------------------------

    async def start(self) -> None:
        """Prepare the store (a failure is not fatal: publishing retries every interval) and
        publish every ``publish_interval_s`` until :meth:`close`."""
        if self.store is None:
            return
        try:
            await self.store.start()
            self._started = True
        except Exception as exc:  # the database may come up later; publish() retries
            self._failed(exc)
        if self._loop is None:
            self._loop = asyncio.create_task(self.run(), name="fleet-publish")

    async def publish(self) -> bool:
        """Write every window once; False (counted, logged once per outage) on failure."""
        if self.store is None:
            return False
        began = time.perf_counter()
        analytics, config = self.analytics, self.analytics.config
        windows: list[PublishedWindow] = []
        try:
            if not self._started:
                await self.store.start()
                self._started = True
            for window in self.config.windows:
                parts = analytics.window_parts(window)  # on the loop: copies the open slice
                payload, count = await asyncio.to_thread(
                    _encoded,
                    window,
                    analytics.now(),
                    config.relative_accuracy,
                    config.bin_limit,
                    parts,
                )
                windows.append(PublishedWindow(window, count, payload))
            await self.store.publish(self.replica_id, windows)
            now = time.monotonic()
            if now - self._last_purge >= _PURGE_EVERY_S:
                self._last_purge = now
                self.counters.rows_purged += await self.store.purge(self._purge_age())
        except Exception as exc:  # a publish must never end the loop; the next one retries
            self._failed(exc)
            return False
        stats = self.counters
        if stats.last_error is not None:
            log.info("fleet: publishing to the shared database again")
            stats.last_error = None
        stats.publishes += 1
        stats.last_publish_bytes = sum(len(w.payload) for w in windows)
        stats.last_publish_s = time.perf_counter() - began
        stats.published_at = time.time()
        return True

    def _failed(self, exc: BaseException) -> None:
        stats = self.counters
        stats.publish_failures += 1
        if stats.last_error is None:
            log.warning(
                "fleet: cannot publish sketches to the shared database (%s); retrying every %.1f s",
                type(exc).__name__,
                self.config.publish_interval_s,
            )
        stats.last_error = type(exc).__name__

    def _purge_age(self) -> float:
        longest = max(window_seconds(w) or 0 for w in self.config.windows)
        return max(longest, 3600) + self.config.stale_after + 60.0

    async def run(self) -> None:
        """Publish every interval until cancelled (the app's background task)."""
        if self.store is None:
            return
        while True:
            await asyncio.sleep(self.config.publish_interval_s)
            await self.publish()

    async def close(self, timeout_s: float = 2.0) -> None:
        """Stop the loop; one last publish, so a replica that stops leaves its latest figures
        behind."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if self.store is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.publish(), timeout_s)

    # -- the query ---------------------------------------------------------------------------

    def check_window(self, window: str) -> None:
        """ValueError naming ``window`` unless it is one of the published windows."""
        if window not in self.config.windows:
            raise ValueError(
                f"window: scope=fleet answers the published windows "
                f"{', '.join(self.config.windows)} (fleet.windows), not {window!r}"
            )

    async def stats(self, window: str = "5m", group_by: Sequence[str] = ()) -> dict[str, Any]:
        """The ``scope=fleet`` body; ValueError naming the parameter when bad,
        :class:`FleetStoreUnavailable` when the shared database does not answer."""
        fields = parse_group_by(group_by)
        self.check_window(window)
        analytics, config = self.analytics, self.analytics.config
        local = analytics.window_parts(window)
        until = analytics.now()
        stale_after = self.config.stale_after
        if self.store is None:
            body = await asyncio.to_thread(
                merge_fleet,
                local,
                self.replica_id,
                (),
                window,
                fields,
                until,
                config.relative_accuracy,
                config.bin_limit,
                stale_after,
            )
            body.update(
                shared_store=False,
                note="no shared database: this replica alone (fleet stats need "
                "PostgreSQL and fleet.enabled)",
            )
            return body
        rows = await self.store.read(window)
        return await asyncio.to_thread(
            merge_fleet,
            local,
            self.replica_id,
            rows,
            window,
            fields,
            until,
            config.relative_accuracy,
            config.bin_limit,
            stale_after,
        )
