"""Admission: the whole of ``POST /v1/admit`` as one call, with or without budgets.

``Admission.admit(body)`` screens a tool result for prompt injection (when the guard blocks),
asks the tool policy about a tool call (403 reasons, see :mod:`sidecar.tools.gate`), checks the
per-request limits, prices the estimate with the price table and reserves it on every
applicable budget; the route only translates HTTP (``decision.http_status`` with
``decision.to_dict()``, 503 on :class:`~sidecar.budgets.model.StoreUnavailable`, 422 on
:class:`~sidecar.budgets.model.InvalidBudgetInput`). Without a ledger (budgets disabled) the
limits and the injection block still apply. After an allowed admit the degradation ladder
(:mod:`sidecar.budgets.ladder`, when set) adds its ``step``, and refuses a tool tagged
``expensive`` at ``restrict``. The collaborators are passed in by the app factory
and typed here as small protocols, so this package imports neither limits, pricing nor guard.
A tool result longer than 64 KiB is scored in a worker thread (it does not hold the loop).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal, Protocol

import msgspec

from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.model import MAX_TOKENS, AdmitRequest, Decision, LadderStepName
from sidecar.validation import Id, Name

Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
OFF_LOOP_CHARS = 64 * 1024


class AdmitBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """The JSON body of ``POST /v1/admit`` (docs/api.md). Token counts are at most
    10^9 each (422 naming the field otherwise); ``tool_result`` is screened by the injection
    guard in block mode and never stored."""

    request_id: Id
    user_id: Id | None = None
    tenant: Id | None = None
    kind: Literal["llm", "tool"] = "llm"
    model: Name | None = None
    input_tokens: Tokens | None = None
    max_output_tokens: Tokens | None = None
    tool: Name | None = None
    args: Any = None
    tool_result: str | None = None
    agent: Name | None = None
    # A tool admit again after a person approved it (GET /v1/approvals/{id}).
    approval_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class LimitVerdict(Protocol):
    allowed: bool
    reason: Any
    limit: float | None
    usage: float | None


class Limiter(Protocol):
    """What :class:`sidecar.limits.RequestLimiter` offers."""

    def check(self, request_id: str, kind: Any, tool: str | None = ..., args: Any = ...) -> Any: ...


class Pricer(Protocol):
    """What :class:`sidecar.pricing.PriceTable` offers."""

    def resolve(self, model: str) -> str | None: ...
    def cost(
        self, model: str | None, input_tokens: int, output_tokens: int, cached: int | None = ...
    ) -> tuple[float, bool]: ...


class Scorer(Protocol):
    """What :class:`sidecar.guard.InjectionScorer` offers."""

    config: Any

    def score(self, text: str, source: Literal["user", "tool_result"] = ...) -> Any: ...
    def should_block(self, result: Any, source: Literal["user", "tool_result"]) -> bool: ...


class ToolChecker(Protocol):
    """What :class:`sidecar.tools.ToolGate` offers: the tool policy's verdict on one call."""

    async def check_tool(
        self,
        *,
        tool: str,
        args: Any,
        tenant: str | None,
        agent: str | None,
        user_id: str | None,
        request_id: str,
        approval_id: str | None,
    ) -> Any: ...


class LadderStep(Protocol):
    @property
    def step(self) -> LadderStepName: ...
    @property
    def suggested_model(self) -> str | None: ...
    @property
    def suggested_price(self) -> dict[str, float] | None: ...


class Ladder(Protocol):
    """What :class:`sidecar.budgets.ladder.Ladder` offers."""

    refused_tools: int

    async def step(
        self,
        user_id: str | None,
        tenant: str | None,
        model: str | None = ...,
        input_tokens: int = ...,
        max_output_tokens: int = ...,
    ) -> LadderStep | None: ...


_LIMIT_NAMES = {
    "step_limit_exceeded": "max_steps_per_request",
    "tool_call_limit_exceeded": "max_tool_calls_per_request",
    "time_limit_exceeded": "max_request_seconds",
    "loop_detected": "loop_repeat_threshold",
}


def _own_user(tenant: str | None, user_id: str | None) -> str | None:
    """The user id as its tenant knows it (budget ids of scoped tenants are ``tenant:user``)."""
    if tenant is not None and user_id is not None and user_id.startswith(f"{tenant}:"):
        return user_id[len(tenant) + 1 :]
    return user_id


