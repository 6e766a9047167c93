"""The PostgreSQL ledger: one budget, exact across any number of sidecars.

Every admit is one call of a PL/pgSQL function (``{p}admit1`` with scalar arguments for one
admit on one budget, else ``{p}admit``) through raw asyncpg (a prepared statement,
one round trip, one transaction, on a connection kept between admits; the pool sends no reset
query on release, as the ledger leaves no session state): it checks that the caller's
policies are current, locks the counter rows of the applicable budgets in key order, checks
``used + reserved + estimate <= cap`` on every one and only then reserves on all (see
:mod:`sidecar.budgets.pg_schema`).
PostgreSQL's row locks serialise admits of one budget across processes, so granted reservations
never exceed a cap: 3 sidecars firing 300 admits of 1,000 tokens at a 100,000-token budget grant
exactly 100. Counter rows are keyed by (budget, window_start), so a window resets on every
replica by its own clock, with no job.

Limits bind where the decision is made: a policy PUT or DELETE bumps ``{prefix}policy_version``
in its own statement, and every admit (and direct charge) statement compares the version its
caller decided with; on a mismatch the statement decides nothing, the caller reloads the
policies (one query, reading only the rows written since the version it held, so the cost is
that of the changes, not of every policy) and decides again. So once a PUT or DELETE is
acknowledged by any replica, every admit that starts afterwards on any replica is decided
under it. Admits to which no
budget applies go through the statement too (one batched round trip), since a PUT elsewhere may
have given them one.

Concurrent admits of one process are decided together: up to 64 in one statement, in
arrival order, each still all-or-none on its own budgets; so a single hot budget is not limited
to one row-lock round trip per admit (figures in docs/benchmarks.md). A statement that fails
for another reason than a lost connection is retried admit by admit, so one bad request
(422) never decides the others of its batch.

When PostgreSQL is unreachable: ``fail_open`` allows and counts (``fail_open_admits``),
``fail_closed`` raises :class:`StoreUnavailable` (HTTP 503): every waiting admit is answered.
After a lost connection the pool's connections are replaced; a lost pool is recreated at most
every ``retry_interval_s``, so recovery needs no restart. Charges (settles, charged events)
raise :class:`StoreUnavailable`; the settler keeps them and retries, and a resent event is
charged once.

Long module: it holds the PL/pgSQL admit function and the one asyncpg connection that runs it,
its settles, expiry and policy refresh; split apart they would share the connection's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import msgspec

from sidecar.budgets.config import BudgetPolicy, BudgetsConfig, Scope
from sidecar.budgets.consistency import ConsistencyReport, check_postgres
from sidecar.budgets.ledger import (
    MAX_RELEASES,
    Clock,
    Counts,
    LedgerCore,
    Pricer,
    Release,
    Slot,
    check_charge,
    check_request,
    check_text,
    limit_nano,
    new_reservation_id,
)
from sidecar.budgets.model import (
    AdmitRequest,
    AnyTenant,
    Charge,
    Decision,
    InvalidBudgetInput,
    Outcome,
    StoreUnavailable,
    Usage,
    to_nano,
)
from sidecar.budgets.pg_schema import install_schema
from sidecar.budgets.policies import SEP, PolicySet, is_legacy_key, upgrade_key
from sidecar.store.urls import asyncpg_dsn

log = logging.getLogger(__name__)
_BATCH = 64
POLICY_DELETIONS_KEPT_S = 86_400.0  # a replica offline longer than this reloads every policy
_POLICY = msgspec.json.Decoder(BudgetPolicy)
_STALE_ROUNDS = 4


class _Job:
    """One admit waiting for its batch."""

    __slots__ = ("est_c", "est_t", "future", "now", "request", "retried", "rid", "slots",
                 "version")  # fmt: skip

    def __init__(
        self, request: AdmitRequest, slots: list[Slot], rid: str, now: float, version: int
    ) -> None:
        self.request, self.slots, self.rid, self.now = request, slots, rid, now
        self.est_t, self.est_c = request.tokens, to_nano(request.cost_usd)
        self.version = version
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
_BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = ()
if asyncpg is not None:
    _LOST_CONNECTION_ERRORS += (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.ConnectionFailureError,
    )
    _BAD_INPUT_ERRORS = (asyncpg.DataError,)
# Errors that mean "the store is not reachable": a lost connection or a statement timeout.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *_LOST_CONNECTION_ERRORS,
    asyncio.TimeoutError,
)


async def _keep_session(conn: Any) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own rollback of an open transaction.

    The ledger leaves no session state on a connection (no SET, LISTEN, cursor or session
    advisory lock: its locks are transaction-scoped), so asyncpg's default reset query would be
    a round trip per statement that changes nothing (about 0.1 ms of every admit)."""


