"""Tool policies and approvals over HTTP.

- ``PUT /v1/tool-policies/{tenant or *}/{agent or *}`` with ``{"rules": [...]}`` (admin): 200
  with the stored policy, 422 naming the field of a bad rule (``rules[0].args_schema``);
  binding on every replica sharing the database once answered. ``GET`` answers the policy kept
  under exactly that key (404 when none), ``DELETE`` removes the stored one;
  ``GET /v1/tool-policies`` lists them (a tenant-scoped token sees its own tenant's).
- ``GET /v1/approvals`` (approver): pending approvals, oldest first.
- ``GET /v1/approvals/{id}?wait=30`` (the agent, or an approver): the approval, waiting up to
  ``wait`` seconds (at most ``tools.approval_wait_max_s`` and below the request timeout) while it
  is pending.
- ``POST /v1/approvals/{id}`` with ``{"decision": "approve" | "deny", "note"?: "..."}``
  (approver): 200 with the decided approval, 409 when it is no longer pending.

Another tenant's approval is 404 to a tenant-scoped token, as if absent. A store outage is 503
with Retry-After. These handlers only translate HTTP; decisions are :mod:`sidecar.tools`'.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, TypeVar

import msgspec
from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response, parse_json_body
from sidecar.api.params import only_known
from sidecar.api.principals import Principal, principal
from sidecar.tools import (
    ApprovalConflict,
    ApprovalStore,
    ToolPolicy,
    ToolPolicyStore,
    ToolStoreUnavailable,
)
from sidecar.tools.policy import ANY, check_name

T = TypeVar("T")
MaskId = Callable[[str | None], str | None]


class DecideBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/approvals/{id}``: the decision and an optional note (at most 2,000 chars)."""

    decision: Literal["approve", "deny"]
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


async def _guarded(call: Awaitable[T]) -> T:
    try:
        return await call
    except ToolStoreUnavailable as exc:
        raise ApiError(503, "store_unavailable", str(exc),
                       headers={"Retry-After": "1"}) from None  # fmt: skip


def _key(request: web.Request, mask_id: MaskId) -> tuple[str, str]:
    """(tenant, agent) of the route, confined to a tenant-scoped caller's own tenant; an id
    holding PII is keyed by its pseudonym, as admits and events name it."""
    tenant, agent = request.match_info["tenant"], request.match_info["agent"]
    for name, value in (("tenant", tenant), ("agent", agent)):
        if not 1 <= len(value) <= 256:
            raise ApiError(422, "invalid_parameter", f"{name} must be 1..256 characters", name)
        try:
            check_name(value, name)
        except ValueError as exc:
            raise ApiError(422, "invalid_parameter", str(exc), name) from None
    who = principal(request)
    if who.tenant is not None:
        if tenant == ANY:
            who.require_all_tenants("the policy of every tenant")
        who.own_tenant(tenant, "tenant")
    return _masked(tenant, mask_id), _masked(agent, mask_id)


def _masked(value: str, mask_id: MaskId) -> str:
    return value if value == ANY else (mask_id(value) or value)


def _approval_id(request: web.Request) -> str | None:
    """The id of the route when it can be one (ids are short and printable), else None."""
    value = request.match_info["id"]
    if len(value) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value


def routes(store: ToolPolicyStore, approvals: ApprovalStore, *, wait_max_s: float,
           request_timeout_s: float, mask_id: MaskId = lambda value: value,
           ) -> list[web.RouteDef]:  # fmt: skip
    """``mask_id``: tenant and agent ids holding PII are keyed by their pseudonym."""

    def _caller_tenant(who: Principal) -> str | None:
        return mask_id(who.tenant)

    wait_cap = (wait_max_s if request_timeout_s <= 0
                else max(0.0, min(wait_max_s, request_timeout_s - 1.0)))  # fmt: skip

    async def put_policy(request: web.Request) -> web.Response:
        only_known(request.query, ())
        tenant, agent = _key(request, mask_id)
        policy: ToolPolicy = parse_json_body(await request.read(), ToolPolicy)
        await _guarded(store.put(tenant, agent, policy))
        return json_response({"tenant": tenant, "agent": agent, **msgspec.to_builtins(policy)})

    async def get_policy(request: web.Request) -> web.Response:
        only_known(request.query, ())
        tenant, agent = _key(request, mask_id)
        book = await _guarded(store.current())
        policy = book.get(tenant, agent)
        if policy is None:
            raise ApiError(404, "unknown_tool_policy", "no tool policy under this key")
        return json_response({"tenant": tenant, "agent": agent, **msgspec.to_builtins(policy)})

    async def delete_policy(request: web.Request) -> web.Response:
        only_known(request.query, ())
        tenant, agent = _key(request, mask_id)
        if not await _guarded(store.delete(tenant, agent)):
            raise ApiError(404, "unknown_tool_policy", "no stored tool policy under this key")
        return json_response({"deleted": True})

    async def list_policies(request: web.Request) -> web.Response:
        only_known(request.query, ())
        who = principal(request)
        book = await _guarded(store.current())
        own = mask_id(who.tenant)
        mine = [e for e in book.entries() if who.tenant is None or e.tenant == own]
        return json_response({"policies": msgspec.to_builtins(mine)})

    async def list_approvals(request: web.Request) -> web.Response:
        only_known(request.query, ())
        who = principal(request)
        found = await _guarded(approvals.pending(_caller_tenant(who)))
        return json_response({"approvals": msgspec.to_builtins(found)})

    async def get_approval(request: web.Request) -> web.Response:
        only_known(request.query, ("wait",))
        who = principal(request)
        approval_id = _approval_id(request)
        wait = _wait(request.query.get("wait"), wait_cap)
        if approval_id is None:
            found = None
        elif wait > 0:
            found = await _guarded(approvals.wait(approval_id, _caller_tenant(who), wait))
        else:
            found = await _guarded(approvals.get(approval_id, _caller_tenant(who)))
        if found is None:
            raise ApiError(404, "unknown_approval", "no approval of this tenant has that id")
        return json_response(msgspec.to_builtins(found))

    async def decide(request: web.Request) -> web.Response:
        only_known(request.query, ())
        who = principal(request)
        body: DecideBody = parse_json_body(await request.read(), DecideBody)
        approval_id = _approval_id(request)
        if approval_id is None:
            raise ApiError(404, "unknown_approval", "no approval of this tenant has that id")
        try:
            found = await _guarded(approvals.decide(
                approval_id, _caller_tenant(who),
                approve=body.decision == "approve", by=who.name, note=body.note,
            ))  # fmt: skip
        except ApprovalConflict as exc:
            raise ApiError(409, "approval_decided", str(exc)) from None
        if found is None:
            raise ApiError(404, "unknown_approval", "no approval of this tenant has that id")
        return json_response(msgspec.to_builtins(found))

    return [
        web.get("/v1/tool-policies", list_policies),
        web.put("/v1/tool-policies/{tenant}/{agent}", put_policy),
        web.get("/v1/tool-policies/{tenant}/{agent}", get_policy),
        web.delete("/v1/tool-policies/{tenant}/{agent}", delete_policy),
        web.get("/v1/approvals", list_approvals),
        web.get("/v1/approvals/{id}", get_approval),
        web.post("/v1/approvals/{id}", decide),
    ]


def _wait(raw: str | None, cap: float) -> float:
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 300:  # NaN too
        raise ApiError(422, "invalid_parameter", "wait must be seconds in 0..300", "wait")
    return min(value, cap)
