"""Benchmark: the cost of an admit in the budget core (no HTTP).

In process: admit (+ settle) against a user and a global budget through the in-process ledger
with its SQLite journal, per-call p50/p99 and ops/s; the baseline is one conditional
``UPDATE … RETURNING`` per admit with stdlib sqlite3 (the fastest durable per-op alternative).
PostgreSQL: exact admits/s of the shared ledger at 1 and 16 concurrent tasks, and 3 processes
together (16 tasks each) on one user's budget (one hot row); the floor is a bare prepared
``SELECT 1`` round trip through the same pool at the same concurrency.

Run: ``python -m bench.bench_admit_core`` (``--quick`` for the short version).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

PG_DSN = os.environ.get("SIDECAR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
BIG = 10**14


def _policies() -> list[Any]:
    from sidecar.budgets import BudgetPolicyEntry

    return [
        BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=BIG),
        BudgetPolicyEntry(scope="global", id="all", window="month", max_cost_usd=10**8),
    ]


async def _in_process(n: int) -> dict[str, float]:
    from sidecar.budgets import AdmitRequest, BudgetsConfig, InProcessLedger
    from sidecar.budgets.journal import SqliteJournal

    with tempfile.TemporaryDirectory() as d:
        ledger = InProcessLedger(
            BudgetsConfig(policies=_policies()), SqliteJournal(str(Path(d) / "b.db"))
        )
        await ledger.start()
        reqs = [
            AdmitRequest(
                request_id="r",
                user_id=f"u{i % 1000}",
                input_tokens=900,
                max_output_tokens=100,
                cost_usd=0.001,
            )
            for i in range(n)
        ]
        lat: list[int] = []
        clock = time.perf_counter_ns
        t0 = time.perf_counter()
        for r in reqs:
            s = clock()
            dec = await ledger.admit(r)
            lat.append(clock() - s)
            await ledger.settle(dec.reservation_id or "", input_tokens=800, cost_usd=0.0008)
        total = time.perf_counter() - t0
        await ledger.close()
    lat.sort()
    return {
        "p50_us": lat[len(lat) // 2] / 1000,
        "p99_us": lat[int(len(lat) * 0.99)] / 1000,
        "admit_settle_per_s": n / total,
    }


async def _commit_window(n: int) -> dict[str, float]:
    """How long after its answer an admit is on disk (the SQLite group-commit window): admits
    at about 200/s; for each, the time until the first journal batch submitted after it is
    committed."""
    import random

    from sidecar.budgets import AdmitRequest, BudgetsConfig, InProcessLedger
    from sidecar.budgets.journal import SqliteJournal

    with tempfile.TemporaryDirectory() as d:
        journal = SqliteJournal(str(Path(d) / "b.db"))
        ledger = InProcessLedger(BudgetsConfig(policies=_policies()), journal)
        await ledger.start()
        batches: list[tuple[float, list[float]]] = []
        submit = journal.submit

        def timed_submit(batch: Any) -> Any:
            fut = submit(batch)
            done: list[float] = []
            batches.append((time.perf_counter(), done))
            fut.add_done_callback(lambda _f: done.append(time.perf_counter()))
            return fut

        journal.submit = timed_submit  # type: ignore[method-assign]
        answered: list[float] = []
        rng = random.Random(1)
        req = AdmitRequest(request_id="r", user_id="u", input_tokens=10, cost_usd=0.0)
        for _ in range(n):
            await ledger.admit(req)
            answered.append(time.perf_counter())
            await asyncio.sleep(rng.uniform(0, 0.01))
        await ledger.flush()
        await ledger.close()
    windows = []
    for t in answered:
        done = next(ds[0] for submitted, ds in batches if submitted >= t and ds)
        windows.append((done - t) * 1000)
    windows.sort()
    return {"p50_ms": windows[len(windows) // 2], "p99_ms": windows[int(len(windows) * 0.99)],
            "max_ms": windows[-1]}  # fmt: skip


def _sqlite_baseline(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        conn = sqlite3.connect(str(Path(d) / "b.db"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE c (k TEXT PRIMARY KEY, used INTEGER, cap INTEGER)")
        conn.executemany("INSERT INTO c VALUES (?, 0, ?)", [(f"u{i}", BIG) for i in range(1000)])
        conn.commit()
        lat = []
        for i in range(n):
            s = time.perf_counter_ns()
            conn.execute(
                "UPDATE c SET used = used + 1000 WHERE k = ? AND used + 1000 <= cap RETURNING used",
                (f"u{i % 1000}",),
            ).fetchone()
            conn.commit()
            lat.append(time.perf_counter_ns() - s)
        conn.close()
    lat.sort()
    return {"p50_us": lat[len(lat) // 2] / 1000, "p99_us": lat[int(len(lat) * 0.99)] / 1000,
            "ops_per_s": 1e9 / statistics.mean(lat)}  # fmt: skip


async def _pg_run(prefix: str, tasks: int, seconds: float, floor: bool,
                  unchecked: bool = False) -> int:  # fmt: skip
    """Admits (or floor round trips) completed by ``tasks`` tasks in ``seconds``.

    ``unchecked``: the admit statement without its policy-version check (a copy of the
    function in the bench's own tables), to name what binding every replica costs."""
    from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig
    from sidecar.budgets.pg_admit_sql import admit_version_check
    from sidecar.budgets.pg_schema import schema_sql
    from sidecar.budgets.postgres import PostgresLedger

    user = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=BIG)
    cfg = BudgetsConfig(policies=[user], table_prefix=prefix, pool_max_size=max(1, min(tasks, 16)))
    ledger = PostgresLedger(cfg, PG_DSN)
    await ledger.start()
    if unchecked:
        sql = schema_sql(prefix)
        assert admit_version_check(prefix) in sql
        await ledger._call("execute", sql.replace(admit_version_check(prefix), ""))
    req = AdmitRequest(request_id="r", user_id="hot", input_tokens=900, max_output_tokens=100)
    await ledger.admit(req)
    deadline = time.perf_counter() + seconds
    count = 0

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            if floor:
                await ledger._call("fetchval", "SELECT 1")
            else:
                d = await ledger.admit(req)
                assert d.allowed and not d.degraded
            count += 1

    await asyncio.gather(*[worker() for _ in range(tasks)])
    await ledger.close()
    return count


