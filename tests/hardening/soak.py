"""Bounded load and soak on loopback: N agents send events, admits and cache lookups for a fixed
time against a sidecar process over SQLite or PostgreSQL.

Reports throughput, p50/p99 latency per call and the sidecar's RSS over time; checks no errors,
no lost or duplicated events (ids answered 202 == ids stored, each once), exact budgets (a
global cap of ``BUDGET_ADMITS`` admits grants exactly that many) and flat memory.

``python -m tests.hardening.soak --seconds 300 --clients 8 [--postgres DSN]`` (``make soak``);
tests/hardening/test_soak.py runs a short form of it in ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from tests.conftest import SidecarProcess
from tests.hardening.load import Agents, LoadReport

TOKENS_PER_ADMIT = 200  # input 100 + max output 100, as the agents ask
BUDGET_ADMITS = 300


@dataclass
class SoakResult:
    backend: str
    seconds: float
    clients: int
    report: LoadReport
    rss_mb: list[float] = field(default_factory=list)
    granted: int = 0
    reserved_tokens: int = 0
    stored: int = 0
    lost_or_duplicated: int = 0

    def markdown(self) -> str:
        r = self.report
        calls = sum(r.statuses.values())
        lines = [
            f"### {self.backend}: {self.clients} agents for {self.seconds:.0f} s",
            "",
            f"- calls: {calls} ({calls / self.seconds:.0f}/s); events acknowledged "
            f"{len(r.acked)} ({len(r.acked) / self.seconds:.0f}/s), stored {self.stored}, "
            f"lost or duplicated {self.lost_or_duplicated}",
            f"- budget: {self.granted} admits granted of a cap of {BUDGET_ADMITS} "
            f"({self.reserved_tokens} tokens reserved)",
        ]
        for kind in ("admit", "cache", "events"):
            if kind in r.latencies:
                lines.append(
                    f"- {kind}: p50 {r.quantile(kind, 0.5) * 1000:.1f} ms, "
                    f"p99 {r.quantile(kind, 0.99) * 1000:.1f} ms"
                )
        lines.append(
            f"- statuses: {dict(sorted(r.statuses.items()))}; transport errors {r.transport_errors}"
        )
        lines.append("- RSS MB over time: " + ", ".join(f"{m:.0f}" for m in self.rss_mb))
        return "\n".join(lines)

    def memory_growth_mb(self) -> float:
        """Growth from the end of the first third (warm) to the last sample."""
        if len(self.rss_mb) < 3:
            return 0.0
        warm = statistics.median(self.rss_mb[len(self.rss_mb) // 3 : len(self.rss_mb) // 3 + 2])
        return self.rss_mb[-1] - warm


async def _sample_rss(pid: int, out: list[float], stop: asyncio.Event, every: float) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        out.append(proc.memory_info().rss / 2**20)
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            continue


async def soak(
    db_url: str, store_url: str, *, seconds: float, clients: int, backend: str
) -> SoakResult:
    """Run the soak against a fresh sidecar process on ``db_url``."""
    from tests.hardening.test_faults import stored_ids

    sidecar = SidecarProcess(db_url, env={"SIDECAR_PROTECTION__RATE_LIMIT_PER_S": "0"}).start()
    result = SoakResult(backend, seconds, clients, LoadReport())
    try:
        assert sidecar.proc is not None
        async with aiohttp.ClientSession() as http:
            # The admits' model only: the agents' llm_call events (another model, naming no
            # reservation) are charged directly and would otherwise fill the cap too.
            async with http.put(
                sidecar.url + "/v1/budgets/global/all",
                json={
                    "window": "1d",
                    "max_tokens": TOKENS_PER_ADMIT * BUDGET_ADMITS,
                    "model": "gpt-4o-mini",
                },
            ) as resp:
                assert resp.status == 200, await resp.text()
            stop = asyncio.Event()
            sampler = asyncio.create_task(
                _sample_rss(sidecar.proc.pid, result.rss_mb, stop, max(0.5, seconds / 20))
            )
            async with Agents(sidecar.url, clients=clients) as load:
                await asyncio.sleep(seconds)  # the soak's duration, not a synchronisation
            stop.set()
            await sampler
            result.report = load.report
            result.granted = load.report.reservations
            async with http.get(sidecar.url + "/v1/usage/global/all?model=gpt-4o-mini") as resp:
                usage = await resp.json()
            result.reserved_tokens = usage["tokens_reserved"] + usage["tokens_used"]
    finally:
        sidecar.stop()
    stored = await stored_ids(store_url)
    result.stored = sum(stored.values())
    acked = set(result.report.acked)
    result.lost_or_duplicated = sum(1 for i in acked if stored[i] != 1) + sum(
        n - 1 for n in stored.values() if n > 1
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", help="a PostgreSQL database URL (postgresql+asyncpg://)")
    parser.add_argument("--dir", default="data/soak")
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    db = Path(args.dir) / f"soak-{os.getpid()}.db"
    url = args.postgres or f"sqlite+aiosqlite:///{db.resolve()}"
    started = time.time()
    result = asyncio.run(
        soak(
            url,
            url,
            seconds=args.seconds,
            clients=args.clients,
            backend="PostgreSQL" if args.postgres else "SQLite",
        )
    )
    print(result.markdown())
    print(
        f"- memory growth after warm-up: {result.memory_growth_mb():.1f} MB; "
        f"wall time {time.time() - started:.0f} s"
    )
    ok = (
        result.lost_or_duplicated == 0
        and result.report.server_errors() == 0
        and result.granted == BUDGET_ADMITS
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
