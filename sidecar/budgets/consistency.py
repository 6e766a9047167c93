"""Consistency of a ledger: every counter of the current windows recomputed from the records.

For a calendar window, ``tokens_used``/``cost_used`` must equal the sum of the charges recorded
for that (budget, window) (kept one by one for ``charge_dedup_s``, then folded into per-window
totals), and ``tokens_reserved``/``cost_reserved`` the sum of its open reservations. For a
rolling window the counter must equal the sum of its holds (settled ones are used, open ones
reserved), each open hold must match its open reservation, and each settled hold the charge
that settled it. Sums saturate at :data:`~sidecar.budgets.model.COUNTER_MAX` as counters do.

``agent-sidecar check-consistency`` and ``GET /v1/budgets/consistency`` print the report; the
command exits 1 when any counter differs (the model is KODE SDK's ``checkConsistency``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec

from sidecar.budgets.model import COUNTER_MAX
from sidecar.budgets.policies import SEP, BudgetRef
from sidecar.budgets.windows import ROLLING_START

FIELDS = ("tokens_used", "cost_used", "tokens_reserved", "cost_reserved")
Key = tuple[str, float]


class Difference(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One counter field that does not match its records (cost fields in nano-USD)."""

    scope: str
    id: str
    model: str | None = None
    window: str | None = None
    window_start: float
    field: str
    stored: int
    expected: int


class ConsistencyReport(msgspec.Struct, kw_only=True):
    """``ok`` when no counter differs from its records."""

    ok: bool
    backend: str
    checked_at: float
    counters_checked: int
    reservations_open: int
    charges_recorded: int
    differences: list[Difference]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


def _sat(value: int) -> int:
    return value if value < COUNTER_MAX else COUNTER_MAX


class Recompute:
    """Accumulates the records and compares them with the stored counters."""

    def __init__(self) -> None:
        self.used: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        self.reserved: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        self.differences: list[Difference] = []
        self.open = 0
        self.charges = 0

    def reservation(self, keys: Iterable[Key], tokens: int, cost: int) -> None:
        self.open += 1
        for k, ws in keys:
            if ws != ROLLING_START:
                acc = self.reserved[(k, ws)]
                acc[0] += tokens
                acc[1] += cost

    def charge(self, keys: Iterable[Key], tokens: int, cost: int, count: int = 1) -> None:
        self.charges += count
        for k, ws in keys:
            if ws != ROLLING_START:
                acc = self.used[(k, ws)]
                acc[0] += tokens
                acc[1] += cost

    def hold(self, bkey: str, tokens: int, cost: int, settled: bool) -> None:
        acc = (self.used if settled else self.reserved)[(bkey, ROLLING_START)]
        acc[0] += tokens
        acc[1] += cost

    def differ(self, key: Key, field: str, stored: int, expected: int) -> None:
        ref = BudgetRef.from_key(key[0])
        parts = key[0].split(SEP)
        self.differences.append(
            Difference(scope=ref.scope, id=ref.id, model=ref.model,
                       window=parts[3] if len(parts) > 3 else None, window_start=key[1],
                       field=field, stored=stored, expected=expected)
        )  # fmt: skip

    def compare(self, key: Key, stored: tuple[int, int, int, int]) -> None:
        used = self.used.get(key, [0, 0])
        reserved = self.reserved.get(key, [0, 0])
        expected = (_sat(used[0]), _sat(used[1]), _sat(reserved[0]), _sat(reserved[1]))
        for field, s, e in zip(FIELDS, stored, expected, strict=True):
            if s != e:
                self.differ(key, field, s, e)

    def report(self, backend: str, now: float, checked: int) -> ConsistencyReport:
        return ConsistencyReport(
            ok=not self.differences, backend=backend, checked_at=now, counters_checked=checked,
            reservations_open=self.open, charges_recorded=self.charges,
            differences=self.differences,
        )  # fmt: skip


def _keys(text: str) -> list[Key]:
    return [(k, float(w)) for k, w in json.loads(text)]


