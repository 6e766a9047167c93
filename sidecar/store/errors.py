"""The store's errors, shared by every part that persists (events, budgets, tools, the fleet).

Each route answers any :class:`StoreUnavailable` (or subclass) with 503 ``store_unavailable``
and ``Retry-After``, and :class:`StoreOverloaded` with 503 as well: neither is the client's fault.
"""

from __future__ import annotations


class StoreUnavailable(RuntimeError):
    """The database refused or lost the operation; nothing of it was acknowledged."""


class StoreOverloaded(RuntimeError):
    """The write queue is full; the client should retry later."""
