"""Tenant confinement of what a tenant-scoped caller sends and asks for.

- Events and spans it sends get its tenant (a different ``tenant`` is refused with 403).
- Budgets: its ``user_id`` is namespaced as ``<tenant>:<user_id>``, so a user id that two
  tenants both use never shares a budget; it reserves on its own tenant's budgets and the
  global ones, never on another tenant's.
- Reservations it is granted carry a tenant tag (``rsv_...~<tag>``, the first 12 hex digits of
  SHA-256 of the tenant); settling one, by ``POST /v1/budgets/settle`` or by an event's
  ``reservation_id``, works only for the same tenant. A reservation of another tenant (or of
  no tenant) does not settle: the route answers 404 and an event's foreign id is dropped.

Example: tenant ``acme`` admitting for user ``u-1`` reserves on ``user/acme:u-1`` and
``tenant/acme`` and receives ``rsv_3f2a...~6b1f0c2e9d4a``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from sidecar.api.principals import Principal
from sidecar.events.schema import Event, LlmCall

TAG_SEPARATOR = "~"


def tenant_tag(tenant: str) -> str:
    return hashlib.sha256(tenant.encode()).hexdigest()[:12]


def tag_reservation(reservation_id: str, tenant: str | None) -> str:
    if tenant is None:
        return reservation_id
    return f"{reservation_id}{TAG_SEPARATOR}{tenant_tag(tenant)}"


def own_reservation(reservation_id: str, tenant: str | None, who: Principal) -> str | None:
    """The ledger's id for a reservation ``who`` may settle for ``tenant``, else None.

    A caller of no tenant (admin) settles anything: a tag is checked against the event's
    tenant when it names one, and stripped.
    """
    base, sep, tag = reservation_id.rpartition(TAG_SEPARATOR)
    if not sep:
        return reservation_id if who.tenant is None else None
    effective = who.tenant if who.tenant is not None else tenant
    if effective is not None and tag != tenant_tag(effective):
        return None
    return base


def scoped_user(who: Principal, user_id: str | None) -> str | None:
    """The budget key of a user: ``<tenant>:<user_id>`` for a tenant-scoped caller."""
    if who.tenant is None or user_id is None:
        return user_id
    return f"{who.tenant}:{user_id}"


class BudgetUsers:
    """The budget id of a user of a tenant: ``<tenant>:<user_id>`` for a tenant that has
    tenant-scoped tokens, the plain id otherwise. The same for an admit, a usage query and a
    charged event, whoever (tenant token or admin) sends it, so they all meet one budget.

    ``tenant`` is the tenant as stored (``mask``: PII → pseudonym), so a configured tenant
    name holding PII is recognised under its pseudonym too."""

    def __init__(
        self, scoped_tenants: Iterable[str] = (), mask: Callable[[str], str | None] | None = None
    ) -> None:
        self.scoped = frozenset(scoped_tenants)
        self._mask = mask

    def __call__(self, tenant: str | None, user_id: str | None) -> str | None:
        if user_id is None or tenant is None or not self._is_scoped(tenant):
            return user_id
        return f"{tenant}:{user_id}"

    def _is_scoped(self, tenant: str) -> bool:
        if tenant in self.scoped:
            return True
        mask = self._mask
        return mask is not None and any(mask(t) == tenant for t in self.scoped)


def confine_events(who: Principal, events: Iterable[Event]) -> int:
    """Force the caller's tenant on ``events``; drop reservation ids it may not settle.

    Returns how many reservation ids were dropped. Raises ApiError 403 on a foreign tenant.
    """
    dropped = 0
    for event in events:
        event.tenant = who.own_tenant(event.tenant)
        if type(event) is LlmCall and event.reservation_id is not None:
            own = own_reservation(event.reservation_id, event.tenant, who)
            if own is None:
                dropped += 1
            event.reservation_id = own
    return dropped


def limit_key(tenant: str | None, request_id: str) -> str:
    """The per-request limit key: a request id of one tenant never counts for another."""
    return request_id if tenant is None else f"{tenant}\x1f{request_id}"
