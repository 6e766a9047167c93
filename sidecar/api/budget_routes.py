"""Admission and budgets over HTTP: ``POST /v1/admit``, ``/v1/budgets``, ``/v1/usage``.

``POST /v1/admit`` answers 200 ``{"allowed": true, "reservation_id": ...}`` or 429 with the
reason, the limit, the usage and ``retry_after_s`` (also as a ``Retry-After`` header); 503 when
the ledger's store is unreachable under ``fail_closed``; 422 naming the field for a value out
of range. It exists whether or not budgets are configured (limits and the injection block still
apply); the budget routes exist when they are. These handlers only translate HTTP: the
decisions are :class:`~sidecar.budgets.Admission`'s and the ledger's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response, parse_json_body
from sidecar.api.params import only_known, text_param
from sidecar.api.principals import Principal, principal
from sidecar.api.tenancy import BudgetUsers, limit_key, own_reservation, tag_reservation
from sidecar.budgets.admission import Admission, AdmitBody
from sidecar.budgets.config import SCOPES, BudgetPolicy, BudgetPolicyEntry
from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.model import (
    ANY_TENANT,
    MAX_COST_USD,
    MAX_TOKENS,
    CapacityExceeded,
    Decision,
    InvalidBudgetInput,
    UnknownBudget,
)
from sidecar.errors import StoreUnavailable as StoreDown
from sidecar.telemetry.admit_metrics import AdmitMetrics
from sidecar.validation import ReservationId

Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
CostUsd = Annotated[float, msgspec.Meta(ge=0, le=MAX_COST_USD)]
MaskId = Callable[[str | None], str | None]
T = TypeVar("T")


class SettleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/budgets/settle``: tokens at most 10^9 each, cost at most $10^9; without
    ``cost_usd`` the tokens are priced for the reservation's model."""

    reservation_id: ReservationId
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cached_input_tokens: Tokens | None = None
    cost_usd: CostUsd | None = None


async def _guarded(call: Awaitable[T]) -> T:
    """The ledger's errors as the contract's: 503 store down, 422 bad value, 404 no budget."""
    try:
        return await call
    except CapacityExceeded as exc:
        raise ApiError(503, "capacity", str(exc), headers={"Retry-After": "5"}) from None
    except StoreDown as exc:  # the ledger's, or the tool policy's store
        raise ApiError(503, "store_unavailable", str(exc), headers={"Retry-After": "1"}) from None
    except InvalidBudgetInput as exc:
        raise ApiError(422, "invalid_request", str(exc), exc.field) from None
    except UnknownBudget:
        raise ApiError(
            404, "unknown_budget", "no budget policy applies to this scope and id"
        ) from None


def _scope(request: web.Request) -> Literal["user", "tenant", "global"]:
    scope = request.match_info["scope"]
    if scope not in SCOPES:
        raise ApiError(
            422, "invalid_parameter", f"scope must be one of {', '.join(SCOPES)}", "scope"
        )
    return scope


def _budget_key(
    request: web.Request, mask_id: MaskId, users: BudgetUsers
) -> tuple[Literal["user", "tenant", "global"], str]:
    """(scope, id) of the budget a route names, confined to a tenant-scoped caller's own; an
    id holding PII (of any scope) is keyed by its pseudonym, as the events carrying it are, so
    the raw id works in every request and is stored nowhere."""
    scope, budget_id = _scope(request), request.match_info["id"]
    who = principal(request)
    if who.tenant is None:
        return scope, mask_id(budget_id) or budget_id
    if scope == "global":
        who.require_all_tenants("a global budget")
    if scope == "tenant":
        return scope, mask_id(who.own_tenant(budget_id, "id")) or budget_id
    masked = mask_id(budget_id) or budget_id
    return scope, users(mask_id(who.tenant), masked) or masked


def _model(request: web.Request, mask_id: MaskId) -> str | None:
    """The ``model`` query parameter as budgets key it (PII → pseudonym)."""
    return mask_id(text_param(request.query, "model"))


def _visible(who: Principal, entry: BudgetPolicyEntry, mask_id: MaskId) -> bool:
    if who.tenant is None:
        return True
    tenant = mask_id(who.tenant)
    if entry.scope == "tenant":
        return entry.id == tenant
    return entry.scope == "user" and entry.id.startswith(f"{tenant}:")


