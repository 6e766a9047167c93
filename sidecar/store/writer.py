"""The batching event writer: group commits, acknowledged only once durable.

Each ingest request hands its rows to :meth:`EventWriter.write` and waits. One background task
takes everything queued since the last commit (up to ``batch_max_events``), inserts it in one
transaction (:mod:`sidecar.store.inserters`) and resolves every waiter with the ids that were
new. So a commit costs one fsync however many requests share it, a resent event is stored once,
and a request is answered only after its rows are on disk. Memory is bounded by
``queue_max_events``: past it :class:`StoreOverloaded` is raised at once instead of queueing.

With a thread-bound inserter (SQLite: one connection on one thread of its own) the groups are
taken in that thread: a commit that ends finds the rows queued meanwhile and starts the next
group at once, with no round trip through the event loop between the two (measured: a gap of
about 2.4 ms between commits, 5% of the writer's time, went); the loop only hands rows over and
settles the waiters of each group in one callback.

Isolation: one request's rows never fail another's. Rows holding text no backend stores are
refused before they join a group (:class:`RowsRefused`, a 422 at the API); and when a group's
transaction fails anyway, each request of the group is retried in a transaction of its own, so
only the request whose rows the database refuses fails (:class:`RowsRefused` when the database
answered, :class:`StoreUnavailable` when it could not be reached).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sidecar.offload import off_loop
from sidecar.store.errors import RowsRefused, StoreOverloaded, StoreUnavailable
from sidecar.store.inserters import BatchInserter, ThreadBoundInserter
from sidecar.store.rows import Row, first_problem

log = logging.getLogger(__name__)


OFF_LOOP_ROWS = 4096
"""Above this many rows the check of a batch runs in a worker thread (about 0.5 µs a row)."""


@dataclass
class _Pending:
    rows: list[Row]
    done: asyncio.Future[set[str]]


@dataclass
class WriterStats:
    commits: int = 0
    rows_written: int = 0
    failures: int = 0
    queued_events: int = 0
    last_commit_seconds: float = 0.0


Settled = tuple["_Pending", set[str] | None, BaseException | None]


@dataclass
class _Done:
    """What one group's commit decided: each waiter's ids or error, and the counts to add."""

    settled: list[Settled] = field(default_factory=list)
    commits: int = 0
    rows_written: int = 0
    failures: int = 0
    seconds: float | None = None  # of the group's one commit, when it succeeded
    rows_sent: int = 0

    @classmethod
    def committed(
        cls, group: list[_Pending], inserted: set[str], rows_sent: int, started: float
    ) -> _Done:
        """The group went in as one transaction."""
        return cls(
            _split(group, inserted), commits=1, rows_written=len(inserted),
            seconds=time.perf_counter() - started, rows_sent=rows_sent,
        )  # fmt: skip

    def stored(self, pending: _Pending, inserted: set[str]) -> None:
        """One request, retried alone, went in."""
        self.commits += 1
        self.rows_written += len(inserted)
        self.settled.append((pending, inserted, None))

    def failed(self, pending: _Pending, exc: BaseException) -> None:
        """One request, retried alone, did not go in."""
        self.failures += 1
        self.settled.append((pending, None, _failure(exc)))


class EventWriter:
    """Group-committing writer for the ``events`` table."""

    def __init__(
        self,
        inserter: BatchInserter,
        *,
        batch_max_events: int = 10_000,
        queue_max_events: int = 200_000,
        on_commit: Callable[[float, int], None] | None = None,
    ) -> None:
        self._inserter = inserter
        self._batch_max = batch_max_events
        self._queue_max = queue_max_events
        self._on_commit = on_commit
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.stats = WriterStats()
        # thread-bound mode: the waiting requests, taken in the inserter's thread
        self._bound = inserter if isinstance(inserter, ThreadBoundInserter) else None
        self._waiting: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self._accepting = False

    async def start(self) -> None:
        if self._bound is not None:
            self._accepting = True
        elif self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-writer")

    @property
    def running(self) -> bool:
        return self._accepting or self._task is not None

    async def close(self) -> None:
        """Commit everything queued, then stop."""
        if self._bound is not None:
            if not self._accepting:
                return
            self._accepting = False  # no new writes; the thread ends its groups before this job
            await asyncio.wrap_future(self._bound.submit(_nothing))
        else:
            if self._task is None:
                return
            await self._queue.put(None)
            await self._task
            self._task = None
        await self._inserter.close()

    async def write(self, rows: list[Row]) -> set[str]:
        """Store ``rows`` durably; returns the ids that were new (the rest were duplicates)."""
        if not self.running:
            raise StoreUnavailable("the writer is not running")
        # A large batch is checked in a worker thread: 30k rows would hold the loop ~15 ms.
        if len(rows) > OFF_LOOP_ROWS:
            problem = await off_loop(first_problem, rows)
        else:
            problem = first_problem(rows)
        if problem is not None:
            raise RowsRefused(f"{problem} holds a character the store refuses", problem)
        if self.stats.queued_events + len(rows) > self._queue_max:
            raise StoreOverloaded(f"write queue holds {self.stats.queued_events} events")
        future: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self.stats.queued_events += len(rows)
        if self._bound is None:
            self._queue.put_nowait(_Pending(rows, future))
            return await future
        with self._lock:
            self._waiting.append(_Pending(rows, future))
            idle, self._draining = not self._draining, True
        if idle:
            self._bound.submit(self._drain)
        return await future

    def _drain(self) -> None:
        """In the inserter's thread: commit group after group until no request waits."""
        while True:
            with self._lock:
                group: list[_Pending] = []
                size = 0
                while self._waiting and (not group or size < self._batch_max):
                    group.append(self._waiting.popleft())
                    size += len(group[-1].rows)
                if not group:
                    self._draining = False
                    return
            try:
                done = self._commit_here(group, size)
            except BaseException as exc:  # a bug, not the database: fail the group, go on
                error = StoreUnavailable(f"database write failed: {type(exc).__name__}")
                done = _Done([(pending, None, error) for pending in group], failures=1)
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                group[0].done.get_loop().call_soon_threadsafe(self._apply, done)

    def _commit_here(self, group: list[_Pending], size: int) -> _Done:
        """:meth:`_commit` in the inserter's thread."""
        assert self._bound is not None
        rows = _group_rows(group)
        started = time.perf_counter()
        try:
            inserted = self._bound.insert_here(rows)
        except Exception as exc:  # any driver error: no waiter may be told "stored"
            done = _failed_group(group, size, exc)
            if done.settled:
                return done
            for pending in group:  # a refusal: each request alone, in order
                try:
                    done.stored(pending, self._bound.insert_here(_unique(pending.rows)))
                except Exception as alone:
                    done.failed(pending, alone)
            return done
        return _Done.committed(group, inserted, len(rows), started)

    def _apply(self, done: _Done) -> None:
        """On the loop: count a group's commit and settle its waiters."""
        self.stats.commits += done.commits
        self.stats.rows_written += done.rows_written
        self.stats.failures += done.failures
        if done.seconds is not None:
            self.stats.last_commit_seconds = done.seconds
            if self._on_commit is not None:
                self._on_commit(done.seconds, done.rows_sent)
        for pending, result, error in done.settled:
            self._settle(pending, result=result, error=error)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            group, size = [first], len(first.rows)
            while size < self._batch_max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                group.append(item)
                size += len(item.rows)
            await self._commit(group, size)

    async def _commit(self, group: list[_Pending], size: int) -> None:
        """The group in one transaction; after a refusal, each request in one of its own."""
        rows = _group_rows(group)
        started = time.perf_counter()
        try:
            inserted = await self._inserter.insert(rows)
        except Exception as exc:  # any driver error: no waiter may be told "stored"
            done = _failed_group(group, size, exc)
            if not done.settled:
                for pending in group:  # a refusal: each request alone, in order
                    try:
                        done.stored(pending, await self._inserter.insert(_unique(pending.rows)))
                    except Exception as alone:
                        done.failed(pending, alone)
        else:
            done = _Done.committed(group, inserted, len(rows), started)
        self._apply(done)

    def _settle(
        self,
        pending: _Pending,
        *,
        result: set[str] | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.stats.queued_events -= len(pending.rows)
        if pending.done.done():
            return
        if error is not None:
            pending.done.set_exception(error)
            with contextlib.suppress(BaseException):
                pending.done.exception()  # mark retrieved if the waiter is gone
        else:
            pending.done.set_result(result or set())


def _group_rows(group: list[_Pending]) -> list[Row]:
    """The rows of a group's requests, each key once (the first request's row)."""
    return _unique([row for pending in group for row in pending.rows])


def _failed_group(group: list[_Pending], size: int, exc: Exception) -> _Done:
    """A group whose transaction failed: every waiter failed with it, or (a refusal of a group
    of several, whose requests are then retried alone) none settled yet. Counts one failure."""
    log.warning("event batch of %d rows not stored: %s", size, type(exc).__name__)
    done = _Done(failures=1)
    if len(group) == 1 or not is_refusal(exc):
        done.settled = [(pending, None, _failure(exc)) for pending in group]
    return done


def _split(group: list[_Pending], inserted: set[str]) -> list[Settled]:
    """Each request of a committed group with the ids it stored (an id sent twice in one group
    belongs to its first sender)."""
    out: list[Settled] = []
    for pending in group:
        mine = {row[0] for row in pending.rows} & inserted
        inserted -= mine
        out.append((pending, mine, None))
    return out


def _nothing() -> None:
    """A job for the inserter's thread that marks the end of the jobs before it."""


def _unique(rows: list[Row]) -> list[Row]:
    """``rows`` with each key once (the first row of a key is the one stored)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            kept.append(row)
    return kept


# Errors by which the database says "this value", not "I cannot": the request's own rows.
_REFUSALS: tuple[type[BaseException], ...] = (
    ValueError, OverflowError, sqlite3.DataError, sqlite3.IntegrityError,
)  # fmt: skip


def _refusals() -> tuple[tuple[type[BaseException], ...], type[BaseException] | None]:
    """The refusal classes, SQLAlchemy's included once it is loaded (its errors cannot exist
    before), and its OperationalError; this module does not import it (the default start)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return _REFUSALS, None
    return (*_REFUSALS, sa_exc.DataError, sa_exc.IntegrityError), sa_exc.OperationalError


def is_refusal(exc: BaseException) -> bool:
    """True when the database refused a value (SQLSTATE class 22 data or 23 integrity, or the
    driver could not convert one); anything else counts as the store being unavailable."""
    refusals, operational = _refusals()
    if operational is not None and isinstance(exc, operational):
        return False
    if isinstance(exc, refusals):
        return True
    # asyncpg's own errors carry the SQLSTATE; SQLAlchemy's wrap the driver's as ``orig``
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(state, str) and state[:2] in ("22", "23")


def _failure(exc: BaseException) -> BaseException:
    """What a waiter whose rows failed is told: refused (its rows) or unavailable (the store)."""
    if is_refusal(exc):
        return RowsRefused(f"the database refused a value of this batch: {type(exc).__name__}")
    return StoreUnavailable(f"database write failed: {type(exc).__name__}")