class Admission:
    """Injection block → limits → pricing → ledger. Tool admits pass the block and the limits
    only (they spend no tokens)."""

    def __init__(
        self,
        ledger: BudgetLedger | None,
        limiter: Limiter | None = None,
        pricer: Pricer | None = None,
        default_max_output_tokens: int = 4096,
        scorer: Scorer | None = None,
    ) -> None:
        self.ledger = ledger
        self.limiter = limiter
        self.pricer = pricer
        self.default_max_output_tokens = default_max_output_tokens
        self.scorer = scorer
        self.blocked = 0
        self.tools: ToolChecker | None = None  # set by the app factory
        self.ladder: Ladder | None = None

    @property
    def blocking(self) -> bool:
        s = self.scorer
        return s is not None and bool(s.config.enabled) and s.config.mode == "block"

    async def admit(self, body: AdmitBody) -> Decision:
        """The decision for one admit; raises StoreUnavailable under fail_closed and
        InvalidBudgetInput for a value the ledger cannot store."""
        if body.tool_result and self.blocking and self.scorer is not None:
            if len(body.tool_result) > OFF_LOOP_CHARS:  # a long text is scored off the loop
                verdict = await asyncio.to_thread(self.scorer.score, body.tool_result,
                                                  "tool_result")  # fmt: skip
            else:
                verdict = self.scorer.score(body.tool_result, "tool_result")
            if self.scorer.should_block(verdict, "tool_result"):
                self.blocked += 1
                return Decision(
                    allowed=False, reason="prompt_injection_detected", injection=verdict.summary()
                )
        expensive = False
        if body.kind == "tool" and self.tools is not None:
            verdict = await self.tools.check_tool(
                tool=body.tool or "", args=body.args, tenant=body.tenant, agent=body.agent,
                user_id=_own_user(body.tenant, body.user_id),
                request_id=body.request_id.rpartition("\x1f")[2],
                approval_id=body.approval_id,
            )  # fmt: skip
            if not verdict.allowed:
                return Decision(
                    allowed=False, reason=verdict.reason, field=verdict.field,
                    approval_id=verdict.approval_id, message=verdict.message,
                    retry_after_s=verdict.retry_after_s,
                )  # fmt: skip
            expensive = verdict.expensive
        if self.limiter is not None:
            verdict = self.limiter.check(body.request_id, body.kind, body.tool, body.args)
            if not verdict.allowed:
                limit = {
                    "name": _LIMIT_NAMES.get(verdict.reason, verdict.reason),
                    "value": verdict.limit,
                    "current": verdict.usage,
                }
                return Decision(allowed=False, reason=verdict.reason, limit=limit)
        if body.kind == "tool" or self.ledger is None:
            return await self._tool_step(body, expensive)
        input_tokens = body.input_tokens or 0
        max_out = (
            self.default_max_output_tokens
            if body.max_output_tokens is None
            else body.max_output_tokens
        )
        model, cost = body.model, 0.0
        if self.pricer is not None:
            cost, _ = self.pricer.cost(body.model, input_tokens, max_out, 0)
            if body.model is not None:
                model = self.pricer.resolve(body.model) or body.model
        request = AdmitRequest(
            request_id=body.request_id,
            user_id=body.user_id,
            tenant=body.tenant,
            model=model,
            input_tokens=input_tokens,
            max_output_tokens=max_out,
            cost_usd=cost,
        )
        decision = await self.ledger.admit(request)
        if decision.allowed and self.ladder is not None:
            step = await self.ladder.step(request.user_id, request.tenant, body.model,
                                          input_tokens, max_out)  # fmt: skip
            if step is not None:
                decision.step = step.step
                decision.suggested_model = step.suggested_model
                decision.suggested_price = step.suggested_price
        return decision

    async def _tool_step(self, body: AdmitBody, expensive: bool) -> Decision:
        """A tool admit the policy allowed: the ladder may still refuse an expensive tool."""
        if self.ladder is None or body.kind != "tool":
            return Decision(allowed=True)
        step = await self.ladder.step(body.user_id, body.tenant)
        if step is None:
            return Decision(allowed=True)
        if step.step == "restrict" and expensive:
            self.ladder.refused_tools += 1
            return Decision(
                allowed=False,
                reason="expensive_tool_refused",
                step=step.step,
                message="the budget is near its limit: expensive tools are off",
            )
        return Decision(allowed=True, step=step.step)
