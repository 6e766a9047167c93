"""Choose the ledger from the store URL: PostgreSQL → shared, SQLite (or none) → in-process."""

from __future__ import annotations

import time

from sidecar.budgets.config import BudgetsConfig
from sidecar.budgets.in_process import InProcessLedger
from sidecar.budgets.journal import SqliteJournal
from sidecar.budgets.ledger import BudgetLedger, Clock, Pricer
from sidecar.store.urls import parse_database_url


def create_ledger(
    config: BudgetsConfig, db_url: str | None, clock: Clock = time.time,
    pricer: Pricer | None = None,
) -> BudgetLedger:  # fmt: skip
    """The ledger for ``db_url``; call ``await ledger.start()`` before use, ``close()`` after.
    ``pricer`` prices settles that carry no cost (the same price table as ingest)."""
    parsed = parse_database_url(db_url, check_driver=False) if db_url else None
    if parsed is not None and not parsed.is_sqlite:
        from sidecar.budgets.postgres import PostgresLedger

        return PostgresLedger(config, db_url or "", clock, pricer)
    path = parsed.sqlite_path if parsed is not None else None
    journal = SqliteJournal(path, config.table_prefix) if path else None
    return InProcessLedger(config, journal, clock, pricer)
