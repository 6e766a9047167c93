"""The event store's errors: the shared outage errors (:mod:`sidecar.errors`) and the refusal
of a request's own rows."""

from __future__ import annotations

from sidecar.errors import StoreOverloaded, StoreUnavailable

__all__ = ["RowsRefused", "StoreOverloaded", "StoreUnavailable"]


class RowsRefused(ValueError):
    """The database (or the check before it) refuses a value of this request's rows;
    ``field`` names the column. Nothing of the request was stored; resending fails again
    (a 422 at the API, never a 503: the client's rows, not the store)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
