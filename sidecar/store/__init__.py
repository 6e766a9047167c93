"""Event storage over SQLite (default, the stdlib driver on the hot path) or PostgreSQL.

Names are loaded on first access: importing the package (or the writer, the rows, the filters)
does not import SQLAlchemy; ``create_engine``, the queries and the SQLAlchemy inserter do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.store.config import StoreConfig
    from sidecar.store.database import create_engine, create_schema, is_sqlite, ping
    from sidecar.store.errors import RowsRefused, StoreOverloaded, StoreUnavailable
    from sidecar.store.event_store import EventStore, open_event_store
    from sidecar.store.filters import EventFilter, EventPage, QueryError
    from sidecar.store.inserters import BatchInserter, make_inserter
    from sidecar.store.queries import aggregate, list_events
    from sidecar.store.rows import event_row
    from sidecar.store.writer import EventWriter

_HOME = {
    "BatchInserter": "inserters",
    "EventFilter": "filters",
    "EventPage": "filters",
    "EventStore": "event_store",
    "EventWriter": "writer",
    "QueryError": "filters",
    "RowsRefused": "errors",
    "StoreConfig": "config",
    "StoreOverloaded": "errors",
    "StoreUnavailable": "errors",
    "aggregate": "queries",
    "create_engine": "database",
    "create_schema": "database",
    "event_row": "rows",
    "is_sqlite": "database",
    "list_events": "queries",
    "make_inserter": "inserters",
    "open_event_store": "event_store",
    "ping": "database",
}

__all__ = [
    "BatchInserter",
    "EventFilter",
    "EventPage",
    "EventStore",
    "EventWriter",
    "QueryError",
    "RowsRefused",
    "StoreConfig",
    "StoreOverloaded",
    "StoreUnavailable",
    "aggregate",
    "create_engine",
    "create_schema",
    "event_row",
    "is_sqlite",
    "list_events",
    "make_inserter",
    "open_event_store",
    "ping",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'sidecar.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sidecar.store.{home}"), name)
