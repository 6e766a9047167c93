"""Store unavailability as the contract's 503: whatever route touched the database.

A route that reads or writes the store (events, aggregates, runs, series, budgets, the fleet's
sketches) may meet a database that is down, restarting or out of connections. Those errors are
the store's, not the client's nor ours: each becomes 503 ``store_unavailable`` with
``Retry-After: 1``, never a 500. Recognised: the event writer's and the ledger's
``StoreUnavailable``, SQLAlchemy's connection-level errors (``OperationalError``,
``InterfaceError``, pool timeouts, invalidated connections), asyncpg's connection errors and
plain socket errors (``OSError``: connection refused, reset, DNS), looked up along the chain
of causes (``raise .. from``).
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from sidecar.api.errors import ApiError
from sidecar.store import StoreOverloaded, StoreUnavailable

RETRY_AFTER_S = 1
_OUTAGES: tuple[type[BaseException], ...] = (
    StoreUnavailable,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    sa_exc.ResourceClosedError,
    ConnectionError,
    OSError,
)
try:  # the PostgreSQL driver is an optional extra
    import asyncpg

    _OUTAGES += (
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.exceptions.AdminShutdownError,
    )
except ImportError:  # pragma: no cover - without the postgres extra
    pass


def is_outage(error: BaseException) -> bool:
    """True when ``error`` (or one of its causes) says the store could not be reached."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 8:
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
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
