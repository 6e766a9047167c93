"""``agent-sidecar demo``: the real server on its own database, driven by a simulated fleet.

It starts the sidecar on ``./data/demo.db`` (made afresh each time; never ``./data/sidecar.db``,
the file ``serve`` uses by default), sends a few hundred agent runs through the runtime SDK over
loopback HTTP, then prints what the sidecar stored: events, calls and tokens per model, latency
percentiles, errors, admission, cache and safety figures, and last the URLs to look at. The
same ``--seed`` gives the same counts every time. Then, in a terminal (standard input and output
TTYs) or with ``--keep-serving``, it keeps serving until Ctrl-C so the URLs work; otherwise
(``--no-serve``, CI, a pipe) it stops after the summary. Exit 0 on success.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from runtime import SidecarClient
from sidecar.app import create_app
from sidecar.config import Settings
from sidecar.demo_workload import Workload
from sidecar.server import start_runner
from sidecar.store.urls import parse_database_url, redact_password

DEMO_DB = Path("data") / "demo.db"
SERVE_DEFAULT_DB = Path("data") / "sidecar.db"
DEMO_BUDGET_USERS = ("user-000", "user-001")
DEMO_BUDGET_TOKENS = 20_000


def run_demo(
    settings: Settings,
    *,
    runs: int = 600,
    users: int = 40,
    seed: int = 7,
    keep_serving: bool | None = None,
) -> int:
    """``keep_serving`` None: keep serving when standard input and output are terminals."""
    if keep_serving is None:
        keep_serving = _is_terminal(sys.stdin) and _is_terminal(sys.stdout)
    settings = demo_settings(settings)
    return asyncio.run(
        _demo(settings, runs=runs, users=users, seed=seed, keep_serving=keep_serving)
    )


def _is_terminal(stream: Any) -> bool:
    return stream is not None and stream.isatty()


def demo_settings(settings: Settings) -> Settings:
    """The demo's own store: ``./data/demo.db``, emptied first, in place of the ``serve``
    default; any other database URL (given on purpose) is used as it is."""
    path = parse_database_url(settings.db_url, check_driver=False).sqlite_path
    if path is None or not (_same_file(path, SERVE_DEFAULT_DB) or _same_file(path, DEMO_DB)):
        return settings
    for suffix in ("", "-wal", "-shm"):
        DEMO_DB.with_name(DEMO_DB.name + suffix).unlink(missing_ok=True)
    return msgspec.structs.replace(settings, db_url=f"sqlite+aiosqlite:///./{DEMO_DB.as_posix()}")


def _same_file(path: str, other: Path) -> bool:
    return os.path.abspath(path) == os.path.abspath(other)


def _free_port(host: str, preferred: int) -> int:
    with socket.socket() as probe:
        try:
            if preferred == 0:
                raise OSError("any free port")
            probe.bind((host, preferred))
            return preferred
        except OSError:
            probe.bind((host, 0))
            return int(probe.getsockname()[1])


async def _demo(settings: Settings, *, runs: int, users: int, seed: int, keep_serving: bool) -> int:
    port = _free_port(settings.host, settings.port)
    base = f"http://{settings.host}:{port}"
    runner = await start_runner(create_app(settings), settings, port=port)
    print(
        f"agent-sidecar demo: sidecar on {base}, store {redact_password(settings.db_url)}",
        file=sys.stderr,
    )
    started = time.time()
    try:
        await _demo_budgets(base, settings.api_token)
        async with SidecarClient(base, token=settings.api_token) as client:
            workload = Workload(client, users=users, seed=seed)
            for index in range(runs):
                await workload.one_run(index)
                if (index + 1) % 20 == 0 or index + 1 == runs:
                    _progress(index + 1, runs)
            await client.flush()
            print(file=sys.stderr)
            lost = client.stats.dropped_queue_full + client.stats.dropped_after_retries
        summary = await _summary(base, settings.api_token, since=started)
        _print_summary(summary, lost, time.time() - started)
        _print_governance(workload, summary["safety"])
        _print_urls(
            base if keep_serving else f"http://{settings.host}:{settings.port}",
            settings.db_url,
            keep_serving,
        )
        if keep_serving:
            print(f"Serving on {base}; Ctrl-C to stop.", file=sys.stderr, flush=True)
            await asyncio.Event().wait()
        return 0 if lost == 0 and summary["total"]["count"] > 0 else 1
    finally:
        await runner.cleanup()


async def _demo_budgets(base: str, token: str | None) -> None:
    """Small daily token budgets for two users, so the demo shows denials."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as http:
        for user in DEMO_BUDGET_USERS:
            async with http.put(
                f"{base}/v1/budgets/user/{user}",
                json={"window": "1d", "max_tokens": DEMO_BUDGET_TOKENS},
            ) as answer:
                answer.raise_for_status()


