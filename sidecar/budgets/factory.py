"""Choose the ledger from the store URL: PostgreSQL → shared, SQLite (or none) → in-process."""

from __future__ import annotations

import time

from sidecar.budgets.config import BudgetsConfig
from sidecar.budgets.journal import SqliteJournal
from sidecar.budgets.ledger import BudgetLedger, Clock, Pricer
from sidecar.budgets.memory import InProcessLedger


def sqlite_path(url: str) -> str | None:
    """``sqlite+aiosqlite:///./data/x.db`` → ``./data/x.db``; None for in-memory databases."""
    _, _, rest = url.partition(":///")
    path = rest.split("?", 1)[0]
    return None if not path or path == ":memory:" else path


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql", "postgres"))


def create_ledger(
    config: BudgetsConfig, db_url: str | None, clock: Clock = time.time,
    pricer: Pricer | None = None,
) -> BudgetLedger:  # fmt: skip
    """The ledger for ``db_url``; call ``await ledger.start()`` before use, ``close()`` after.
    ``pricer`` prices settles that carry no cost (the same price table as ingest)."""
    if db_url and is_postgres(db_url):
        from sidecar.budgets.postgres import PostgresLedger

        return PostgresLedger(config, db_url, clock, pricer)
    path = sqlite_path(db_url) if db_url else None
    journal = SqliteJournal(path, config.table_prefix) if path else None
    return InProcessLedger(config, journal, clock, pricer)
