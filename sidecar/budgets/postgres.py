"""The PostgreSQL ledger: one budget, exact across any number of sidecars.

Every admit is one call of a PL/pgSQL function through raw asyncpg (a prepared statement,
one round trip, one transaction): it locks the counter rows of the applicable budgets in key
order, checks ``used + reserved + estimate <= cap`` on every one and only then reserves on all
(see :mod:`sidecar.budgets.pg_schema`). PostgreSQL's row locks serialise admits of one budget
across processes, so granted reservations never exceed a cap: 3 sidecars firing 300 admits of
1,000 tokens at a 100,000-token budget grant exactly 100. Counter rows are keyed by
(budget, window_start), so a window resets on every replica by its own clock, with no job.

Concurrent admits of one process are decided together: up to 64 in one statement, in
arrival order, each still all-or-none on its own budgets; so a single hot budget is not limited
to one row-lock round trip per admit. Throughput on one user's budget here (shared 2 cores):
about 1,000 admits/s from one task, 3,400 from 16, and 4,600 from 3 processes x 16 tasks
together (bench/bench_admit_core.py). Leases of budget chunks would be faster still but not
exact at the end of a budget; this is exact.

When PostgreSQL is unreachable: ``fail_open`` allows and counts (``fail_open_admits``),
``fail_closed`` raises :class:`StoreUnavailable` (HTTP 503); so does any other failure of the
driver, whatever its exception type: every waiting admit is answered. After a lost connection
the pool's connections are replaced; a lost pool is recreated at most every
``retry_interval_s``, so recovery needs no restart.
Policies set at runtime are stored in ``{prefix}policies`` and reloaded by every sidecar each
``housekeeping_interval_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgspec

from sidecar.budgets.config import BudgetPolicy, BudgetsConfig, Scope
from sidecar.budgets.ledger import (
    Clock,
    Counts,
    LedgerCore,
    Slot,
    limit_nano,
    new_reservation_id,
)
from sidecar.budgets.model import AdmitRequest, Decision, StoreUnavailable, Usage, to_nano
from sidecar.budgets.pg_schema import schema_sql
from sidecar.budgets.policies import PolicySet

log = logging.getLogger(__name__)
_BATCH = 64


class _Job:
    """One admit waiting for its batch."""

    __slots__ = ("est_c", "est_t", "future", "now", "retried", "rid", "slots")

    def __init__(self, slots: list[Slot], est_t: int, est_c: int, rid: str, now: float) -> None:
        self.slots, self.est_t, self.est_c, self.rid, self.now = slots, est_t, est_c, rid, now
        self.retried = False
        self.future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()


try:
    import asyncpg
except ImportError:  # pragma: no cover - the postgres extra is not installed
    asyncpg = None

# Errors that mean "the connection is lost", as opposed to a bug in a statement. asyncpg's
# InternalClientError is one: when a server ends a session (pg_terminate_backend, a restart) the
# FATAL message can reach an idle pooled connection before the socket's EOF does; asyncpg then
# leaves that connection in an error state, the next statement on it fails with "cannot switch
# to state 12; another operation (2) is in progress", and the pool discards it on release.
_LOST_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError,)
if asyncpg is not None:
    _LOST_CONNECTION_ERRORS += (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.ConnectionFailureError,
    )
# Errors that mean "the store is not reachable": a lost connection or a statement timeout.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *_LOST_CONNECTION_ERRORS,
    asyncio.TimeoutError,
)


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy spelling) → ``postgresql://…``."""
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class PostgresLedger(LedgerCore):
    """:class:`~sidecar.budgets.ledger.BudgetLedger` on PostgreSQL via raw asyncpg."""

    def __init__(self, config: BudgetsConfig, dsn: str, clock: Clock = time.time) -> None:
        if asyncpg is None:
            raise RuntimeError("the PostgreSQL ledger needs asyncpg (pip install asyncpg)")
        super().__init__(config, clock)
        self.dsn = asyncpg_dsn(dsn)
        self.application_name = f"agent-sidecar {config.table_prefix}ledger"
        self._config_policies = PolicySet(config.policies)
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        self._next_attempt = 0.0
        self._schema_ready = False
        self.connected = False
        self.last_error: str | None = None
        self._housekeeper: asyncio.Task[None] | None = None
        p = config.table_prefix
        self._sql_admit = (
            f"SELECT * FROM {p}admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        self._queue: list[_Job] = []
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._sql_settle = f"SELECT {p}settle($1, $2, $3)"
        self._sql_expire = f"SELECT {p}expire($1, $2)"
        self._sql_counter = (
            f"SELECT tokens_used, cost_used, tokens_reserved, cost_reserved FROM {p}counters "
            "WHERE bkey = $1 AND window_start = $2"
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (a failure is not fatal: the ledger keeps retrying) and start housekeeping."""
        with contextlib.suppress(StoreUnavailable):
            await self._get_pool()
            await self._refresh_policies()
        self._housekeeper = asyncio.create_task(self._housekeeping(), name="budget-housekeeping")

    async def close(self) -> None:
        """Stop housekeeping, let queued admits finish, close the pool."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeper
            self._housekeeper = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _get_pool(self) -> Any:
        if self._pool is not None:
            return self._pool
        now = time.monotonic()
        if now < self._next_attempt:
            raise StoreUnavailable(self.last_error or "budget store unreachable")
        async with self._pool_lock:
            if self._pool is not None:
                return self._pool
            cfg = self.config
            try:
                pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=cfg.pool_min_size,
                    max_size=cfg.pool_max_size,
                    timeout=cfg.connect_timeout_s,
                    command_timeout=cfg.statement_timeout_s,
                    server_settings={
                        "application_name": self.application_name,
                        "synchronous_commit": "on" if cfg.synchronous_commit else "off",
                    },
                )
                if not self._schema_ready:
                    async with pool.acquire() as conn:
                        await conn.execute(
                            "SELECT pg_advisory_lock(hashtext($1))", cfg.table_prefix + "ddl"
                        )
                        try:
                            await conn.execute(schema_sql(cfg.table_prefix))
                        finally:
                            await conn.execute(
                                "SELECT pg_advisory_unlock(hashtext($1))", cfg.table_prefix + "ddl"
                            )
                    self._schema_ready = True
            except _CONNECTION_ERRORS as exc:
                raise self._down(exc) from exc
            self._pool = pool
            self.connected = True
            self.last_error = None
            return pool

    def _down(self, exc: BaseException) -> StoreUnavailable:
        """Record a store failure; returns the :class:`StoreUnavailable` to raise."""
        self.connected = False
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.counters["store_errors"] += 1
        self._next_attempt = time.monotonic() + self.config.retry_interval_s
        return StoreUnavailable(self.last_error)

    async def _failed(self, pool: Any, exc: BaseException) -> StoreUnavailable:
        """:meth:`_down`; after a lost connection, also replace the pool's other connections.

        They are likely gone too (a restart, a failover, every backend terminated), and asyncpg
        finds that out only by failing a statement on each: expiring them makes recovery cost
        one failed statement instead of one per pooled connection.
        """
        if isinstance(exc, _LOST_CONNECTION_ERRORS):
            await pool.expire_connections()
        return self._down(exc)

    async def _call(self, method: str, sql: str, *args: Any) -> Any:
        """Run one statement; connection failures become :class:`StoreUnavailable`."""
        pool = await self._get_pool()
        try:
            result = await getattr(pool, method)(sql, *args)
        except _CONNECTION_ERRORS as exc:
            raise await self._failed(pool, exc) from exc
        self.connected = True
        return result

    # -- the protocol --------------------------------------------------------------------------

    async def admit(self, request: AdmitRequest) -> Decision:
        """Reserve on every applicable budget, all or none; concurrent admits of this process
        are decided together in one statement (in arrival order), up to 64 at a time."""
        now = self.clock()
        self.counters["admits"] += 1
        slots = self.slots(request, now)
        if not slots:
            self.counters["granted"] += 1
            return Decision(allowed=True)
        job = _Job(slots, request.tokens, to_nano(request.cost_usd), new_reservation_id(), now)
        self._queue.append(job)
        if self._inflight < self.config.max_inflight_batches:
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            return await job.future
        except StoreUnavailable:
            if self.config.fail_policy == "fail_closed":
                raise
            self.counters["fail_open_admits"] += 1
            return Decision(allowed=True, degraded=True)

    async def _drain(self) -> None:
        """Decide queued admits batch by batch until the queue is empty.

        Every job taken is resolved whatever happens: with its decision, or with
        :class:`StoreUnavailable` (so the fail policy applies) when the store or the driver
        fails in any way, even with an exception type nobody foresaw, or when this task is
        cancelled. An admit never waits on a drain task that has died.
        """
        batch: list[_Job] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:_BATCH], self._queue[_BATCH:]
                try:
                    await self._decide(batch)
                except StoreUnavailable as exc:
                    self._fail(batch, str(exc))
                except Exception as exc:
                    log.exception("budget admit batch failed")
                    self._fail(batch, str(self._down(exc)))
        finally:
            self._inflight -= 1
            self._fail(batch, "budget admit cancelled")
            if self._inflight == 0:  # cancelled with admits still queued: no drain is left
                queued, self._queue = self._queue, []
                self._fail(queued, "budget admit cancelled")

    @staticmethod
    def _fail(jobs: list[_Job], reason: str) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(StoreUnavailable(reason))

    async def _decide(self, batch: list[_Job]) -> None:
        rows = await self._call("fetch", self._sql_admit, *self._batch_args(batch))
        retry: list[tuple[_Job, Any]] = []
        for job, row in zip(batch, rows, strict=True):
            if row["failed"] and not job.retried:
                retry.append((job, row))
            else:
                self._resolve(job, row)
        if not retry:
            return
        # Holds past their TTL may still be counted: release them, then decide again.
        released = await self._call("fetchval", self._sql_expire, retry[0][0].now, 1000)
        self.counters["expired"] += released
        if released:
            jobs = [job for job, _ in retry]
            for job in jobs:
                job.retried = True
            fresh = await self._call("fetch", self._sql_admit, *self._batch_args(jobs))
            retry = list(zip(jobs, fresh, strict=True))
        for job, row in retry:
            self._resolve(job, row)

    def _resolve(self, job: _Job, row: Any) -> None:
        counts: list[Counts] = list(zip(row["tu"], row["cu"], row["tr"], row["cr"], strict=True))
        failed = row["failed"]
        if failed:
            decision = self.denied(
                job.slots[failed - 1], counts[-1], job.est_t, job.est_c, job.now, row["oldest"]
            )
        else:
            decision = self.granted(job.rid, job.slots, counts, job.est_t, job.est_c)
        if not job.future.done():
            job.future.set_result(decision)

    def _batch_args(self, batch: list[_Job]) -> tuple[Any, ...]:
        budgets: dict[tuple[str, float], int] = {}
        for job in batch:
            for s in job.slots:
                budgets.setdefault((s.applied.key, s.start), 0)
        order = sorted(budgets)
        by_key: dict[tuple[str, float], Slot] = {}
        for job in batch:
            for s in job.slots:
                by_key[(s.applied.key, s.start)] = s
        for i, bk in enumerate(order, start=1):
            budgets[bk] = i
        slots = [by_key[bk] for bk in order]
        rb: list[int] = []
        ro: list[int] = []
        for job in batch:
            ro.append(len(rb) + 1)
            rb.extend(budgets[(s.applied.key, s.start)] for s in job.slots)
        ro.append(len(rb) + 1)
        now = max(job.now for job in batch)
        return (
            [s.applied.key for s in slots],
            [s.start for s in slots],
            [s.end for s in slots],
            [s.rolling_s for s in slots],
            [-1 if s.applied.policy.max_tokens is None else s.applied.policy.max_tokens
             for s in slots],
            [-1 if (c := limit_nano(s.applied.policy)) is None else c for s in slots],
            rb,
            ro,
            [job.est_t for job in batch],
            [job.est_c for job in batch],
            [job.rid for job in batch],
            now,
            now + self.config.reservation_ttl_s,
        )  # fmt: skip

    async def settle(self, reservation_id: str, actual_tokens: int, actual_cost_usd: float) -> bool:
        """Charge the actual usage once (False for unknown or already settled ids)."""
        done = await self._call(
            "fetchval", self._sql_settle, reservation_id, actual_tokens, to_nano(actual_cost_usd)
        )
        if done:
            self.counters["settles"] += 1
        else:
            self.counters["settle_duplicates"] += 1
        return bool(done)

    async def usage(self, scope: Scope, id_: str, model: str | None = None) -> Usage:
        now = self.clock()
        applied = self.lookup(scope, id_, model)
        start, _ = self.windows.bounds(applied.window, now)
        if applied.window.rolling:
            p = self.config.table_prefix
            pool = await self._get_pool()
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(
                        f"SELECT 1 FROM {p}counters WHERE bkey = $1 AND window_start = -1 "
                        "FOR UPDATE",
                        applied.key,
                    )
                    await conn.execute(
                        f"SELECT {p}age($1, $2)", applied.key, now - applied.window.seconds
                    )
                    row = await conn.fetchrow(self._sql_counter, applied.key, start)
            except _CONNECTION_ERRORS as exc:
                raise await self._failed(pool, exc) from exc
        else:
            row = await self._call("fetchrow", self._sql_counter, applied.key, start)
        counts: Counts = tuple(row) if row is not None else (0, 0, 0, 0)
        return self.make_usage(applied, counts, now)

    async def put_policy(self, scope: Scope, id_: str, policy: BudgetPolicy) -> None:
        """Store a policy for every sidecar (each reloads within ``housekeeping_interval_s``)."""
        self._policies.put(scope, id_, policy)  # validates the id before it is stored
        await self._call(
            "execute",
            f"INSERT INTO {self.config.table_prefix}policies VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (scope, id, model) DO UPDATE SET body = EXCLUDED.body",
            scope,
            id_,
            policy.model or "",
            msgspec.json.encode(policy).decode(),
        )

    async def delete_policy(self, scope: Scope, id_: str, model: str | None = None) -> bool:
        status = await self._call(
            "execute",
            f"DELETE FROM {self.config.table_prefix}policies "
            "WHERE scope = $1 AND id = $2 AND model = $3",
            scope,
            id_,
            model or "",
        )
        await self._refresh_policies()
        return bool(status != "DELETE 0")

    async def expire(self) -> int:
        n = int(await self._call("fetchval", self._sql_expire, self.clock(), 1000))
        self.counters["expired"] += n
        return n

    def stats(self) -> dict[str, int]:
        return dict(self.counters)

    async def open_reservations(self) -> int:
        """Open reservations in the shared store (all sidecars)."""
        p = self.config.table_prefix
        return int(
            await self._call("fetchval", f"SELECT count(*) FROM {p}reservations WHERE state = 0")
        )

    def status(self) -> dict[str, Any]:
        return {
            "backend": "postgresql",
            "connected": self.connected,
            "fail_policy": self.config.fail_policy,
            "last_error": self.last_error,
        }

    # -- housekeeping --------------------------------------------------------------------------

    async def _refresh_policies(self) -> None:
        rows = await self._call(
            "fetch", f"SELECT scope, id, body FROM {self.config.table_prefix}policies"
        )
        fresh = PolicySet(self._config_policies.entries())
        for r in rows:
            fresh.put(r["scope"], r["id"], msgspec.json.decode(r["body"], type=BudgetPolicy))
        self._policies.replace_all(fresh)

    async def _housekeeping(self) -> None:
        p = self.config.table_prefix
        while True:
            await asyncio.sleep(self.config.housekeeping_interval_s)
            now = self.clock()
            try:
                await self._refresh_policies()
                await self.expire()
                await self._call(
                    "execute",
                    f"DELETE FROM {p}reservations WHERE state = 2 AND expires_at < $1",
                    now - self.config.late_settle_s,
                )
                await self._call(
                    "execute",
                    f"DELETE FROM {p}counters WHERE window_end < $1",
                    now - self.config.counter_retention_s,
                )
            except StoreUnavailable as exc:
                log.warning("budget housekeeping skipped: %s", exc)
