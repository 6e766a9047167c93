"""Durable journal of the in-process ledger: budget_* tables in the SQLite file, group-committed.

The ledger marks what changed (counters, reservations, rolling holds, policies, charges) by key;
every ``flush_interval_s`` (50 ms by default), or at once when a caller waits for durability,
the current values of the marked keys are handed to a writer thread that upserts or deletes
them in one transaction (stdlib sqlite3, WAL, synchronous=NORMAL: a committed transaction
survives kill -9 of the process). The admit path only adds keys to sets, so persistence costs it
no I/O; a crash loses at most the changes of the last interval that nobody
waited for (admits do not wait; settles and charged events do, see the ledger).

The writer never dies quietly: any exception (disk full, a locked file, a bug) is counted,
reported by :attr:`healthy` / :attr:`last_error`, and the failed batch is retried, merged with
every batch queued behind it (later values of a key win), with a backoff of 0.05-2 s, until it
is committed. :meth:`stop` returns within its timeout whatever state the writer is in.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from sidecar.budgets.model import COUNTER_MAX
from sidecar.budgets.policies import is_legacy_key
from sidecar.budgets.windows import ROLLING_START
from sidecar.store.sqlite_bulk import insert_rows
from sidecar.store.sqlite_connection import connect_sqlite

log = logging.getLogger(__name__)

CounterRow = tuple[str, float, float, int, int, int, int]
HoldRow = tuple[str, str, float, int, int, int]
# rid, created, expires_at, tokens, cost, keys (JSON), state, tenant, user_id, model
ReservationRow = tuple[str, float, float, int, int, str, int, str | None, str | None, str | None]
PolicyRow = tuple[str, str, str, str]
# charge_id, rid, ts, tokens, cost, keys (JSON)
ChargeRow = tuple[str, str | None, float, int, int, str]
_COMPACT_ROWS = 50_000


class Batch:
    """Rows to upsert (or None: delete) by primary key, written in one transaction."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, float], CounterRow | None] = {}
        self.reservations: dict[str, ReservationRow | None] = {}
        self.holds: dict[tuple[str, str], HoldRow | None] = {}
        self.policies: dict[tuple[str, str, str], PolicyRow | None] = {}
        self.charges: dict[str, ChargeRow] = {}
        self.compact_before: float | None = None
        self.prune_before: float | None = None

    def __len__(self) -> int:
        return (
            len(self.counters) + len(self.reservations) + len(self.holds) + len(self.policies)
            + len(self.charges) + (self.compact_before is not None)
            + (self.prune_before is not None)
        )  # fmt: skip

    def merge(self, later: Batch) -> None:
        """Fold a later batch in: its values of a key replace this one's."""
        self.counters.update(later.counters)
        self.reservations.update(later.reservations)
        self.holds.update(later.holds)
        self.policies.update(later.policies)
        self.charges.update(later.charges)
        for name in ("compact_before", "prune_before"):
            value = getattr(later, name)
            if value is not None:
                setattr(self, name, max(value, getattr(self, name) or value))


class Snapshot:
    """Everything the ledger keeps in memory, read once at start."""

    def __init__(self) -> None:
        self.counters: list[CounterRow] = []
        self.reservations: list[ReservationRow] = []
        self.holds: list[HoldRow] = []
        self.policies: list[PolicyRow] = []