def decode_policy(body: str) -> BudgetPolicy:
    return _POLICY.decode(body)


class _Stale(Exception):
    """The policy version changed under a statement: reload and decide again."""


class PostgresLedger(LedgerCore):
    """:class:`~sidecar.budgets.ledger.BudgetLedger` on PostgreSQL via raw asyncpg."""

    def __init__(
        self, config: BudgetsConfig, dsn: str, clock: Clock = time.time,
        pricer: Pricer | None = None,
    ) -> None:  # fmt: skip
        if asyncpg is None:
            raise RuntimeError("the PostgreSQL ledger needs asyncpg (pip install asyncpg)")
        super().__init__(config, clock, pricer)
        self.dsn = asyncpg_dsn(dsn)
        self.application_name = f"agent-sidecar {config.table_prefix}ledger"
        self._config_policies = PolicySet(config.policies)
        self._version: int = -1  # the policy version self._policies reflects (-1: never read)
        self._refresh_lock = asyncio.Lock()
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        self._next_attempt = 0.0
        self._schema_ready = False
        self.connected = False
        self.last_error: str | None = None
        self._housekeeper: asyncio.Task[None] | None = None
        self._open_counted = 0  # open reservations of every sidecar, at the last count
        p = config.table_prefix
        self._sql_admit = (
            f"SELECT * FROM {p}admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
            "$14, $15, $16, $17)"
        )
        self._sql_admit_one = (
            f"SELECT * FROM {p}admit1($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
            "$14, $15)"
        )
        self._sql_charge = (
            f"SELECT {p}charge($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
            "$15, $16, $17)"
        )
        self._queue: list[_Job] = []
        self._inflight = 0
        # Connections kept for admit statements between admits (see _admit_statement).
        self._spare: list[tuple[Any, Any]] = []  # (pool, connection)
        self._spare_max = min(config.max_inflight_batches, config.pool_max_size - 1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._sql_expire = f"SELECT {p}expire($1, $2)"
        self._sql_changes = (
            f"SELECT v.version, v.pruned, c.scope, c.id, c.model, c.body FROM {p}policy_version v "
            f"LEFT JOIN (SELECT scope, id, model, body FROM {p}policies WHERE ver > $1 UNION ALL "
            f"SELECT scope, id, model, NULL FROM {p}policy_deletions WHERE ver > $1 AND $1 >= 0) "
            "c ON true WHERE v.id = 1"
        )
        self._sql_counter = (
            f"SELECT tokens_used, cost_used, tokens_reserved, cost_reserved FROM {p}counters "
            "WHERE bkey = $1 AND window_start = $2"
        )

    def use_config_policies(self, entries: list[Any]) -> None:
        super().use_config_policies(entries)
        self._config_policies = PolicySet(entries)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (a failure is not fatal: the ledger keeps retrying) and start housekeeping."""
        with contextlib.suppress(StoreUnavailable):
            await self._get_pool()
            await self._refresh_policies()
            await self._upgrade_legacy_keys()
        self._housekeeper = asyncio.create_task(self._housekeeping(), name="budget-housekeeping")

    async def close(self) -> None:
        """Stop housekeeping, let queued admits finish (at most about 3 s), close the pool."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=3.0)
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeper
            self._housekeeper = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            spares, self._spare = self._spare, []
            for owner, conn in spares:
                with contextlib.suppress(Exception):
                    await owner.release(conn)
            try:
                await asyncio.wait_for(pool.close(), 3.0)
            except (TimeoutError, Exception):
                pool.terminate()

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
                    reset=_keep_session,
                )
                if not self._schema_ready:
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(
                            "SELECT pg_advisory_xact_lock(hashtext($1))", cfg.table_prefix + "ddl"
                        )
                        await install_schema(conn, cfg.table_prefix)
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
        self.last_error = f"{type(exc).__name__}: {exc}"[:500]
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
            self._drop_spares()
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

    # -- admit ---------------------------------------------------------------------------------

    async def admit(self, request: AdmitRequest) -> Decision:
        """Reserve on every applicable budget, all or none; concurrent admits of this process
        are decided together in one statement (in arrival order), up to 64 at a time."""
        now = self.clock()
        self.counters["admits"] += 1
        check_request(request)
        job = _Job(request, self.slots(request, now), new_reservation_id(), now, self._version)
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

        Every job taken is resolved whatever happens: with its decision, with
        :class:`StoreUnavailable` (so the fail policy applies) when the store fails, or with
        :class:`InvalidBudgetInput` when the database refuses that admit's own values. A batch
        failing otherwise is decided again admit by admit, so only the bad admit fails. An admit
        never waits on a drain task that has died.
        """
        batch: list[_Job] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:_BATCH], self._queue[_BATCH:]
                try:
                    await self._decide(batch)
                except StoreUnavailable as exc:
                    self._fail(batch, StoreUnavailable(str(exc)))
                except Exception as exc:
                    if len(batch) == 1:
                        self._fail(batch, self._classify(exc))
                    else:
                        await self._decide_each(batch)
        finally:
            self._inflight -= 1
            self._fail(batch, StoreUnavailable("budget admit cancelled"))
            if self._inflight == 0:  # cancelled with admits still queued: no drain is left
                queued, self._queue = self._queue, []
                self._fail(queued, StoreUnavailable("budget admit cancelled"))

    async def _decide_each(self, batch: list[_Job]) -> None:
        for job in batch:
            if job.future.done():
                continue
            try:
                await self._decide([job])
            except StoreUnavailable as exc:
                self._fail([job], StoreUnavailable(str(exc)))
            except Exception as exc:
                self._fail([job], self._classify(exc))

    def _classify(self, exc: BaseException) -> Exception:
        """The answer for one admit whose statement failed on its own."""
        if isinstance(exc, _BAD_INPUT_ERRORS):
            return InvalidBudgetInput("body", f"the budget store refused this request: {exc}")
        log.error("budget admit failed: %s", type(exc).__name__)  # no values in logs
        return StoreUnavailable(str(self._down(exc)))

    @staticmethod
    def _fail(jobs: list[_Job], error: Exception) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(error)

    async def _decide(self, batch: list[_Job]) -> None:
        pending = batch
        for _ in range(_STALE_ROUNDS):
            try:
                rows = await self._admit_rows(pending)
            except _Stale:
                await self._refresh_policies()
                continue
            retry: list[tuple[_Job, Any]] = []
            for job, row in zip(pending, rows, strict=True):
                if row["failed"] and not job.retried:
                    retry.append((job, row))
                else:
                    await self._resolve(job, row)
            if not retry:
                return
            # Holds past their TTL may still be counted: release them, then decide again. Also
            # when this call released none: another replica's expire may have released them
            # after the admit above decided (expire runs one at a time, so it has committed).
            released = await self._call("fetchval", self._sql_expire, retry[0][0].now, 1000)
            self.counters["expired"] += released
            pending = [job for job, _ in retry]
            for job in pending:
                job.retried = True
        raise StoreUnavailable("budget policies kept changing during the admit")

    async def _admit_rows(self, batch: list[_Job]) -> list[Any]:
        for job in batch:
            if job.version != self._version:  # policies reloaded since: decide under them
                job.slots = self.slots(job.request, job.now)
                job.version = self._version
        rows = await self._admit_statement(*self._admit_call(batch))
        if rows and rows[0]["failed"] == -1:
            raise _Stale
        return list(rows)

    async def _admit_statement(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """Run an admit statement on a connection kept between admits: up to
        ``max_inflight_batches`` of them (always leaving one of the pool to the other
        statements), which saves the pool's acquire and release on every admit."""
        pool = await self._get_pool()
        conn = None
        try:
            while self._spare and conn is None:
                owner, kept = self._spare.pop()
                if owner is pool:
                    conn = kept
                else:  # kept from a pool the ledger no longer uses
                    with contextlib.suppress(Exception):
                        await owner.release(kept)
            if conn is None:
                conn = await pool.acquire()
            rows = await conn.fetch(sql, *args)
        except BaseException as exc:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await pool.release(conn)  # the pool waits out a cancel, drops a lost one
            if isinstance(exc, _CONNECTION_ERRORS):
                raise await self._failed(pool, exc) from exc
            raise
        if len(self._spare) < self._spare_max and pool is self._pool:
            self._spare.append((pool, conn))
        else:
            await pool.release(conn)
        self.connected = True
        return list(rows)

    def _drop_spares(self) -> None:
        """Close the kept admit connections (each returns its place to its pool)."""
        spares, self._spare = self._spare, []
        for _, conn in spares:
            conn.terminate()

    async def _resolve(self, job: _Job, row: Any) -> None:
        failed = row["failed"]
        if not job.slots:
            self.counters["granted"] += 1
            decision = Decision(allowed=True)
        elif failed:
            counts: Counts = (row["tu"][-1], row["cu"][-1], row["tr"][-1], row["cr"][-1])
            slot = job.slots[failed - 1]
            releases: list[Release] = []
            if self.needs_releases(slot, counts, job.est_t, job.est_c):
                releases = await self._releases(slot, job.now)
            retry = self.retry_at(slot, counts, job.est_t, job.est_c, job.now, lambda: releases)
            decision = self.denied(slot, counts, job.est_t, job.est_c, job.now, retry)
        else:
            after: list[Counts] = list(zip(row["tu"], row["cu"], row["tr"], row["cr"], strict=True))
            decision = self.granted(job.rid, job.slots, after, job.est_t, job.est_c)
        if not job.future.done():
            job.future.set_result(decision)

    async def _releases(self, slot: Slot, now: float) -> list[Release]:
        """The budget's holds in the order they let go (for ``retry_after_s``)."""
        p, key = self.config.table_prefix, slot.applied.key
        try:
            if slot.applied.window.rolling:
                rows = await self._call(
                    "fetch",
                    f"SELECT h.ts + $2 AS aged, h.tokens, h.cost, h.settled, r.expires_at "
                    f"FROM {p}holds h LEFT JOIN {p}reservations r ON r.rid = h.rid "
                    "AND r.state = 0 WHERE h.bkey = $1 ORDER BY h.ts LIMIT $3",
                    key, slot.rolling_s, MAX_RELEASES,
                )  # fmt: skip
                out = [
                    (r["aged"] if r["settled"] or r["expires_at"] is None
                     else min(r["aged"], r["expires_at"]), r["tokens"], r["cost"])
                    for r in rows
                ]  # fmt: skip
                out.sort()
                return out
            rows = await self._call(
                "fetch",
                f"SELECT expires_at, tokens, cost FROM {p}reservations WHERE state = 0 "
                "AND expires_at > $3 AND EXISTS (SELECT 1 FROM unnest(bkeys, wstarts) AS u(k, w) "
                "WHERE u.k = $1 AND u.w = $2) ORDER BY expires_at LIMIT $4",
                key, slot.start, now, MAX_RELEASES,
            )  # fmt: skip
        except StoreUnavailable:
            return []
        return [(r["expires_at"], r["tokens"], r["cost"]) for r in rows]

    def _admit_call(self, batch: list[_Job]) -> tuple[str, tuple[Any, ...]]:
        """The statement deciding ``batch`` and its arguments: ``{p}admit1`` for one admit on
        one budget (the common case, a third cheaper on the server), else ``{p}admit``."""
        if len(batch) == 1 and len(batch[0].slots) == 1:
            return self._sql_admit_one, self._one_args(batch[0])
        return self._sql_admit, self._batch_args(batch)

    def _one_args(self, job: _Job) -> tuple[Any, ...]:
        """The arguments of ``{p}admit1``: one admit on one budget."""
        [s] = job.slots
        policy = s.applied.policy
        return (
            s.applied.key, s.start, s.end, s.rolling_s,
            -1 if policy.max_tokens is None else policy.max_tokens,
            -1 if (c := limit_nano(policy)) is None else c,
            job.est_t, job.est_c, job.rid, job.now, job.now + self.config.reservation_ttl_s,
            self._version, job.request.tenant, job.request.user_id, job.request.model,
        )  # fmt: skip

    def _batch_args(self, batch: list[_Job]) -> tuple[Any, ...]:
        budgets: dict[tuple[str, float], int] = {}
        by_key: dict[tuple[str, float], Slot] = {}
        for job in batch:
            for s in job.slots:
                budgets.setdefault((s.applied.key, s.start), 0)
                by_key[(s.applied.key, s.start)] = s
        order = sorted(budgets)
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
            self._version,
            [job.request.tenant for job in batch],
            [job.request.user_id for job in batch],
            [job.request.model for job in batch],
        )  # fmt: skip

    # -- charge --------------------------------------------------------------------------------

    async def charge(self, charges: Sequence[Charge]) -> list[Outcome]:
        """Charge each once (see :class:`~sidecar.budgets.model.Charge`) in one statement; a
        statement failing on one charge's values is retried charge by charge (that one is
        then answered UNKNOWN and counted in ``charge_rejected``)."""
        for c in charges:
            check_charge(c)
        if not charges:
            return []
        try:
            return await self._charge(charges)
        except StoreUnavailable:
            raise
        except Exception:
            if len(charges) == 1:
                raise
        out: list[Outcome] = []
        for c in charges:
            try:
                out.extend(await self._charge([c]))
            except StoreUnavailable:
                raise
            except Exception as exc:
                log.error("budget charge refused: %s", type(exc).__name__)
                self.counters["charge_rejected"] = self.counters.get("charge_rejected", 0) + 1
                out.append(Outcome.UNKNOWN)
        return out

    async def _charge(self, charges: Sequence[Charge]) -> list[Outcome]:
        now = self.clock()
        models = await self._reservation_models(charges)
        for _ in range(_STALE_ROUNDS):
            args = self._charge_args(charges, now, models)
            out = await self._call("fetchval", self._sql_charge, *args)
            if out == [-1]:
                await self._refresh_policies()
                continue
            outcomes = [Outcome(o) for o in out]
            for o in outcomes:
                if o == Outcome.SETTLED:
                    self.counters["settles"] += 1
                elif o == Outcome.CHARGED:
                    self.counters["charged_direct"] += 1
                elif o in (Outcome.DUPLICATE, Outcome.UNKNOWN):
                    self.counters["settle_duplicates"] += 1
            return outcomes
        raise StoreUnavailable("budget policies kept changing during the charge")

    async def _reservation_models(self, charges: Sequence[Charge]) -> dict[str, str | None]:
        """The model of each named reservation whose charge must be priced here."""
        rids = [c.reservation_id for c in charges if c.reservation_id and c.cost_usd is None]
        if not rids:
            return {}
        rows = await self._call(
            "fetch",
            f"SELECT rid, model FROM {self.config.table_prefix}reservations WHERE rid = ANY($1)",
            rids,
        )
        return {r["rid"]: r["model"] for r in rows}

    def _charge_args(
        self, charges: Sequence[Charge], now: float, models: dict[str, str | None]
    ) -> tuple[Any, ...]:
        per: list[list[Slot]] = [self.charge_slots(c, now) if c.direct else [] for c in charges]
        budgets: dict[tuple[str, float], Slot] = {}
        for slots in per:
            for s in slots:
                budgets[(s.applied.key, s.start)] = s
        order = sorted(budgets)
        index = {bk: i for i, bk in enumerate(order, start=1)}
        rb: list[int] = []
        ro: list[int] = []
        for slots in per:
            ro.append(len(rb) + 1)
            rb.extend(index[(s.applied.key, s.start)] for s in slots)
        ro.append(len(rb) + 1)
        costs = []
        for c in charges:
            model = c.model
            if c.reservation_id and c.reservation_id in models:
                model = models[c.reservation_id]
            costs.append(self.cost_nano(c, model))
        return (
            [c.charge_id for c in charges],
            [c.reservation_id for c in charges],
            [None if isinstance(c.tenant, AnyTenant) else c.tenant for c in charges],
            [isinstance(c.tenant, AnyTenant) for c in charges],
            [c.direct for c in charges],
            [c.tokens for c in charges],
            costs,
            [budgets[bk].applied.key for bk in order],
            [budgets[bk].start for bk in order],
            [budgets[bk].end for bk in order],
            [budgets[bk].rolling_s for bk in order],
            rb,
            ro,
            now,
            self.config.late_settle_s,
            self._version,
            [c.usage_unknown for c in charges],
        )

    # -- reads and policies --------------------------------------------------------------------

    async def usage(self, scope: Scope, id_: str, model: str | None = None) -> Usage:
        """Usage of the current window under the policies in force now (expired holds
        released first)."""
        await self._sync_policies()
        now = self.clock()
        applied = self.lookup(scope, id_, model)
        start, _ = self.windows.bounds(applied.window, now)
        self.counters["expired"] += int(await self._call("fetchval", self._sql_expire, now, 1000))
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
        """Store a policy; once this returns, every admit on every sidecar is decided under it."""
        check_text("id", id_)
        self.check_policy_room(scope, id_, policy.model)
        check = PolicySet()
        check.put(scope, id_, policy)  # validates the id before it is stored
        p = self.config.table_prefix
        # The version row is locked first, so versions are given in commit order and a replica
        # that has read version v has seen every row written at v or before.
        await self._call(
            "fetchval",
            f"WITH v AS (UPDATE {p}policy_version SET version = version + 1 WHERE id = 1 "
            f"RETURNING version), up AS (INSERT INTO {p}policies (scope, id, model, body, ver) "
            "SELECT $1, $2, $3, $4, version FROM v ON CONFLICT (scope, id, model) DO UPDATE "
            "SET body = EXCLUDED.body, ver = EXCLUDED.ver RETURNING 1), "
            f"gone AS (DELETE FROM {p}policy_deletions WHERE scope = $1 AND id = $2 "
            "AND model = $3) SELECT version FROM v",
            scope, id_, policy.model or "", msgspec.json.encode(policy).decode(),
        )  # fmt: skip
        await self._refresh_policies()

    async def delete_policy(self, scope: Scope, id_: str, model: str | None = None) -> bool:
        check_text("id", id_)
        p = self.config.table_prefix
        removed = await self._call(
            "fetchval",
            f"WITH d AS (DELETE FROM {p}policies WHERE scope = $1 AND id = $2 AND model = $3 "
            f"RETURNING 1), v AS (UPDATE {p}policy_version SET version = version + 1 "
            "WHERE id = 1 AND EXISTS (SELECT 1 FROM d) RETURNING version), "
            f"t AS (INSERT INTO {p}policy_deletions SELECT $1, $2, $3, version, $4 FROM v "
            "ON CONFLICT (scope, id, model) DO UPDATE SET ver = EXCLUDED.ver, at = EXCLUDED.at) "
            "SELECT count(*) FROM d",
            scope, id_, model or "", self.clock(),
        )  # fmt: skip
        await self._refresh_policies()
        return bool(removed)

    async def current_policies(self) -> list[Any]:
        await self._sync_policies()
        return self._policies.entries()

    async def expire(self) -> int:
        n = int(await self._call("fetchval", self._sql_expire, self.clock(), 1000))
        self.counters["expired"] += n
        return n

    async def check_consistency(self) -> ConsistencyReport:
        pool = await self._get_pool()
        now = self.clock()
        await self.expire()
        try:
            async with pool.acquire() as conn:
                return await check_postgres(conn, self.config.table_prefix, now)
        except _CONNECTION_ERRORS as exc:
            raise await self._failed(pool, exc) from exc

    def stats(self) -> dict[str, int]:
        """Counters of this sidecar; ``open_reservations`` is every sidecar's, as counted at
        the last housekeeping round (or the last :meth:`open_reservations` call)."""
        return {**self.counters, "open_reservations": self._open_counted}

    async def open_reservations(self) -> int:
        """Open reservations in the shared store (all sidecars)."""
        p = self.config.table_prefix
        self._open_counted = int(
            await self._call("fetchval", f"SELECT count(*) FROM {p}reservations WHERE state = 0")
        )
        return self._open_counted

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": "postgresql",
            "connected": self.connected,
            "fail_policy": self.config.fail_policy,
            "last_error": self.last_error,
            # Under fail_open an unreachable ledger store still admits: ready, but degraded.
            "healthy": self.connected or self.config.fail_policy == "fail_open",
        }
        if not self.connected:
            out["reason"] = f"budget store unreachable: {self.last_error}"
        return out

    # -- housekeeping --------------------------------------------------------------------------

    async def _upgrade_legacy_keys(self) -> None:
        """Counter keys written by an earlier version get the window of the policy governing
        them now; what a calendar counter had used becomes an opening balance of its charge
        totals (one transaction, under the DDL lock, once)."""
        p, pool = self.config.table_prefix, await self._get_pool()
        pattern = f"%{SEP}%{SEP}%{SEP}%"
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", p + "ddl")
            rows = await conn.fetch(
                f"SELECT bkey FROM {p}counters WHERE bkey NOT LIKE $1 UNION "
                f"SELECT bkey FROM {p}holds WHERE bkey NOT LIKE $1 UNION "
                f"SELECT k FROM {p}reservations, unnest(bkeys) AS k WHERE k NOT LIKE $1",
                pattern,
            )
            legacy = [r[0] for r in rows if is_legacy_key(r[0])]
            for old in legacy:
                new = upgrade_key(old, self._policies)
                await conn.execute(
                    f"INSERT INTO {p}charge_totals SELECT $2, window_start, tokens_used, "
                    f"cost_used, 0 FROM {p}counters WHERE bkey = $1 AND window_start <> -1 "
                    "ON CONFLICT DO NOTHING", old, new,
                )  # fmt: skip
                for table in ("counters", "holds"):
                    col = "window_start" if table == "counters" else "rid"
                    await conn.execute(
                        f"UPDATE {p}{table} t SET bkey = $2 WHERE bkey = $1 AND NOT EXISTS "
                        f"(SELECT 1 FROM {p}{table} d WHERE d.bkey = $2 AND d.{col} = t.{col})",
                        old, new,
                    )  # fmt: skip
                    await conn.execute(f"DELETE FROM {p}{table} WHERE bkey = $1", old)
                await conn.execute(
                    f"UPDATE {p}reservations SET bkeys = array_replace(bkeys, $1, $2) "
                    "WHERE $1 = ANY(bkeys)", old, new,
                )  # fmt: skip
            if legacy:
                log.info("budget ledger: %d counter keys upgraded to name their window",
                         len(legacy))  # fmt: skip

    async def _sync_policies(self) -> None:
        """Reload the policies when another replica changed them (one small query)."""
        p = self.config.table_prefix
        version = await self._call(
            "fetchval", f"SELECT version FROM {p}policy_version WHERE id = 1"
        )
        if version != self._version:
            await self._refresh_policies()

    async def _refresh_policies(self) -> None:
        """Apply the policy changes written since the version held (all of them the first
        time, or when deletions this replica has not seen were pruned): O(changes)."""
        async with self._refresh_lock:
            since = self._version
            rows = await self._call("fetch", self._sql_changes, since)
            if since >= 0 and rows and int(rows[0]["pruned"]) > since:
                since = -1
                rows = await self._call("fetch", self._sql_changes, since)
            if not rows:
                return
            if since < 0:
                fresh = PolicySet(self._config_policies.entries())
                for r in rows:
                    if r["scope"] is not None and r["body"] is not None:
                        fresh.put(r["scope"], r["id"], decode_policy(r["body"]))
                self._policies.replace_all(fresh)
            else:
                for r in rows:
                    if r["scope"] is not None:
                        self._apply_change(r["scope"], r["id"], r["model"] or None, r["body"])
            self._version = int(rows[0]["version"])

    def _apply_change(self, scope: Any, id_: str, model: str | None, body: str | None) -> None:
        if body is not None:
            self._policies.put(scope, id_, decode_policy(body))
            return
        configured = self._config_policies.exact(scope, id_, model)
        if configured is not None:  # a runtime policy deleted: the configured one governs again
            self._policies.put(scope, id_, configured)
        else:
            self._policies.delete(scope, id_, model)

    async def _housekeeping(self) -> None:
        p = self.config.table_prefix
        rounds = 0
        while True:
            await asyncio.sleep(self.config.housekeeping_interval_s)
            now = self.clock()
            rounds += 1
            try:
                await self._sync_policies()
                await self.expire()
                await self.open_reservations()  # an index-only count (reservations_due)
                await self._call(
                    "execute",
                    f"DELETE FROM {p}reservations WHERE state = 2 AND expires_at < $1",
                    now - self.config.late_settle_s,
                )
                if rounds % 60 == 1:
                    await self._call("fetchval", f"SELECT {p}compact($1, $2)",
                                     now - self.config.charge_dedup_s, 50_000)  # fmt: skip
                    await self._call(
                        "execute",
                        f"DELETE FROM {p}counters WHERE window_end < $1",
                        now - self.config.counter_retention_s,
                    )
                    await self._call(
                        "execute",
                        f"WITH d AS (DELETE FROM {p}policy_deletions WHERE at < $1 RETURNING ver) "
                        f"UPDATE {p}policy_version SET pruned = greatest(pruned, "
                        "(SELECT max(ver) FROM d)) WHERE id = 1 AND EXISTS (SELECT 1 FROM d)",
                        now - POLICY_DELETIONS_KEPT_S,
                    )
                    await self._call(
                        "execute",
                        f"DELETE FROM {p}charge_totals t WHERE NOT EXISTS (SELECT 1 FROM "
                        f"{p}counters c WHERE c.bkey = t.bkey AND c.window_start = t.window_start)",
                    )
            except StoreUnavailable as exc:
                log.warning("budget housekeeping skipped: %s", exc)
            except Exception as exc:
                log.error("budget housekeeping failed: %s", type(exc).__name__)