def check_sqlite(
    path: str,
    prefix: str = "budget_",
    now: float | None = None,
    memory: dict[Key, tuple[int, int, int, int]] | None = None,
) -> ConsistencyReport:
    """Check the in-process ledger's journal in the SQLite file ``path`` (read-only); with
    ``memory`` (the running ledger's counters) also that the file holds what memory holds."""
    now = time.time() if now is None else now
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    p = prefix
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if f"{p}counters" not in tables:
            return Recompute().report("in_process", now, 0)
        conn.execute("BEGIN")  # one snapshot for every read below
        calc = Recompute()
        for keys, tokens, cost in conn.execute(
            f"SELECT keys, tokens, cost FROM {p}reservations WHERE state = 0"
        ):
            calc.reservation(_keys(keys), tokens, cost)
        if f"{p}charges" in tables:
            for keys, tokens, cost in conn.execute(f"SELECT keys, tokens, cost FROM {p}charges"):
                calc.charge(_keys(keys), tokens, cost)
            for bkey, ws, tokens, cost, n in conn.execute(
                f"SELECT bkey, window_start, tokens, cost, n FROM {p}charge_totals"
            ):
                calc.charge([(bkey, ws)], tokens, cost, n)
        open_tokens: dict[str, int] = {
            rid: tokens
            for rid, tokens in conn.execute(
                f"SELECT rid, tokens FROM {p}reservations WHERE state = 0"
            )
        }
        charged: dict[str, int] = {}
        if f"{p}charges" in tables:
            for cid, rid, tokens in conn.execute(
                f"SELECT charge_id, rid, tokens FROM {p}charges WHERE keys LIKE '%-1.0]%'"
            ):
                charged[cid] = tokens
                if rid is not None:
                    charged[rid] = tokens
        horizon = _oldest_charge(conn, p, tables)
        for bkey, rid, ts, tokens, cost, settled in conn.execute(
            f"SELECT bkey, rid, ts, tokens, cost, settled FROM {p}holds"
        ):
            calc.hold(bkey, tokens, cost, bool(settled))
            _check_hold(calc, bkey, rid, ts, tokens, bool(settled), open_tokens, charged, horizon)
        rows = conn.execute(
            f"SELECT bkey, window_start, tokens_used, cost_used, tokens_reserved, cost_reserved "
            f"FROM {p}counters WHERE window_start = ? OR (window_start <= ? AND ? < window_end)",
            (ROLLING_START, now, now),
        ).fetchall()
        for bkey, ws, tu, cu, tr, cr in rows:
            calc.compare((bkey, ws), (tu, cu, tr, cr))
            held = None if memory is None else memory.get((bkey, ws))
            if held is not None and held != (tu, cu, tr, cr):
                for field, m, f in zip(FIELDS, held, (tu, cu, tr, cr), strict=True):
                    if m != f:
                        calc.differ((bkey, ws), "file." + field, f, m)
        conn.execute("COMMIT")
        return calc.report("in_process", now, len(rows))
    finally:
        conn.close()


def _oldest_charge(conn: sqlite3.Connection, p: str, tables: set[str]) -> float:
    if f"{p}charges" not in tables:
        return float("inf")
    row = conn.execute(f"SELECT min(ts) FROM {p}charges").fetchone()
    return float("inf") if row[0] is None else float(row[0])


def _check_hold(
    calc: Recompute, bkey: str, rid: str, ts: float, tokens: int, settled: bool,
    open_tokens: dict[str, int], charged: dict[str, int], horizon: float,
) -> None:  # fmt: skip
    """An open hold matches its reservation (0 once expired); a settled one its charge."""
    key = (bkey, ROLLING_START)
    if not settled:
        expected = open_tokens.get(rid, 0)
        if tokens != expected:
            calc.differ(key, f"hold {rid} tokens", tokens, expected)
    elif ts >= horizon and rid in charged and charged[rid] != tokens:
        calc.differ(key, f"hold {rid} tokens", tokens, charged[rid])


