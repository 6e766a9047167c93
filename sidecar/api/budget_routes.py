"""Admission and budgets over HTTP: ``POST /v1/admit``, ``/v1/budgets``, ``/v1/usage``.

``POST /v1/admit`` answers 200 ``{"allowed": true, "reservation_id": ...}`` or 429 with the
reason, the limit, the usage and ``retry_after_s`` (also as a ``Retry-After`` header); 503 when
the ledger's store is unreachable under ``fail_closed``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

import msgspec
from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.json import json_response, parse_json_body
from sidecar.api.principals import Principal, principal
from sidecar.api.tenancy import limit_key, own_reservation, scoped_user, tag_reservation
from sidecar.budgets.admission import Admission, AdmitBody
from sidecar.budgets.config import SCOPES, BudgetPolicy, BudgetPolicyEntry
from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.model import Decision, StoreUnavailable, UnknownBudget
from sidecar.guard import InjectionScorer
from sidecar.telemetry.admit_metrics import AdmitMetrics


class SettleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reservation_id: str
    input_tokens: int = msgspec.field(default=0)
    output_tokens: int = 0
    cost_usd: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.input_tokens <= 10**9 or not 0 <= self.output_tokens <= 10**9:
            raise ValueError("token counts must be within 0..1e9")
        if self.cost_usd is not None and not (
            math.isfinite(self.cost_usd) and 0 <= self.cost_usd <= 1e9
        ):
            raise ValueError("cost_usd must be a finite amount within 0..1e9")


def _scope(request: web.Request) -> Literal["user", "tenant", "global"]:
    scope = request.match_info["scope"]
    if scope not in SCOPES:
        raise ApiError(422, "invalid_parameter",
                       f"scope must be one of {', '.join(SCOPES)}", "scope")
    return scope


def _budget_key(
    request: web.Request, mask_id: Callable[[str | None], str | None]
) -> tuple[Literal["user", "tenant", "global"], str]:
    """(scope, id) of the budget a route names, confined to a tenant-scoped caller's own; a
    user id holding PII is keyed by its pseudonym, as the user's events are."""
    scope, budget_id = _scope(request), request.match_info["id"]
    if scope == "user":
        budget_id = mask_id(budget_id) or budget_id
    who = principal(request)
    if who.tenant is None:
        return scope, budget_id
    if scope == "global":
        who.require_all_tenants("a global budget")
    if scope == "tenant":
        return scope, who.own_tenant(budget_id, "id") or budget_id
    return scope, scoped_user(who, budget_id) or budget_id


def _visible(who: Principal, entry: BudgetPolicyEntry) -> bool:
    if who.tenant is None:
        return True
    if entry.scope == "tenant":
        return entry.id == who.tenant
    return entry.scope == "user" and entry.id.startswith(f"{who.tenant}:")


class _Screened(msgspec.Struct, kw_only=True):
    """Content an admit may carry for the injection guard's ``block`` mode."""

    tool_result: str | None = None


def routes(
    admission: Admission, ledger: BudgetLedger, metrics: AdmitMetrics,
    scorer: InjectionScorer | None = None,
    mask_id: Callable[[str | None], str | None] = lambda value: value,
) -> list[web.RouteDef]:
    """``mask_id`` turns an id holding PII into its pseudonym, as stored events have it."""

    blocking = scorer is not None and scorer.config.enabled and scorer.config.mode == "block"

    async def admit(request: web.Request) -> web.Response:
        started = time.perf_counter()
        raw = await request.read()
        body: AdmitBody = parse_json_body(raw, AdmitBody)
        who = principal(request)
        body.tenant = who.own_tenant(body.tenant)
        body.user_id = scoped_user(who, mask_id(body.user_id))
        if body.tenant is not None:  # per-request limits never shared across tenants
            body.request_id = limit_key(body.tenant, body.request_id)
        if blocking and scorer is not None:
            screened: _Screened = parse_json_body(raw, _Screened)
            if screened.tool_result:
                verdict = scorer.score(screened.tool_result, "tool_result")
                if scorer.should_block(verdict, "tool_result"):
                    metrics.blocked()
                    return json_response({
                        "allowed": False, "reason": "prompt_injection_detected",
                        "injection": verdict.summary(),
                    }, status=429)
        try:
            decision: Decision = await admission.admit(body)
        except StoreUnavailable as exc:
            metrics.observe(body.kind, None, time.perf_counter() - started, unavailable=True)
            raise ApiError(503, "store_unavailable", str(exc),
                           headers={"Retry-After": "1"}) from None
        metrics.observe(body.kind, decision, time.perf_counter() - started)
        answer = decision.to_dict()
        if answer.get("reservation_id") and who.tenant is not None:
            answer["reservation_id"] = tag_reservation(answer["reservation_id"], who.tenant)
        headers = None
        if decision.retry_after_s is not None and not decision.allowed:
            headers = {"Retry-After": str(max(1, math.ceil(decision.retry_after_s)))}
        return json_response(answer, status=decision.http_status, headers=headers)

    async def put_budget(request: web.Request) -> web.Response:
        scope, budget_id = _budget_key(request, mask_id)
        policy: BudgetPolicy = parse_json_body(await request.read(), BudgetPolicy)
        await ledger.put_policy(scope, budget_id, policy)
        return json_response({"scope": scope, "id": budget_id, **msgspec.to_builtins(policy)})

    async def delete_budget(request: web.Request) -> web.Response:
        scope, budget_id = _budget_key(request, mask_id)
        removed = await ledger.delete_policy(scope, budget_id, request.query.get("model"))
        if not removed:
            raise ApiError(404, "unknown_budget", "no such budget policy")
        return json_response({"deleted": True})

    async def list_budgets(request: web.Request) -> web.Response:
        who = principal(request)
        mine = [p for p in ledger.policies() if _visible(who, p)]
        return json_response({"policies": msgspec.to_builtins(mine)})

    async def usage(request: web.Request) -> web.Response:
        scope, budget_id = _budget_key(request, mask_id)
        try:
            result = await ledger.usage(scope, budget_id, request.query.get("model"))
        except UnknownBudget:
            raise ApiError(404, "unknown_budget",
                           "no budget policy applies to this scope and id") from None
        except StoreUnavailable as exc:
            raise ApiError(503, "store_unavailable", str(exc)) from None
        return json_response(msgspec.to_builtins(result))

    async def settle(request: web.Request) -> web.Response:
        body: SettleBody = parse_json_body(await request.read(), SettleBody)
        reservation_id = own_reservation(body.reservation_id, None, principal(request))
        if reservation_id is None:
            raise ApiError(404, "unknown_reservation",
                           "no reservation of this tenant has that id", "reservation_id")
        tokens = body.input_tokens + body.output_tokens
        cost = body.cost_usd if body.cost_usd is not None else 0.0
        try:
            settled = await ledger.settle(reservation_id, tokens, cost)
        except StoreUnavailable as exc:
            raise ApiError(503, "store_unavailable", str(exc)) from None
        return json_response({"settled": settled})

    return [
        web.post("/v1/admit", admit),
        web.get("/v1/budgets", list_budgets),
        web.post("/v1/budgets/settle", settle),
        web.put("/v1/budgets/{scope}/{id}", put_budget),
        web.delete("/v1/budgets/{scope}/{id}", delete_budget),
        web.get("/v1/usage/{scope}/{id}", usage),
    ]