def admit_routes(
    admission: Admission,
    metrics: AdmitMetrics,
    mask_id: MaskId = lambda value: value,
    users: BudgetUsers | None = None,
) -> list[web.RouteDef]:
    """``POST /v1/admit``. ``mask_id`` turns an id holding PII into its pseudonym, as stored
    events have it; ``users`` gives a user's budget id (namespaced by scoped tenants)."""
    budget_user = users or BudgetUsers()

    async def admit(request: web.Request) -> web.Response:
        started = time.perf_counter()
        body: AdmitBody = parse_json_body(await request.read(), AdmitBody)
        who = principal(request)
        body.tenant = mask_id(who.own_tenant(body.tenant))
        body.user_id = budget_user(body.tenant, mask_id(body.user_id))
        body.model = mask_id(body.model)
        body.agent = mask_id(body.agent)
        body.request_id = mask_id(body.request_id) or body.request_id
        if body.tenant is not None:  # per-request limits never shared across tenants
            body.request_id = limit_key(body.tenant, body.request_id)
        try:
            decision: Decision = await _guarded(admission.admit(body))
        except ApiError as exc:
            if exc.status == 503:
                metrics.observe(body.kind, None, time.perf_counter() - started, unavailable=True)
            raise
        metrics.observe(body.kind, decision, time.perf_counter() - started)
        answer = decision.to_dict()
        if answer.get("reservation_id") and who.tenant is not None:
            answer["reservation_id"] = tag_reservation(answer["reservation_id"], who.tenant)
        headers = None
        if decision.retry_after_s is not None and not decision.allowed:
            headers = {"Retry-After": str(max(1, math.ceil(decision.retry_after_s)))}
        return json_response(answer, status=decision.http_status, headers=headers)

    return [web.post("/v1/admit", admit)]


def routes(
    ledger: BudgetLedger,
    mask_id: MaskId = lambda value: value,
    users: BudgetUsers | None = None,
) -> list[web.RouteDef]:
    """The budget routes: policies, usage, settle and the consistency check."""
    budget_user = users or BudgetUsers()

    async def put_budget(request: web.Request) -> web.Response:
        scope, budget_id = _budget_key(request, mask_id, budget_user)
        policy: BudgetPolicy = parse_json_body(await request.read(), BudgetPolicy)
        if policy.model is not None:
            policy = msgspec.structs.replace(policy, model=mask_id(policy.model))
        await _guarded(ledger.put_policy(scope, budget_id, policy))
        return json_response({"scope": scope, "id": budget_id, **msgspec.to_builtins(policy)})

    async def delete_budget(request: web.Request) -> web.Response:
        only_known(request.query, ("model",))
        scope, budget_id = _budget_key(request, mask_id, budget_user)
        removed = await _guarded(ledger.delete_policy(scope, budget_id, _model(request, mask_id)))
        if not removed:
            raise ApiError(404, "unknown_budget", "no such budget policy")
        return json_response({"deleted": True})

    async def list_budgets(request: web.Request) -> web.Response:
        only_known(request.query, ())
        who = principal(request)
        mine = [p for p in await _guarded(ledger.current_policies()) if _visible(who, p, mask_id)]
        return json_response({"policies": msgspec.to_builtins(mine)})

    async def usage(request: web.Request) -> web.Response:
        only_known(request.query, ("model",))
        scope, budget_id = _budget_key(request, mask_id, budget_user)
        result = await _guarded(ledger.usage(scope, budget_id, _model(request, mask_id)))
        return json_response(msgspec.to_builtins(result))

    async def settle(request: web.Request) -> web.Response:
        body: SettleBody = parse_json_body(await request.read(), SettleBody)
        who = principal(request)
        reservation_id = own_reservation(body.reservation_id, None, who)
        if reservation_id is None:
            raise ApiError(
                404,
                "unknown_reservation",
                "no reservation of this tenant has that id",
                "reservation_id",
            )
        owner: Any = ANY_TENANT if who.tenant is None else who.tenant
        settled = await _guarded(ledger.settle(
            reservation_id, input_tokens=body.input_tokens, output_tokens=body.output_tokens,
            cost_usd=body.cost_usd, cached_input_tokens=body.cached_input_tokens, tenant=owner,
        ))  # fmt: skip
        return json_response({"settled": settled})

    async def consistency(request: web.Request) -> web.Response:
        only_known(request.query, ())
        principal(request).require_all_tenants("the ledger's consistency")
        report = await _guarded(ledger.check_consistency())
        return json_response(report.to_dict(), status=200)

    return [
        web.get("/v1/budgets", list_budgets),
        web.get("/v1/budgets/consistency", consistency),
        web.post("/v1/budgets/settle", settle),
        web.put("/v1/budgets/{scope}/{id}", put_budget),
        web.delete("/v1/budgets/{scope}/{id}", delete_budget),
        web.get("/v1/usage/{scope}/{id}", usage),
    ]