def _schema(p: str) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS {p}counters (bkey TEXT NOT NULL, window_start REAL NOT NULL,
      window_end REAL NOT NULL, tokens_used INTEGER NOT NULL, cost_used INTEGER NOT NULL,
      tokens_reserved INTEGER NOT NULL, cost_reserved INTEGER NOT NULL,
      PRIMARY KEY (bkey, window_start));
    CREATE TABLE IF NOT EXISTS {p}reservations (rid TEXT PRIMARY KEY, created REAL NOT NULL,
      expires_at REAL NOT NULL, tokens INTEGER NOT NULL, cost INTEGER NOT NULL,
      keys TEXT NOT NULL, state INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS {p}holds (bkey TEXT NOT NULL, rid TEXT NOT NULL,
      ts REAL NOT NULL, tokens INTEGER NOT NULL, cost INTEGER NOT NULL,
      settled INTEGER NOT NULL, PRIMARY KEY (bkey, rid));
    CREATE TABLE IF NOT EXISTS {p}policies (scope TEXT NOT NULL, id TEXT NOT NULL,
      model TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (scope, id, model));
    CREATE TABLE IF NOT EXISTS {p}charges (charge_id TEXT PRIMARY KEY, rid TEXT,
      ts REAL NOT NULL, tokens INTEGER NOT NULL, cost INTEGER NOT NULL, keys TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS {p}charges_rid ON {p}charges (rid) WHERE rid IS NOT NULL;
    CREATE INDEX IF NOT EXISTS {p}charges_ts ON {p}charges (ts);
    CREATE TABLE IF NOT EXISTS {p}charge_totals (bkey TEXT NOT NULL, window_start REAL NOT NULL,
      tokens INTEGER NOT NULL, cost INTEGER NOT NULL, n INTEGER NOT NULL,
      PRIMARY KEY (bkey, window_start));
    """


_RESERVATION_COLUMNS = ("tenant", "user_id", "model")


class SqliteJournal:
    """Group-commit writer thread over the ``{prefix}*`` tables of the SQLite file ``path``."""

    def __init__(self, path: str, prefix: str = "budget_") -> None:
        self.path = path
        self.p = prefix
        self._queue: queue.SimpleQueue[tuple[Batch, Future[None]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self.errors = 0
        self.rows_written = 0
        self.healthy = True
        self.last_error: str | None = None
        self.pending_rows = 0

    def _connect(self) -> sqlite3.Connection:
        conn = connect_sqlite(self.path, autocommit=False)
        conn.executescript(_schema(self.p))
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({self.p}reservations)")}
        for column in _RESERVATION_COLUMNS:
            if column not in have:  # a journal written before reservations had owners
                conn.execute(f"ALTER TABLE {self.p}reservations ADD COLUMN {column} TEXT")
        return conn

    def load(self) -> Snapshot:
        """Read the journal (creating its tables); call before :meth:`start`."""
        conn = self._connect()
        try:
            p, snap = self.p, Snapshot()
            snap.counters = conn.execute(
                f"SELECT bkey, window_start, window_end, tokens_used, cost_used, "
                f"tokens_reserved, cost_reserved FROM {p}counters"
            ).fetchall()
            snap.reservations = conn.execute(
                f"SELECT rid, created, expires_at, tokens, cost, keys, state, tenant, user_id, "
                f"model FROM {p}reservations ORDER BY created"
            ).fetchall()
            snap.holds = conn.execute(
                f"SELECT bkey, rid, ts, tokens, cost, settled FROM {p}holds ORDER BY ts"
            ).fetchall()
            snap.policies = conn.execute(
                f"SELECT scope, id, model, body FROM {p}policies"
            ).fetchall()
            return snap
        finally:
            conn.close()

    @staticmethod
    def legacy_keys(snap: Snapshot) -> set[str]:
        """Counter keys written before keys named their window."""
        keys = {row[0] for row in snap.counters} | {row[0] for row in snap.holds}
        for row in snap.reservations:
            keys.update(k for k, _ in json.loads(row[5]))
        return {k for k in keys if is_legacy_key(k)}

    def upgrade_keys(self, mapping: dict[str, str]) -> None:
        """Rename legacy counter keys in one transaction (blocking; before :meth:`start`).

        What a legacy calendar counter had used becomes an opening balance in the charge
        totals, so the consistency check has a record for it."""
        p = self.p
        conn = self._connect()
        try:
            with conn:
                for old, new in mapping.items():
                    conn.execute(
                        f"INSERT OR IGNORE INTO {p}charge_totals (bkey, window_start, tokens, "
                        f"cost, n) SELECT ?, window_start, tokens_used, cost_used, 0 "
                        f"FROM {p}counters WHERE bkey = ? AND window_start <> ?",
                        (new, old, ROLLING_START),
                    )
                    conn.execute(f"UPDATE OR IGNORE {p}counters SET bkey = ? WHERE bkey = ?",
                                 (new, old))  # fmt: skip
                    conn.execute(f"DELETE FROM {p}counters WHERE bkey = ?", (old,))
                    conn.execute(f"UPDATE OR IGNORE {p}holds SET bkey = ? WHERE bkey = ?",
                                 (new, old))  # fmt: skip
                    conn.execute(f"DELETE FROM {p}holds WHERE bkey = ?", (old,))
                rows = conn.execute(f"SELECT rid, keys FROM {p}reservations").fetchall()
                for rid, keys in rows:
                    pairs = json.loads(keys)
                    fixed = [[mapping.get(k, k), w] for k, w in pairs]
                    if fixed != pairs:
                        conn.execute(f"UPDATE {p}reservations SET keys = ? WHERE rid = ?",
                                     (json.dumps(fixed), rid))  # fmt: skip
        finally:
            conn.close()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="budget-journal", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> Future[None]:
        """Queue a batch; the future completes once it is committed."""
        fut: Future[None] = Future()
        self.pending_rows += len(batch)
        self._queue.put((batch, fut))
        return fut

    def stop(self, timeout: float = 3.0) -> bool:
        """Write what is queued (one attempt if the store is failing) and stop the thread
        within ``timeout``; False when the thread had to be abandoned."""
        clean = True
        if self._thread is not None:
            self._queue.put(None)
            self._stop.set()
            self._thread.join(timeout=timeout)
            clean = not self._thread.is_alive()
            self._thread = None
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        return clean

    def charged(self, charge_ids: Iterable[str], rids: Iterable[str]) -> tuple[set[str], set[str]]:
        """Which of ``charge_ids`` are recorded, and which of ``rids`` were settled (blocking:
        call from a thread). Used only for resent events and ids the memory does not know."""
        ids, rs = list(charge_ids), list(rids)
        with self._read_lock:
            if self._reader is None:
                self._reader = self._connect()
            conn, p = self._reader, self.p
            found_ids: set[str] = set()
            found_rids: set[str] = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT charge_id FROM {p}charges WHERE charge_id IN ({marks})"
                found_ids.update(r[0] for r in conn.execute(sql, chunk))
            for i in range(0, len(rs), 500):
                chunk = rs[i : i + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT rid FROM {p}charges WHERE rid IN ({marks})"
                found_rids.update(r[0] for r in conn.execute(sql, chunk))
            return found_ids, found_rids

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        merged: Batch | None = None
        futures: list[Future[None]] = []
        stopping = False
        delay = 0.05
        while True:
            if merged is None and not stopping:
                item = self._queue.get()
                if item is None:
                    stopping = True
                else:
                    merged, futures = item[0], [item[1]]
            while True:  # take everything queued behind it
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                elif merged is None:
                    merged, futures = item[0], [item[1]]
                else:
                    merged.merge(item[0])
                    futures.append(item[1])
            if merged is None:
                if stopping:
                    break
                continue
            try:
                if conn is None:
                    conn = self._connect()
                self._write(conn, merged)
            except BaseException as exc:
                self.errors += 1
                self.healthy = False
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.error("budget journal write failed (retrying): %s", self.last_error)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
                if stopping:
                    for fut in futures:
                        if not fut.done():
                            fut.set_exception(RuntimeError(self.last_error))
                    break
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)
                continue
            self.rows_written += len(merged)
            self.pending_rows = max(0, self.pending_rows - len(merged))
            self.healthy = True
            self.last_error = None
            delay = 0.05
            for fut in futures:
                if not fut.done():
                    fut.set_result(None)
            merged, futures = None, []
            if stopping and self._queue.empty():
                break
        if conn is not None:
            conn.close()

    def _write(self, conn: sqlite3.Connection, b: Batch) -> None:
        p = self.p
        ups: dict[str, list[Any]] = defaultdict(list)
        dels: dict[str, list[Any]] = defaultdict(list)
        for ck, row in b.counters.items():
            (ups if row is not None else dels)["c"].append(row if row is not None else ck)
        for rid, rrow in b.reservations.items():
            (ups if rrow is not None else dels)["r"].append(rrow if rrow is not None else (rid,))
        for hk, hrow in b.holds.items():
            (ups if hrow is not None else dels)["h"].append(hrow if hrow is not None else hk)
        for pk, prow in b.policies.items():
            (ups if prow is not None else dels)["p"].append(prow if prow is not None else pk)
        # Upserts take many rows per statement (sidecar.store.sqlite_bulk); deletes one a row.
        upserts: list[tuple[str, list[Any]]] = [
            (
                f"INSERT OR REPLACE INTO {p}counters (bkey, window_start, window_end, tokens_used, "
                "cost_used, tokens_reserved, cost_reserved)",
                ups["c"],
            ),
            (
                f"INSERT OR REPLACE INTO {p}reservations (rid, created, expires_at, tokens, cost, "
                "keys, state, tenant, user_id, model)",
                ups["r"],
            ),
            (f"INSERT OR REPLACE INTO {p}holds (bkey, rid, ts, tokens, cost, settled)", ups["h"]),
            (f"INSERT OR REPLACE INTO {p}policies (scope, id, model, body)", ups["p"]),
            (
                f"INSERT OR IGNORE INTO {p}charges (charge_id, rid, ts, tokens, cost, keys)",
                list(b.charges.values()),
            ),
        ]
        deletes: list[tuple[str, list[Any]]] = [
            (f"DELETE FROM {p}counters WHERE bkey=? AND window_start=?", dels["c"]),
            (f"DELETE FROM {p}reservations WHERE rid=?", dels["r"]),
            (f"DELETE FROM {p}holds WHERE bkey=? AND rid=?", dels["h"]),
            (f"DELETE FROM {p}policies WHERE scope=? AND id=? AND model=?", dels["p"]),
        ]  # fmt: skip
        with conn:  # a key is upserted or deleted in one batch, never both: order is free
            for head, rows in upserts:
                insert_rows(conn, head, rows)
            for sql, rows in deletes:
                if rows:
                    conn.executemany(sql, rows)
            if b.compact_before is not None:
                self._compact(conn, b.compact_before)
            if b.prune_before is not None:
                conn.execute(f"DELETE FROM {p}counters WHERE window_end < ?", (b.prune_before,))
                conn.execute(
                    f"DELETE FROM {p}charge_totals WHERE NOT EXISTS (SELECT 1 FROM {p}counters c "
                    f"WHERE c.bkey = {p}charge_totals.bkey "
                    f"AND c.window_start = {p}charge_totals.window_start)"
                )

    def _compact(self, conn: sqlite3.Connection, before: float) -> None:
        """Fold charges older than ``before`` into per-window totals (calendar windows; rolling
        ones are recorded by their holds)."""
        p = self.p
        rows = conn.execute(
            f"SELECT charge_id, keys, tokens, cost FROM {p}charges WHERE ts < ? LIMIT ?",
            (before, _COMPACT_ROWS),
        ).fetchall()
        if not rows:
            return
        totals: dict[tuple[str, float], list[int]] = defaultdict(lambda: [0, 0, 0])
        for _, keys, tokens, cost in rows:
            for k, ws in json.loads(keys):
                if ws != ROLLING_START:
                    acc = totals[(k, float(ws))]
                    acc[0] += tokens
                    acc[1] += cost
                    acc[2] += 1
        conn.executemany(
            f"INSERT INTO {p}charge_totals (bkey, window_start, tokens, cost, n) "
            "VALUES (?,?,?,?,?) ON CONFLICT (bkey, window_start) DO UPDATE SET "
            f"tokens = min(tokens + excluded.tokens, {COUNTER_MAX}), "
            f"cost = min(cost + excluded.cost, {COUNTER_MAX}), n = n + excluded.n",
            [(k, ws, min(t, COUNTER_MAX), min(c, COUNTER_MAX), n)
             for (k, ws), (t, c, n) in totals.items()],
        )  # fmt: skip
        conn.executemany(f"DELETE FROM {p}charges WHERE charge_id = ?", [(r[0],) for r in rows])
