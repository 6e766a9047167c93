"""The in-process ledger: exact for one process, durable through the SQLite journal.

State lives in dicts owned by the event loop; an admit runs without an ``await``, so it is
atomic with respect to every other admit, settle and expiry of this process, and
``used + reserved <= cap`` holds for every budget at every instant. The journal
(:mod:`sidecar.budgets.journal`) group-commits changed keys every 50 ms off the hot path, so a
restart keeps spend, open reservations, rolling holds, charges and runtime policies.

Durability: a charge (a settle, a charged event) and a policy change are acknowledged only once
committed to the journal (the caller awaits the commit, at once, not the 50 ms timer); an admit
is not, so kill -9 may forget the reservations granted in the last ``flush_interval_s`` (50 ms
by default; their events are then charged directly when they arrive). While the journal cannot
persist, ``fail_closed`` answers admits 503 and ``fail_open`` keeps deciding exactly in memory
(marked ``degraded``); charges are applied in memory and answered 503 until they are durable,
so a resent event is never charged twice.

Cost: admit latency is measured by bench/bench_admit_core.py (docs/benchmarks.md, "Budget
admit core"). Memory: about 150 bytes per counter, 400 per open reservation,
100 per recently charged id (at most 50,000 ids; older ones are looked up in the journal,
only for resent events); counters of windows ended more than ``reservation_ttl_s +
late_settle_s`` ago leave memory (the journal keeps them for ``counter_retention_s``).
Bounds: at most ``max_reservations`` reservations (open or within their late-settle grace)
and ``max_counters`` counters for admits; past them, counters that decide nothing are evicted
and otherwise a new scope or reservation is refused with :class:`CapacityExceeded` (503),
never granted unaccounted. Charges are never refused for room.

Rolling windows keep one hold per reservation or direct charge (deque, oldest first); holds
older than the window leave the counter exactly when they age out, O(1) amortised per admit.

Long module: the ledger's state and every operation on it (admit, settle, expiry, caps, journal
replay) live together because their atomicity rests on sharing one set of dicts without an
await.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from sidecar.budgets.config import BudgetPolicy, BudgetsConfig, Scope
from sidecar.budgets.consistency import ConsistencyReport, Recompute, check_sqlite
from sidecar.budgets.journal import Batch, ChargeRow, SqliteJournal
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
    new_reservation_id,
    over_limit,
    owner_matches,
)
from sidecar.budgets.model import (
    AdmitRequest,
    CapacityExceeded,
    Charge,
    Decision,
    Outcome,
    StoreUnavailable,
    Usage,
    add,
    to_nano,
)
from sidecar.budgets.policies import upgrade_key
from sidecar.budgets.windows import ROLLING_START

log = logging.getLogger(__name__)

OPEN, SETTLED, EXPIRED = 0, 1, 2
CounterKey = tuple[str, float]
_RECENT = 50_000
_CLOSE_WAIT_S = 2.0


class _Counter:
    __slots__ = ("cr", "cu", "end", "tr", "tu")

    def __init__(self, end: float, tu: int = 0, cu: int = 0, tr: int = 0, cr: int = 0) -> None:
        self.end, self.tu, self.cu, self.tr, self.cr = end, tu, cu, tr, cr

    def counts(self) -> Counts:
        return (self.tu, self.cu, self.tr, self.cr)


class _Hold:
    """A reservation's (or a direct charge's) share of a rolling budget, counted until
    ``ts + window``."""

    __slots__ = ("bkey", "cost", "rid", "settled", "tokens", "ts")

    def __init__(
        self, bkey: str, rid: str, ts: float, tokens: int, cost: int, settled: bool
    ) -> None:
        self.bkey, self.rid, self.ts = bkey, rid, ts
        self.tokens, self.cost, self.settled = tokens, cost, settled


class _Reservation:
    __slots__ = ("cost", "created", "expires_at", "keys", "model", "rid", "state", "tenant",
                 "tokens", "user")  # fmt: skip

    def __init__(
        self, rid: str, created: float, expires_at: float, tokens: int, cost: int,
        keys: list[CounterKey], state: int = OPEN, tenant: str | None = None,
        user: str | None = None, model: str | None = None,
    ) -> None:  # fmt: skip
        self.rid, self.created, self.expires_at = rid, created, expires_at
        self.tokens, self.cost, self.keys, self.state = tokens, cost, keys, state
        self.tenant, self.user, self.model = tenant, user, model


class _Discard(set[Any]):
    """A set that keeps nothing: change tracking when there is no journal."""

    def add(self, item: Any) -> None:
        return None


class _Recent:
    """Recently charged ids, bounded (older ones are in the journal)."""

    def __init__(self, size: int = _RECENT) -> None:
        self._items: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add(self, key: str) -> None:
        self._items[key] = None
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class InProcessLedger(LedgerCore):
    """:class:`~sidecar.budgets.ledger.BudgetLedger` for one process (SQLite or no store)."""

    def __init__(
        self, config: BudgetsConfig, journal: SqliteJournal | None = None,
        clock: Clock = time.time, pricer: Pricer | None = None,
    ) -> None:  # fmt: skip
        super().__init__(config, clock, pricer)
        self.journal = journal
        self._counters: dict[CounterKey, _Counter] = {}
        self._reservations: dict[str, _Reservation] = {}
        self._open_by_counter: dict[CounterKey, dict[str, None]] = {}
        self._heap: list[tuple[float, str]] = []
        self._expired: deque[tuple[float, str]] = deque()
        self._rolling: dict[str, deque[_Hold]] = {}
        self._holds: dict[tuple[str, str], _Hold] = {}
        self._open = 0
        track = set if journal is not None else _Discard
        self._dirty_c: set[CounterKey] = track()
        self._dirty_r: set[str] = track()
        self._dirty_h: set[tuple[str, str]] = track()
        self._dirty_p: set[tuple[Scope, str, str | None]] = track()
        self._new_charges: dict[str, ChargeRow] = {}
        self._recent_ids = _Recent()
        self._recent_rids = _Recent()
        self._unflushed: set[str] = set()  # charge ids and rids not yet committed
        self._last_prune = 0.0
        self._last_compact = 0.0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Future[None]] = set()
        self._housekeeper: asyncio.Task[None] | None = None
        self._next_eviction_scan = 0.0
        self._held_by_counter: dict[CounterKey, int] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the journal, start its writer thread and the housekeeping task."""
        if self.journal is not None:
            snap = await asyncio.to_thread(self.journal.load)
            self._restore_policies(snap)
            legacy = self.journal.legacy_keys(snap)
            if legacy:  # written by an earlier version: keys name their window now
                upgrade = {k: upgrade_key(k, self._policies) for k in legacy}
                await asyncio.to_thread(self.journal.upgrade_keys, upgrade)
                snap = await asyncio.to_thread(self.journal.load)
            self._restore(snap)
            self.journal.start()
        self._housekeeper = asyncio.create_task(self._housekeeping(), name="budget-housekeeping")

    async def close(self) -> None:
        """Stop housekeeping, write everything pending and stop the writer thread; returns
        within about 4 s even when the journal cannot persist (then logs what is lost)."""
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeper
            self._housekeeper = None
        if self.journal is None:
            return
        self._flush_now()
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=_CLOSE_WAIT_S)
            if late:
                log.error("budget journal: %d batches not persisted at close (%s)",
                          len(late), self.journal.last_error)  # fmt: skip
        await asyncio.to_thread(self.journal.stop, _CLOSE_WAIT_S)

    async def flush(self) -> None:
        """Write every change so far and wait until it is committed."""
        self._flush_now()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def durable(self, timeout: float | None = None) -> None:
        """Return once every change so far is committed; :class:`StoreUnavailable` when that
        takes longer than ``timeout`` (default ``statement_timeout_s``)."""
        if self.journal is None:
            return
        self._flush_now()
        if not self._pending:
            return
        wait = self.config.statement_timeout_s if timeout is None else timeout
        done, late = await asyncio.wait(set(self._pending), timeout=wait)
        if late or any(f.exception() is not None for f in done):
            self.counters["store_errors"] += 1
            raise StoreUnavailable(
                f"budget journal cannot persist: {self.journal.last_error or 'timed out'}"
            )

    # -- the protocol --------------------------------------------------------------------------

    async def admit(self, request: AdmitRequest) -> Decision:
        """Reserve the estimate on every applicable budget, all or none (no await inside)."""
        now = self.clock()
        self.counters["admits"] += 1
        check_request(request)
        self._expire_due(now)
        slots = self.slots(request, now)
        if not slots:
            self.counters["granted"] += 1
            return Decision(allowed=True)
        self._make_room(slots, now)
        degraded = self.journal is not None and not self.journal.healthy
        if degraded:
            if self.config.fail_policy == "fail_closed":
                raise StoreUnavailable(f"budget journal cannot persist: {self.journal.last_error}")  # type: ignore[union-attr]
            self.counters["fail_open_admits"] += 1
        est_t, est_c = request.tokens, to_nano(request.cost_usd)
        found: list[_Counter] = []
        for slot in slots:
            key = slot.applied.key
            counter = self._counter(key, slot)
            if slot.applied.window.rolling:
                self._age(key, now - slot.rolling_s)
            if over_limit(slot.applied.policy, counter.counts(), est_t, est_c):
                ck = (key, slot.start)
                retry = self.retry_at(
                    slot,
                    counter.counts(),
                    est_t,
                    est_c,
                    now,
                    lambda s=slot, k=ck: self._releases(s, k, now),  # type: ignore[misc]
                )
                return self.denied(slot, counter.counts(), est_t, est_c, now, retry)
            found.append(counter)
        rid = new_reservation_id()
        keys: list[CounterKey] = []
        for slot, counter in zip(slots, found, strict=True):
            counter.tr = add(counter.tr, est_t)
            counter.cr = add(counter.cr, est_c)
            ck = (slot.applied.key, slot.start)
            keys.append(ck)
            self._dirty_c.add(ck)
            self._open_by_counter.setdefault(ck, {})[rid] = None
            if slot.applied.window.rolling:
                self._add_hold(_Hold(ck[0], rid, now, est_t, est_c, False))
        expires_at = now + self.config.reservation_ttl_s
        self._reservations[rid] = _Reservation(
            rid, now, expires_at, est_t, est_c, keys, OPEN, request.tenant, request.user_id,
            request.model,
        )  # fmt: skip
        self._hold_counters(keys, 1)
        heapq.heappush(self._heap, (expires_at, rid))
        self._open += 1
        self._dirty(rid)
        return self.granted(rid, slots, [c.counts() for c in found], est_t, est_c, degraded)

    async def charge(self, charges: Sequence[Charge]) -> list[Outcome]:
        """Charge each once (see :class:`~sidecar.budgets.model.Charge`); returns once the
        charges are durable, or raises :class:`StoreUnavailable` (they then become durable
        when the journal recovers, and a resend is a duplicate)."""
        for c in charges:
            check_charge(c)
        found_ids: set[str] = set()
        found_rids: set[str] = set()
        if self.journal is not None:
            ask_ids = [c.charge_id for c in charges
                       if c.seen_before and not self._seen(c.charge_id)]  # fmt: skip
            ask_rids = [c.reservation_id for c in charges if c.reservation_id
                        and c.reservation_id not in self._reservations
                        and not self._seen(c.reservation_id)]  # fmt: skip
            if ask_ids or ask_rids:
                found_ids, found_rids = await asyncio.to_thread(
                    self.journal.charged, ask_ids, ask_rids
                )
        now = self.clock()
        self._expire_due(now)
        outcomes = [self._apply(c, now, found_ids, found_rids) for c in charges]
        if self.journal is not None and any(
            o in (Outcome.SETTLED, Outcome.CHARGED)
            or (o == Outcome.DUPLICATE and (c.charge_id in self._unflushed
                                            or c.reservation_id in self._unflushed))
            for c, o in zip(charges, outcomes, strict=True)
        ):  # fmt: skip
            await self.durable()
        return outcomes

    def _seen(self, key: str) -> bool:
        return key in self._unflushed or key in self._recent_ids or key in self._recent_rids

    def _apply(self, c: Charge, now: float, found_ids: set[str], found_rids: set[str]) -> Outcome:
        if (
            c.charge_id in self._unflushed
            or c.charge_id in self._recent_ids
            or (c.charge_id in found_ids)
        ):
            self.counters["charge_duplicates"] += 1
            return Outcome.DUPLICATE
        rid = c.reservation_id
        if rid:
            r = self._reservations.get(rid)
            if (
                r is not None
                and owner_matches(r.tenant, c.tenant)
                and not (self.late_limit(r.expires_at, now))
            ):
                self._settle(r, c, now)
                return Outcome.SETTLED
            if r is None and (rid in self._unflushed or rid in self._recent_rids
                              or rid in found_rids):  # fmt: skip
                self.counters["settle_duplicates"] += 1
                return Outcome.DUPLICATE
            if not c.direct:
                self.counters["settle_duplicates"] += 1
                return Outcome.UNKNOWN
        slots = self.charge_slots(c, now)
        if not slots:
            return Outcome.NOTHING
        tokens, cost = c.tokens, self.cost_nano(c, c.model)
        keys: list[CounterKey] = []
        for slot in slots:
            key = slot.applied.key
            counter = self._counter(key, slot)
            ck = (key, slot.start)
            if slot.applied.window.rolling:
                self._age(key, now - slot.rolling_s)
                self._add_hold(_Hold(key, c.charge_id, now, tokens, cost, True))
            counter.tu = add(counter.tu, tokens)
            counter.cu = add(counter.cu, cost)
            self._dirty_c.add(ck)
            keys.append(ck)
        self._record(c.charge_id, None, keys, tokens, cost, now)
        self.counters["charged_direct"] += 1
        return Outcome.CHARGED

    def _settle(self, r: _Reservation, c: Charge, now: float) -> None:
        rid = r.rid
        if c.usage_unknown:  # nobody counted the tokens: the estimate is what was used
            tokens, cost = r.tokens, r.cost
        else:
            tokens, cost = c.tokens, self.cost_nano(c, r.model)
        for ck in r.keys:
            counter = self._counters.get(ck)
            if ck[1] == ROLLING_START:
                hold = self._holds.get((ck[0], rid))
                if hold is None:  # aged out of its rolling window: nothing left to adjust
                    continue
                hold.tokens, hold.cost, hold.settled = tokens, cost, True
                self._dirty_h.add((ck[0], rid))
            if counter is None:
                continue
            if r.state == OPEN:
                counter.tr -= r.tokens
                counter.cr -= r.cost
            counter.tu = add(counter.tu, tokens)
            counter.cu = add(counter.cu, cost)
            self._dirty_c.add(ck)
        if r.state == OPEN:
            self._open -= 1
            self._unlink(r)
        r.state = SETTLED
        del self._reservations[rid]
        self._hold_counters(r.keys, -1)
        self.counters["settles"] += 1
        self._record(c.charge_id, rid, r.keys, tokens, cost, now)
        self._dirty(rid)

    def _record(
        self, charge_id: str, rid: str | None, keys: list[CounterKey], tokens: int, cost: int,
        now: float,
    ) -> None:  # fmt: skip
        self._recent_ids.add(charge_id)
        if rid is not None:
            self._recent_rids.add(rid)
        if self.journal is None:
            return
        self._unflushed.add(charge_id)
        if rid is not None:
            self._unflushed.add(rid)
        self._new_charges[charge_id] = (charge_id, rid, now, tokens, cost, json.dumps(keys))
        self._schedule_flush()

    async def usage(self, scope: Scope, id_: str, model: str | None = None) -> Usage:
        """Usage of the current window of ``scope/id_`` (:class:`UnknownBudget` if none)."""
        now = self.clock()
        self._expire_due(now)
        applied = self.lookup(scope, id_, model)
        start, _ = self.windows.bounds(applied.window, now)
        if applied.window.rolling:
            self._age(applied.key, now - applied.window.seconds)
        counter = self._counters.get((applied.key, start))
        counts = counter.counts() if counter is not None else (0, 0, 0, 0)
        return self.make_usage(applied, counts, now)

    async def put_policy(self, scope: Scope, id_: str, policy: BudgetPolicy) -> None:
        """Set a policy at runtime; it is persisted before this returns and wins over the
        configuration's."""
        check_text("id", id_)
        self.check_policy_room(scope, id_, policy.model)
        self._policies.put(scope, id_, policy)
        self._dirty_p.add((scope, id_, policy.model))
        await self.durable()

    async def delete_policy(self, scope: Scope, id_: str, model: str | None = None) -> bool:
        check_text("id", id_)
        found = self._policies.delete(scope, id_, model)
        self._dirty_p.add((scope, id_, model))
        await self.durable()
        return found

    async def expire(self) -> int:
        """Release the holds of reservations past their TTL; returns how many expired."""
        return self._expire_due(self.clock())

    async def check_consistency(self) -> ConsistencyReport:
        """Counters recomputed from the journal's records, and memory compared with the file."""
        now = self.clock()
        self._expire_due(now)
        if self.journal is None:
            calc = Recompute()
            for r in self._reservations.values():
                if r.state == OPEN:
                    calc.reservation(r.keys, r.tokens, r.cost)
            for ck, c in self._counters.items():
                calc.used[ck] = [c.tu, c.cu]  # no records without a journal: used as stored
            for ck, c in self._counters.items():
                calc.compare(ck, c.counts())
            return calc.report("in_process", now, len(self._counters))
        await self.durable()
        memory = {ck: c.counts() for ck, c in self._counters.items()}
        return await asyncio.to_thread(check_sqlite, self.journal.path, self.journal.p, now, memory)

    def stats(self) -> dict[str, int]:
        out = dict(self.counters)
        out["open_reservations"] = self._open
        if self.journal is not None:
            out["store_errors"] = self.counters["store_errors"] + self.journal.errors
        return out

    def status(self) -> dict[str, Any]:
        j = self.journal
        persisting = j is None or j.healthy
        out: dict[str, Any] = {
            "backend": "in_process", "connected": True, "persisting": persisting,
            "fail_policy": self.config.fail_policy, "healthy": persisting,
            "journal_errors": j.errors if j is not None else 0,
        }  # fmt: skip
        if j is not None and not j.healthy:
            out["reason"] = f"budget journal cannot persist: {j.last_error}"
        return out

    # -- internals -----------------------------------------------------------------------------

    def _make_room(self, slots: list[Slot], now: float) -> None:
        """Refuse (:class:`CapacityExceeded`) an admit that would pass ``max_reservations``, or
        ``max_counters`` once the counters holding nothing are evicted. Never evicts a counter
        with usage or reservations: that would let the budget be spent twice."""
        cfg = self.config
        if len(self._reservations) >= cfg.max_reservations:
            self._forget_expired(now)
        if len(self._reservations) >= cfg.max_reservations:
            self.counters["state_refusals_reservations"] += 1
            raise CapacityExceeded(
                "reservations",
                (
                    f"the budget ledger holds {cfg.max_reservations} reservations "
                    "(budgets.max_reservations): retry when some are settled or expire"
                ),
            )
        new = sum((slot.applied.key, slot.start) not in self._counters for slot in slots)
        if not new or len(self._counters) + new <= cfg.max_counters:
            return
        if now >= self._next_eviction_scan:
            self._forget_expired(now)
            evicted = self._evict_empty(max(new, cfg.max_counters // 20))
            if not evicted:  # nothing to evict: rescan after a second or an expiry, not per admit
                self._next_eviction_scan = now + 1.0
        if len(self._counters) + new > cfg.max_counters:
            self.counters["state_refusals_counters"] += 1
            raise CapacityExceeded(
                "counters",
                (
                    f"the budget ledger holds {cfg.max_counters} budget counters with usage "
                    "(budgets.max_counters): no new budget scope until a window ends"
                ),
            )

    def _evict_empty(self, wanted: int) -> int:
        """Drop up to ``wanted`` counters that decide nothing any more: no reservation that may
        still settle on it (open or within ``late_settle_s``), no rolling hold, already
        written to the journal (a restart reads the same), and either holding zero (a new
        admit recreates it from zero: no change) or of a window that has ended (no admit reads
        it again; the journal keeps it for ``counter_retention_s``)."""
        victims: list[CounterKey] = []
        now = self.clock()
        for ck, c in self._counters.items():
            if ck in self._dirty_c or ck in self._held_by_counter:
                continue
            if (c.tu or c.cu or c.tr or c.cr) and c.end > now:
                continue
            if ck[1] == ROLLING_START and self._rolling.get(ck[0]):
                continue
            victims.append(ck)
            if len(victims) >= wanted:
                break
        for ck in victims:
            del self._counters[ck]
            if ck[1] == ROLLING_START:
                self._rolling.pop(ck[0], None)
        self.counters["state_evictions_counters"] += len(victims)
        return len(victims)

    def _counter(self, key: str, slot: Slot) -> _Counter:
        ck = (key, slot.start)
        counter = self._counters.get(ck)
        if counter is None:
            counter = self._counters[ck] = _Counter(slot.end)
            if slot.applied.window.rolling:
                self._rolling.setdefault(key, deque())
        elif counter.end < slot.end:  # a longer window starting at the same instant
            counter.end = slot.end
            self._dirty_c.add(ck)
        return counter

    def _releases(self, slot: Slot, ck: CounterKey, now: float) -> Iterable[Release]:
        """The budget's holds in the order they let go (for ``retry_after_s``)."""
        out: list[Release] = []
        if slot.applied.window.rolling:
            width = slot.rolling_s
            for h in list(self._rolling.get(ck[0], ()))[:MAX_RELEASES]:
                at = h.ts + width
                if not h.settled:
                    r = self._reservations.get(h.rid)
                    if r is not None and r.state == OPEN:
                        at = min(at, r.expires_at)
                out.append((at, h.tokens, h.cost))
        else:
            for rid in list(self._open_by_counter.get(ck, ()))[:MAX_RELEASES]:
                r = self._reservations.get(rid)
                if r is not None and r.state == OPEN:
                    out.append((r.expires_at, r.tokens, r.cost))
        out.sort()
        return out

    def _unlink(self, r: _Reservation) -> None:
        for ck in r.keys:
            linked = self._open_by_counter.get(ck)
            if linked is not None:
                linked.pop(r.rid, None)
                if not linked:
                    del self._open_by_counter[ck]

    def _add_hold(self, hold: _Hold) -> None:
        self._rolling.setdefault(hold.bkey, deque()).append(hold)
        self._holds[(hold.bkey, hold.rid)] = hold
        self._dirty_h.add((hold.bkey, hold.rid))

    def _age(self, key: str, horizon: float) -> None:
        q = self._rolling.get(key)
        if not q:
            return
        counter = self._counters[(key, ROLLING_START)]
        while q and q[0].ts <= horizon:
            h = q.popleft()
            if h.settled:
                counter.tu -= h.tokens
                counter.cu -= h.cost
            else:
                counter.tr -= h.tokens
                counter.cr -= h.cost
            del self._holds[(key, h.rid)]
            self._dirty_h.add((key, h.rid))
            self._dirty_c.add((key, ROLLING_START))

    def _expire_due(self, now: float) -> int:
        heap, n = self._heap, 0
        while heap and heap[0][0] <= now:
            expires_at, rid = heapq.heappop(heap)
            r = self._reservations.get(rid)
            if r is None or r.state != OPEN:
                continue
            for ck in r.keys:
                counter = self._counters.get(ck)
                if ck[1] == ROLLING_START:
                    hold = self._holds.get((ck[0], rid))
                    if hold is None:
                        continue  # aged out: its hold already left the counter
                    # Zero the hold in place: ageing it out later subtracts nothing.
                    hold.tokens = hold.cost = 0
                    self._dirty_h.add((ck[0], rid))
                if counter is not None:
                    counter.tr -= r.tokens
                    counter.cr -= r.cost
                    self._dirty_c.add(ck)
            r.state = EXPIRED
            self._open -= 1
            self._unlink(r)
            self._expired.append((expires_at, rid))
            self._dirty(rid)
            n += 1
        self.counters["expired"] += n
        if n:  # released reservations may have emptied counters: rescan soon, not per admit
            self._next_eviction_scan = min(self._next_eviction_scan, now + 0.1)
        return n

    def _prune(self, now: float) -> None:
        """Forget expired reservations past their late-settle grace and old counters; every
        minute, have the journal fold old charges into totals and drop old counters."""
        grace = self.config.late_settle_s
        self._forget_expired(now)
        if now - self._last_prune < 30.0:
            return
        self._last_prune = now
        horizon = now - self.config.reservation_ttl_s - grace
        for ck in [ck for ck, c in self._counters.items() if c.end < horizon]:
            del self._counters[ck]
        if self.journal is not None and now - self._last_compact >= 60.0:
            self._last_compact = now
            batch = Batch()
            batch.compact_before = now - self.config.charge_dedup_s
            batch.prune_before = now - self.config.counter_retention_s
            self._submit(batch, [])

    def _hold_counters(self, keys: list[CounterKey], delta: int) -> None:
        """Count the reservations (open, or expired within ``late_settle_s``) naming each
        counter: a counter a reservation may still settle on is never evicted."""
        held = self._held_by_counter
        for ck in keys:
            left = held.get(ck, 0) + delta
            if left > 0:
                held[ck] = left
            else:
                held.pop(ck, None)

    def _forget_expired(self, now: float) -> None:
        """Drop the reservations expired longer than ``late_settle_s`` ago (a settle of one
        would be refused anyway)."""
        grace = self.config.late_settle_s
        while self._expired and self._expired[0][0] + grace < now:
            _, rid = self._expired.popleft()
            gone = self._reservations.pop(rid, None)
            if gone is not None:
                self._hold_counters(gone.keys, -1)
                self._dirty(rid)

    def _dirty(self, rid: str) -> None:
        self._dirty_r.add(rid)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self.journal is None or self._flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        self._flush_handle = loop.call_later(self.config.flush_interval_s, self._flush_now)

    def _flush_now(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = None
        if self.journal is None:
            return
        settled = [k for row in self._new_charges.values() for k in (row[0], row[1]) if k]
        batch = self._batch()
        if len(batch):
            self._submit(batch, settled)

    def _submit(self, batch: Batch, keys: list[str]) -> None:
        assert self.journal is not None
        fut = asyncio.wrap_future(self.journal.submit(batch))
        self._pending.add(fut)

        def done(f: asyncio.Future[None]) -> None:
            self._pending.discard(f)
            if not f.cancelled() and f.exception() is None:
                self._unflushed.difference_update(keys)

        fut.add_done_callback(done)

    def _batch(self) -> Batch:
        b = Batch()
        for ck in self._dirty_c:
            c = self._counters.get(ck)
            if c is not None:
                b.counters[ck] = (ck[0], ck[1], c.end, c.tu, c.cu, c.tr, c.cr)
        for rid in self._dirty_r:
            r = self._reservations.get(rid)
            b.reservations[rid] = None if r is None else (
                rid, r.created, r.expires_at, r.tokens, r.cost, json.dumps(r.keys), r.state,
                r.tenant, r.user, r.model,
            )  # fmt: skip
        for hk in self._dirty_h:
            h = self._holds.get(hk)
            b.holds[hk] = (
                None if h is None else (h.bkey, h.rid, h.ts, h.tokens, h.cost, int(h.settled))
            )
        for scope, id_, model in self._dirty_p:
            p = self._policies.exact(scope, id_, model)
            body = None if p is None else msgspec.json.encode(p).decode()
            b.policies[(scope, id_, model or "")] = (
                None if body is None else (scope, id_, model or "", body)
            )
        b.charges, self._new_charges = self._new_charges, {}
        for dirty in (self._dirty_c, self._dirty_r, self._dirty_h, self._dirty_p):
            dirty.clear()
        return b

    def _restore_policies(self, snap: Any) -> None:
        for scope, id_, _model, body in snap.policies:
            self._policies.put(scope, id_, msgspec.json.decode(body, type=BudgetPolicy))

    def _restore(self, snap: Any) -> None:
        for bkey, ws, we, tu, cu, tr, cr in snap.counters:
            self._counters[(bkey, ws)] = _Counter(we, tu, cu, tr, cr)
        for bkey, rid, ts, tokens, cost, settled in snap.holds:
            self._counters.setdefault((bkey, ROLLING_START), _Counter(float("inf")))
            self._add_hold(_Hold(bkey, rid, ts, tokens, cost, bool(settled)))
        self._dirty_h.clear()
        for (
            rid,
            created,
            expires_at,
            tokens,
            cost,
            keys,
            state,
            tenant,
            user,
            model,
        ) in snap.reservations:
            ks = [(k, float(w)) for k, w in json.loads(keys)]
            r = _Reservation(rid, created, expires_at, tokens, cost, ks, state, tenant, user,
                             model)  # fmt: skip
            self._reservations[rid] = r
            self._hold_counters(ks, 1)
            if state == OPEN:
                self._open += 1
                heapq.heappush(self._heap, (expires_at, rid))
                for ck in ks:
                    self._open_by_counter.setdefault(ck, {})[rid] = None
            else:
                self._expired.append((expires_at, rid))

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.config.housekeeping_interval_s)
            now = self.clock()
            self._expire_due(now)
            self._prune(now)
