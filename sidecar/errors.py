"""The error vocabulary shared by every package: what a route answers for each is fixed.

:class:`StoreUnavailable` (and its subclasses in budgets, tools and the fleet) is 503
``store_unavailable`` with ``Retry-After``; :class:`StoreOverloaded` is 503 as well: neither is
the client's fault. This module imports nothing, so any core package may raise them.
"""

from __future__ import annotations


class StoreUnavailable(RuntimeError):
    """The database refused or lost the operation; nothing of it was acknowledged."""


class StoreOverloaded(RuntimeError):
    """The write queue is full; the client should retry later."""
