"""Store unavailability as the contract's 503: whatever route touched the database.

A route that reads or writes the store (events, aggregates, runs, series, budgets, the fleet's
sketches) may meet a database that is down, restarting or out of connections. Those errors are
the store's, not the client's nor ours: each becomes 503 ``store_unavailable`` with
``Retry-After: 1``, never a 500. Recognised: the event writer's and the ledger's
``StoreUnavailable``, SQLAlchemy's connection-level errors (``OperationalError``,
``InterfaceError``, pool timeouts, invalidated connections), asyncpg's connection errors, the
stdlib sqlite3's ``OperationalError`` (locked, disk I/O) and
plain socket errors (``OSError``: connection refused, reset, DNS), looked up along the chain
of causes (``raise .. from``).
"""

from __future__ import annotations

import sqlite3
import sys

from sidecar.api.errors import ApiError
from sidecar.store import StoreOverloaded, StoreUnavailable

RETRY_AFTER_S = 1
_ALWAYS: tuple[type[BaseException], ...] = (
    StoreUnavailable,
    sqlite3.OperationalError,
    ConnectionError,
    OSError,
)
_outages: tuple[type[BaseException], ...] = _ALWAYS
_known: frozenset[str] = frozenset()


def _outage_types() -> tuple[type[BaseException], ...]:
    """The outage classes of the drivers loaded so far: an error of SQLAlchemy or asyncpg can
    only exist once its module is imported, so neither is imported here (the default start
    loads neither)."""
    global _outages, _known
    loaded = frozenset(name for name in ("sqlalchemy.exc", "asyncpg") if name in sys.modules)
    if loaded != _known:
        found = list(_ALWAYS)
        if "sqlalchemy.exc" in loaded:
            sa_exc = sys.modules["sqlalchemy.exc"]
            found += [sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                      sa_exc.DisconnectionError, sa_exc.ResourceClosedError]  # fmt: skip
        if "asyncpg" in loaded:
            errors = sys.modules["asyncpg"].exceptions
            found += [errors.PostgresConnectionError, errors.InterfaceError,
                      errors.CannotConnectNowError, errors.TooManyConnectionsError,
                      errors.AdminShutdownError]  # fmt: skip
        _outages, _known = tuple(found), loaded
    return _outages


def is_outage(error: BaseException) -> bool:
    """True when ``error`` (or one of its causes) says the store could not be reached."""
    outages = _outage_types()
    sa_exc = sys.modules.get("sqlalchemy.exc")
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 8:
        if isinstance(current, outages):
            return True
        if (
            sa_exc is not None
            and isinstance(current, sa_exc.DBAPIError)
            and current.connection_invalidated
        ):
            return True
        current = current.__cause__
        seen += 1
    return False


def outage_error(error: BaseException) -> ApiError | None:
    """The 503 for a store outage (``overloaded`` for a full write queue), else None."""
    if isinstance(error, StoreOverloaded):
        return ApiError(
            503,
            "overloaded",
            "the store's write queue is full",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if is_outage(error):
        return ApiError(
            503,
            "store_unavailable",
            "the store did not answer; retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return None
