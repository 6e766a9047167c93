"""Cache scopes: the (tenant, namespace, model, user_id) an entry lives in.

A lookup only ever sees entries of its own scope, plus the shared scope of its namespace when the
namespace is configured as ``shared_across_users``. The shared scope is the same tuple with
``user_id=None``. Entries whose value contains PII never go there: they stay in the user's scope,
and a PII value without a user id is refused (it would land in a scope every anonymous caller
shares).
"""

from __future__ import annotations

from typing import NamedTuple

from sidecar.cache.config import CacheConfig


class CacheScope(NamedTuple):
    """Where an entry lives. ``None`` is a value of its own, not a wildcard."""

    tenant: str | None
    namespace: str
    model: str | None = None
    user_id: str | None = None


class PiiScopeError(ValueError):
    """A value marked as containing PII was stored without a user to keep it private to."""


def storage_scope(config: CacheConfig, scope: CacheScope, contains_pii: bool) -> CacheScope:
    """The scope an entry stored from ``scope`` goes to."""
    if contains_pii:
        if scope.user_id is None:
            raise PiiScopeError("a value containing PII needs a user_id to be cached")
        return scope
    if config.namespace(scope.namespace).shared_across_users:
        return scope._replace(user_id=None)
    return scope


def lookup_scopes(config: CacheConfig, scope: CacheScope) -> tuple[CacheScope, ...]:
    """The scopes a lookup from ``scope`` may read, most private first."""
    if config.namespace(scope.namespace).shared_across_users and scope.user_id is not None:
        return (scope, scope._replace(user_id=None))
    return (scope,)