async def check_postgres(
    conn: Any, prefix: str = "budget_", now: float | None = None
) -> ConsistencyReport:
    """Check the shared ledger's tables through an asyncpg connection (one snapshot)."""
    now = time.time() if now is None else now
    p = prefix
    calc = Recompute()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{p}charges")
        if not exists:
            return calc.report("postgresql", now, 0)
        for r in await conn.fetch(
            f"SELECT x.k, x.w, sum(r.tokens) AS t, sum(r.cost) AS c, count(*) AS n "
            f"FROM {p}reservations r, unnest(r.bkeys, r.wstarts) AS x(k, w) "
            "WHERE r.state = 0 AND x.w <> -1 GROUP BY x.k, x.w"
        ):
            acc = calc.reserved[(r["k"], r["w"])]
            acc[0] += int(r["t"])
            acc[1] += int(r["c"])
        calc.open = int(
            await conn.fetchval(f"SELECT count(*) FROM {p}reservations WHERE state = 0")
        )
        for r in await conn.fetch(
            f"SELECT x.k, x.w, sum(c.tokens) AS t, sum(c.cost) AS c "
            f"FROM {p}charges c, unnest(c.bkeys, c.wstarts) AS x(k, w) "
            "WHERE x.w <> -1 GROUP BY x.k, x.w "
            f"UNION ALL SELECT bkey, window_start, tokens, cost FROM {p}charge_totals"
        ):
            acc = calc.used[(r["k"], r["w"])]
            acc[0] += int(r["t"])
            acc[1] += int(r["c"])
        calc.charges = int(await conn.fetchval(f"SELECT count(*) FROM {p}charges")) + int(
            await conn.fetchval(f"SELECT coalesce(sum(n), 0) FROM {p}charge_totals")
        )
        for r in await conn.fetch(
            f"SELECT bkey, sum(tokens) FILTER (WHERE settled) AS ut, "
            "sum(cost) FILTER (WHERE settled) AS uc, sum(tokens) FILTER (WHERE NOT settled) AS rt, "
            f"sum(cost) FILTER (WHERE NOT settled) AS rc FROM {p}holds GROUP BY bkey"
        ):
            calc.hold(r["bkey"], int(r["ut"] or 0), int(r["uc"] or 0), True)
            calc.hold(r["bkey"], int(r["rt"] or 0), int(r["rc"] or 0), False)
        for r in await conn.fetch(
            f"SELECT h.bkey, h.rid, h.tokens, coalesce(r.tokens, 0) AS expected "
            f"FROM {p}holds h LEFT JOIN {p}reservations r ON r.rid = h.rid AND r.state = 0 "
            "WHERE NOT h.settled AND h.tokens <> coalesce(r.tokens, 0) "
            f"UNION ALL SELECT h.bkey, h.rid, h.tokens, c.tokens FROM {p}holds h "
            f"JOIN {p}charges c ON c.rid = h.rid OR (c.rid IS NULL AND c.charge_id = h.rid) "
            "WHERE h.settled AND h.tokens <> c.tokens LIMIT 1000"
        ):
            calc.differ((r["bkey"], ROLLING_START), f"hold {r['rid']} tokens",
                        int(r["tokens"]), int(r["expected"]))  # fmt: skip
        rows = await conn.fetch(
            "SELECT bkey, window_start, tokens_used, cost_used, tokens_reserved, cost_reserved "
            f"FROM {p}counters WHERE window_start = -1 "
            "OR (window_start <= $1 AND $1 < window_end)",
            now,
        )
        for r in rows:
            stored = (r["tokens_used"], r["cost_used"], r["tokens_reserved"], r["cost_reserved"])
            calc.compare((r["bkey"], r["window_start"]), stored)
    return calc.report("postgresql", now, len(rows))


def run_check(db_url: str, prefix: str = "budget_", now: float | None = None) -> ConsistencyReport:
    """Check the ledger behind ``db_url`` (what ``agent-sidecar check-consistency`` runs)."""
    from sidecar.store.urls import parse_database_url

    parsed = parse_database_url(db_url, check_driver=False)
    if not parsed.is_sqlite:
        import asyncio

        import asyncpg

        from sidecar.store.urls import asyncpg_dsn

        async def check() -> ConsistencyReport:
            conn = await asyncpg.connect(asyncpg_dsn(db_url), timeout=10)
            try:
                return await check_postgres(conn, prefix, now)
            finally:
                await conn.close()

        return asyncio.run(check())
    path = parsed.sqlite_path
    if path is None:
        raise ValueError("an in-memory database keeps no ledger to check")
    return check_sqlite(path, prefix, now)
