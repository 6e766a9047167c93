"""An in-memory fleet store on a manual clock: the database's part in model-based tests.

It keeps what :class:`~sidecar.store.fleet.PostgresFleetStore` keeps (one row per replica and
window, written at the store's clock) so the staleness rules can be driven through time without
waiting; the real PostgreSQL store is exercised by the process tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.analytics import ManualClock
from sidecar.analytics.fleet import FleetStoreUnavailable, PublishedWindow, ReplicaRow


class MemoryFleetStore:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.rows: dict[tuple[str, str], tuple[float, bytes]] = {}
        self.down = False
        self.upserts = 0

    def _check(self) -> None:
        if self.down:
            raise FleetStoreUnavailable("down")

    async def start(self) -> None:
        self._check()

    async def publish(self, replica_id: str, windows: Sequence[PublishedWindow]) -> None:
        self._check()
        self.upserts += 1
        for w in windows:
            self.rows[(replica_id, w.window)] = (self.clock(), w.payload)

    async def read(self, window: str) -> list[ReplicaRow]:
        self._check()
        now = self.clock()
        return [
            ReplicaRow(rid, now - at, payload)
            for (rid, w), (at, payload) in self.rows.items()
            if w == window
        ]

    async def purge(self, older_than_s: float) -> int:
        self._check()
        now = self.clock()
        old = [k for k, (at, _) in self.rows.items() if now - at > older_than_s]
        for k in old:
            del self.rows[k]
        return len(old)
