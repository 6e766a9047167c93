"""Event storage: SQLAlchemy 2 async over SQLite (default) or PostgreSQL."""

from sidecar.store.config import StoreConfig
from sidecar.store.database import create_engine, create_schema, is_sqlite, ping
from sidecar.store.errors import RowsRefused, StoreOverloaded, StoreUnavailable
from sidecar.store.event_store import EventStore, open_event_store
from sidecar.store.inserters import BatchInserter, make_inserter
from sidecar.store.queries import EventFilter, EventPage, QueryError, aggregate, list_events
from sidecar.store.rows import event_row
from sidecar.store.writer import EventWriter

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
