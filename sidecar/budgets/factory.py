"""Choose the ledger from the store URL: PostgreSQL → shared, SQLite (or none) → in-process."""

from __future__ import annotations

import time

from sidecar.budgets.config import BudgetsConfig
from sidecar.budgets.journal import SqliteJournal
from sidecar.budgets.ledger import BudgetLedger, Clock
from sidecar.budgets.memory import InProcessLedger


def sqlite_path(url: str) -> str | None:
    """``sqlite+aiosqlite:///./data/x.db`` → ``./data/x.db``; None for in-memory databases."""
    _, _, rest = url.partition(":///")
    path = rest.split("?", 1)[0]
    return None if not path or path == ":memory:" else path


def create_ledger(
    config: BudgetsConfig, db_url: str | None, clock: Clock = time.time
) -> BudgetLedger:
    """The ledger for ``db_url``; call ``await ledger.start()`` before use, ``close()`` after."""
    if db_url and db_url.startswith(("postgresql", "postgres")):
        from sidecar.budgets.postgres import PostgresLedger

        return PostgresLedger(config, db_url, clock)
    path = sqlite_path(db_url) if db_url else None
    journal = SqliteJournal(path, config.table_prefix) if path else None
    return InProcessLedger(config, journal, clock)