def _worker_main(prefix: str, tasks: int, seconds: float) -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(asyncio.run(_pg_run(prefix, tasks, seconds, False))), flush=True)


def _three_processes(prefix: str, tasks: int, seconds: float) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bench.bench_admit_core", "--worker", prefix, str(tasks),
           str(seconds)]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    total = sum(int(p.communicate(timeout=120)[0]) for p in procs)
    return total / seconds


async def _drop(prefix: str) -> None:
    import asyncpg

    from sidecar.budgets.pg_schema import FUNCTIONS, TABLES

    conn = await asyncpg.connect(PG_DSN)
    for t in TABLES:
        await conn.execute(f"DROP TABLE IF EXISTS {prefix}{t} CASCADE")
    for f in FUNCTIONS:
        await conn.execute(f"DROP FUNCTION IF EXISTS {prefix}{f}")
    await conn.close()


def run(quick: bool = False) -> str:
    """The markdown section for docs/benchmarks.md."""
    n = 20_000 if quick else 100_000
    mem = asyncio.run(_in_process(n))
    base = _sqlite_baseline(n // 4)
    window = asyncio.run(_commit_window(200 if quick else 1000))
    lines = [
        "## Budget admit core (in-process and PostgreSQL ledgers)",
        "",
        "| path | p50 µs | p99 µs | ops/s |",
        "|---|---|---|---|",
        f"| in-process ledger admit (2 budgets, journal on) | {mem['p50_us']:.1f} | "
        f"{mem['p99_us']:.1f} | {mem['admit_settle_per_s']:,.0f} admit+settle, one at a time "
        "(each settle waits for its journal commit) |",
        f"| baseline: sqlite3 conditional UPDATE + commit | {base['p50_us']:.1f} | "
        f"{base['p99_us']:.1f} | {base['ops_per_s']:,.0f} |",
        "",
        "SQLite group-commit window (an admit is on disk this long after its answer; kill -9 "
        f"within it forgets the hold): p50 {window['p50_ms']:.1f} ms, p99 "
        f"{window['p99_ms']:.1f} ms, max {window['max_ms']:.1f} ms (`flush_interval_s` 50 ms).",
    ]
    seconds = 1.5 if quick else 5.0
    prefix = "bb_" + uuid.uuid4().hex[:8] + "_"
    bare = "bu_" + uuid.uuid4().hex[:8] + "_"
    try:
        pg = {
            (tasks, floor): asyncio.run(_pg_run(prefix, tasks, seconds, floor)) / seconds
            for tasks in (1, 16)
            for floor in (False, True)
        }
        unchecked = {
            tasks: asyncio.run(_pg_run(bare, tasks, seconds, False, unchecked=True)) / seconds
            for tasks in (1, 16)
        }
        three = _three_processes(prefix, 16, seconds)
    except OSError as exc:
        lines += ["", f"PostgreSQL not reachable ({exc}); shared-ledger rows skipped."]
    else:
        lines += [
            "",
            "PostgreSQL shared ledger, exact admits/s on one user's budget (one hot row):",
            "",
            "| concurrency | admits/s | floor: prepared `SELECT 1`/s | ratio |",
            "|---|---|---|---|",
        ]
        for tasks in (1, 16):
            a, f = pg[(tasks, False)], pg[(tasks, True)]
            lines.append(f"| 1 process, {tasks} task(s) | {a:,.0f} | {f:,.0f} | {a / f:.2f} |")
        lines.append(f"| 3 processes x 16 tasks | {three:,.0f} | | |")
        lines += [
            "",
            "The policy-version check in the admit statement (what makes a PUT or DELETE on one "
            "replica bind every replica's next admit), against the same statement without it:",
            "",
            "| concurrency | admits/s with the check | without | ratio |",
            "|---|---|---|---|",
        ]
        for tasks in (1, 16):
            a, u = pg[(tasks, False)], unchecked[tasks]
            lines.append(f"| 1 process, {tasks} task(s) | {a:,.0f} | {u:,.0f} | {a / u:.2f} |")
    finally:
        asyncio.run(_drop(prefix))
        asyncio.run(_drop(bare))
    lines += ["", f"Command: `python -m bench.bench_admit_core{' --quick' if quick else ''}` "
              f"({n:,} in-process admits, {seconds} s per PostgreSQL run)."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        print(run(quick="--quick" in sys.argv))
