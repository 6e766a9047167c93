"""One sidecar process for the multi-process test: its own asyncpg pool, N concurrent admits.

Usage: python pg_admit_worker.py DSN PREFIX N. Prints "ready", waits for a line on stdin,
fires N admits of 1,000 tokens for user u1 at once and prints the count granted as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys


async def main(dsn: str, prefix: str, n: int) -> None:
    from sidecar.budgets import AdmitRequest, BudgetPolicyEntry, BudgetsConfig
    from sidecar.budgets.postgres import PostgresLedger

    policy = BudgetPolicyEntry(scope="user", id="*", window="1d", max_tokens=100_000)
    cfg = BudgetsConfig(policies=[policy], table_prefix=prefix, pool_max_size=8)
    ledger = PostgresLedger(cfg, dsn)
    await ledger.start()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    request = AdmitRequest(request_id="r", user_id="u1", input_tokens=500, max_output_tokens=500)
    decisions = await asyncio.gather(*[ledger.admit(request) for _ in range(n)])
    granted = sum(d.allowed and not d.degraded for d in decisions)
    print(json.dumps({"granted": granted, "degraded": sum(d.degraded for d in decisions)}))
    await ledger.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