def _print_governance(workload: Workload, safety: dict[str, Any]) -> None:
    tally = workload.tally
    denied = tally.denied or {}
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(denied.items())) or "none"
    hits = tally.cache_lookups - tally.cache_computes
    print(
        f"\nAdmission: {tally.admitted} LLM calls admitted, {sum(denied.values())} denied "
        f"({reasons}); {' and '.join(DEMO_BUDGET_USERS)} have "
        f"{DEMO_BUDGET_TOKENS:,}-token daily budgets"
    )
    print(
        f"Cache: {tally.cache_lookups} FAQ lookups, {hits} answered from the cache "
        f"(exact or guarded fuzzy match), {tally.cache_computes} computed"
    )
    masked = sum((safety.get("redactions") or {}).values())
    flagged = sum(((safety.get("injection") or {}).get("flagged") or {}).values())
    print(
        f"Safety: {masked} personal data values masked before storage; "
        f"{tally.injection_attempts} tool results tried a prompt injection, "
        f"{flagged} flagged by the guard"
    )


def _progress(done: int, total: int) -> None:
    width = 40
    filled = int(width * done / total)
    bar = "#" * filled + "-" * (width - filled)
    print(f"\r  simulating agents [{bar}] {done}/{total} runs", end="", file=sys.stderr, flush=True)


async def _summary(base: str, token: str | None, *, since: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def get(path: str, **params: Any) -> Any:
            async with http.get(base + path, params=params) as response:
                response.raise_for_status()
                return await response.json()

        total = await get("/v1/aggregate", since=since)
        models = await get("/v1/aggregate", since=since, group_by="model")
        tools = await get("/v1/aggregate", since=since, group_by="tool")
        stats = await get("/v1/stats", window="5m", group_by="model")
        counters = await get("/v1/summary")
    latency = {
        series["key"]["model"]: series
        for series in stats["series"]
        if series["key"].get("operation") == "chat"
    }
    return {
        **total,
        "models": models["groups"],
        "tools": tools["groups"],
        "latency": latency,
        "safety": counters.get("safety", {}),
    }


def _pct(series: dict[str, Any] | None, metric: str, name: str) -> float:
    values = (series or {}).get(metric) or {}
    return float(values.get(name, float("nan")))


def _print_summary(summary: dict[str, Any], lost: int, elapsed: float) -> None:
    total = summary["total"]
    print(
        f"\nStored {total['count']} events in {elapsed:.1f} s "
        f"({total['errors']} errors, {lost} lost by the client)\n"
    )
    print("Per model (calls, tokens from the store; percentiles from /v1/stats, 5 min window):")
    print(
        f"{'model':<24}{'calls':>7}{'errors':>8}{'in tok':>10}{'out tok':>10}{'USD':>9}"
        f"{'TTFT p50':>10}{'p95':>8}{'dur p50':>10}{'p95':>8}{'p99':>8}  (ms)"
    )
    for group in sorted(summary["models"], key=lambda g: (-g["count"], g["model"])):
        model = group["model"]
        series = summary["latency"].get(model)
        print(
            f"{model:<24}{group['count']:>7}{group['errors']:>8}{group['input_tokens']:>10}"
            f"{group['output_tokens']:>10}{group['cost_usd']:>9.2f}"
            f"{_pct(series, 'ttft_ms', 'p50'):>10.0f}"
            f"{_pct(series, 'ttft_ms', 'p95'):>8.0f}{_pct(series, 'duration_ms', 'p50'):>10.0f}"
            f"{_pct(series, 'duration_ms', 'p95'):>8.0f}"
            f"{_pct(series, 'duration_ms', 'p99'):>8.0f}"
        )
    print(f"\n{'tool':<20}{'calls':>7}{'errors':>8}")
    for group in sorted(summary["tools"], key=lambda g: (-g["count"], g["tool"])):
        print(f"{group['tool']:<20}{group['count']:>7}{group['errors']:>8}")


def _print_urls(base: str, db_url: str, keep_serving: bool) -> None:
    if keep_serving:
        print("\nLook at (served until Ctrl-C):")
    else:
        print(
            f"\nThe demo's server has stopped; to look again: agent-sidecar serve --db-url "
            f"{redact_password(db_url)} (or `agent-sidecar demo --keep-serving`), then:"
        )
    for path in (
        "/health",
        "/metrics",
        "/v1/events?limit=5",
        "/v1/aggregate?group_by=model",
        "/v1/stats?window=5m&group_by=model",
    ):
        print(f"  {base}{path}")
    print(f"\nConsole: {base}/ui/", flush=True)
