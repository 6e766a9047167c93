"""Who is calling: a token resolves to a :class:`Principal` (tenant and role).

Guarantees:

- Tokens are looked up by their SHA-256 digest; the clear token is never kept in memory
  after hashing the configured ``api_token`` and never written anywhere.
- Roles: ``agent`` sends events and traces, admits, settles, uses the cache and the redactor,
  and waits for an approval; ``reader`` queries (events, aggregates, stats, usage, budgets
  list, tool policies, runs, series, denials, summary, metrics); ``approver`` lists, reads and
  decides tool-call approvals; ``admin`` may do everything, including budget and tool policy
  changes. Roles do not nest except that ``admin`` holds all.
- A principal with a tenant sees and changes only that tenant's data: the routes force its
  tenant onto what it sends and what it asks for (see :meth:`Principal.own_tenant`).

Example: ``TokenRegistry.from_config("s3cret-admin", [TokenConfig(sha256=sha256("t-a"),
tenant="a", role="agent")])`` resolves ``Bearer t-a`` to ``Principal("a", "agent")``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from sidecar.api.config import Role, TokenConfig
from sidecar.api.errors import ApiError

_GRANTS: dict[str, frozenset[str]] = {
    "agent": frozenset({"agent", "approval_wait"}),
    "reader": frozenset({"reader"}),
    "approver": frozenset({"approver", "approval_wait"}),
    "admin": frozenset({"agent", "reader", "approver", "approval_wait", "admin"}),
}


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token: what the configuration and the store keep."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller: ``tenant`` None means every tenant (the legacy ``api_token`` or an open API)."""

    name: str
    role: Role
    tenant: str | None = None

    def may(self, needed: str) -> bool:
        return needed in _GRANTS[self.role]

    def own_tenant(self, given: str | None, field: str = "tenant") -> str | None:
        """The tenant to use for a value the caller sent: its own; another one is refused."""
        if self.tenant is None:
            return given
        if given is not None and given != self.tenant:
            raise ApiError(
                403, "tenant_mismatch", f"this token may only use tenant {self.tenant!r}", field
            )
        return self.tenant

    def require_all_tenants(self, what: str) -> None:
        """Refuse data that mixes tenants (global budgets, process-wide stats) to a tenant."""
        if self.tenant is not None:
            raise ApiError(403, "forbidden", f"{what} spans all tenants: needs a tenantless token")


OPEN = Principal("open", "admin")
PRINCIPAL = web.RequestKey("principal", Principal)


def principal(request: web.Request) -> Principal:
    """The caller of ``request`` (set by the auth middleware; OPEN when auth is off)."""
    caller: Principal = request.get(PRINCIPAL, OPEN)
    return caller


class TokenRegistry:
    """Digest → principal. Empty means no authentication (loopback-only use)."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self._by_digest = principals

    @classmethod
    def from_config(cls, api_token: str | None, tokens: Iterable[TokenConfig]) -> TokenRegistry:
        out: dict[str, Principal] = {}
        if api_token:
            out[token_digest(api_token)] = Principal("api_token", "admin")
        for i, t in enumerate(tokens):
            out[t.sha256] = Principal(t.name or f"token-{i}", t.role, t.tenant)
        return cls(out)

    @property
    def enabled(self) -> bool:
        return bool(self._by_digest)

    def add(self, digest: str, who: Principal) -> None:
        self._by_digest[digest] = who

    def resolve(self, authorization: str) -> Principal | None:
        """The principal for an ``Authorization`` header value, or None."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return self._by_digest.get(token_digest(token.strip()))


# The role each route needs, by (method, route pattern); unknown routes need admin.
ROUTE_ROLES: dict[tuple[str, str], str] = {
    ("POST", "/v1/events"): "agent",
    ("GET", "/v1/events"): "reader",
    ("GET", "/v1/aggregate"): "reader",
    ("GET", "/v1/stats"): "reader",
    ("POST", "/v1/traces"): "agent",
    ("POST", "/v1/metrics"): "agent",
    ("POST", "/v1/logs"): "agent",
    ("POST", "/v1/admit"): "agent",
    ("POST", "/v1/budgets/settle"): "agent",
    ("GET", "/v1/budgets"): "reader",
    ("PUT", "/v1/budgets/{scope}/{id}"): "admin",
    ("DELETE", "/v1/budgets/{scope}/{id}"): "admin",
    ("GET", "/v1/usage/{scope}/{id}"): "reader",
    ("POST", "/v1/cache/store"): "agent",
    ("POST", "/v1/cache/lookup"): "agent",
    ("DELETE", "/v1/cache/{namespace}"): "agent",
    ("POST", "/v1/redact"): "agent",
    ("GET", "/metrics"): "reader",
    ("GET", "/v1/runs"): "reader",
    ("GET", "/v1/runs/{request_id}"): "reader",
    ("GET", "/v1/series"): "reader",
    ("GET", "/v1/stats/distribution"): "reader",
    ("GET", "/v1/budgets/denials"): "reader",
    ("GET", "/v1/summary"): "reader",
    ("GET", "/v1/tool-policies"): "reader",
    ("GET", "/v1/tool-policies/{tenant}/{agent}"): "reader",
    ("PUT", "/v1/tool-policies/{tenant}/{agent}"): "admin",
    ("DELETE", "/v1/tool-policies/{tenant}/{agent}"): "admin",
    ("GET", "/v1/approvals"): "approver",
    ("GET", "/v1/approvals/{id}"): "approval_wait",  # the agent waiting, or an approver
    ("POST", "/v1/approvals/{id}"): "approver",
}


def needed_role(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    pattern = resource.canonical if resource is not None else request.path
    method = "GET" if request.method == "HEAD" else request.method
    return ROUTE_ROLES.get((method, pattern), "admin")
