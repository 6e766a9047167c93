"""The tool gate: one decision for ``POST /v1/admit`` with ``kind: tool``.

Order, for the first rule matching the tool name (no rule: ``tools.default_action``):
``deny`` → ``tool_denied``; the JSON Schema → ``tool_args_invalid`` naming ``field``; paths →
``path_denied``; commands → ``command_denied`` (all 403); ``approval`` → ``approval_required``
with an ``approval_id`` (403) unless the admit carries the id of an approved approval of exactly
this call (consumed once); the rate → ``tool_rate_limited`` (429 with ``retry_after_s``).
A call passing every check is allowed; ``expensive`` says whether its rule tags it so (the
budget ladder may refuse it). The policies are read through the store first, so a change on
any replica applies to the next decision here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sidecar.tools.approvals import ApprovalStore
from sidecar.tools.args_schema import schema_error
from sidecar.tools.commands import first_command_problem
from sidecar.tools.config import ToolsConfig
from sidecar.tools.paths import first_path_problem
from sidecar.tools.rate import ToolRates
from sidecar.tools.store import ToolPolicyStore

REASONS = ("tool_denied", "tool_args_invalid", "path_denied", "command_denied",
           "approval_required", "tool_rate_limited")  # fmt: skip


Refused = Callable[["ToolCall", "ToolVerdict"], Awaitable[None]]


@dataclass(frozen=True)
class ToolCall:
    """What the gate is asked about (tenant None: a call of no tenant)."""

    tool: str
    args: Any = None
    tenant: str | None = None
    agent: str | None = None
    user_id: str | None = None
    request_id: str = ""
    approval_id: str | None = None


@dataclass(frozen=True)
class ToolVerdict:
    allowed: bool
    reason: str | None = None
    field: str | None = None
    message: str | None = None
    approval_id: str | None = None
    retry_after_s: float | None = None
    expensive: bool = False
    rule: int | None = None

    @property
    def http_status(self) -> int:
        if self.allowed:
            return 200
        return 429 if self.reason == "tool_rate_limited" else 403


class ToolGate:
    def __init__(self, config: ToolsConfig, store: ToolPolicyStore, approvals: ApprovalStore,
                 rates: ToolRates | None = None) -> None:  # fmt: skip
        self.config = config
        self.store = store
        self.approvals = approvals
        self.rates = rates or ToolRates(config.max_rate_buckets)
        self.decisions: dict[str, int] = {"allowed": 0, **{r: 0 for r in REASONS}}
        self.on_refused: Refused | None = None  # the audit (a stored event per refusal)

    async def start(self) -> None:
        await self.store.start()
        await self.approvals.start()

    async def close(self) -> None:
        await self.store.close()

    async def check_tool(
        self, *, tool: str, args: Any, tenant: str | None, agent: str | None,
        user_id: str | None, request_id: str, approval_id: str | None,
    ) -> ToolVerdict:  # fmt: skip
        """:meth:`check` with keywords (the admission's protocol)."""
        return await self.check(ToolCall(tool, args, tenant, agent, user_id, request_id,
                                         approval_id))  # fmt: skip

    async def check(self, call: ToolCall) -> ToolVerdict:
        verdict = await self._decide(call)
        self.decisions[verdict.reason or "allowed"] += 1
        if not verdict.allowed and verdict.reason != "approval_required" and self.on_refused:
            await self.on_refused(call, verdict)
        return verdict

    async def _decide(self, call: ToolCall) -> ToolVerdict:
        book = await self.store.current()
        policy = book.lookup(call.tenant, call.agent)
        found = policy.first_match(call.tool) if policy is not None else None
        if found is None:
            if self.config.default_action == "deny":
                return ToolVerdict(False, "tool_denied", message="no rule allows this tool")
            if self.config.default_action == "approval":
                return await self._approval(call, None, False)
            return ToolVerdict(True)
        index, rule = found
        if rule.action == "deny":
            return ToolVerdict(False, "tool_denied", message=f"denied by rule {index}", rule=index)
        if rule.args_schema is not None:
            failed = schema_error(rule.args_schema, call.args)
            if failed is not None:
                return ToolVerdict(
                    False, "tool_args_invalid", field=failed[0], message=failed[1], rule=index
                )
        if rule.paths is not None:
            problem = first_path_problem(call.args, rule.paths)
            if problem is not None:
                return ToolVerdict(
                    False, "path_denied", field=problem[0], message=problem[1], rule=index
                )
        if rule.commands is not None:
            problem = first_command_problem(call.args, rule.commands)
            if problem is not None:
                return ToolVerdict(
                    False, "command_denied", field=problem[0], message=problem[1], rule=index
                )
        if rule.action == "approval":
            verdict = await self._approval(call, index, rule.expensive)
            if not verdict.allowed:
                return verdict
        if rule.rate is not None:
            key = (call.tenant or "", call.agent or "", call.tool)
            wait = self.rates.take(key, rule.rate)
            if wait is not None:
                return ToolVerdict(
                    False,
                    "tool_rate_limited",
                    retry_after_s=round(wait, 3),
                    message="tool call rate exceeded",
                    rule=index,
                )
        return ToolVerdict(True, expensive=rule.expensive, rule=index)

    async def _approval(self, call: ToolCall, index: int | None, expensive: bool) -> ToolVerdict:
        if call.approval_id is not None:
            if await self.approvals.consume(call.approval_id, call.tenant, call.tool, call.args):
                return ToolVerdict(True, expensive=expensive, rule=index)
            found = await self.approvals.get(call.approval_id, call.tenant)
            if found is not None and found.state == "denied":
                return ToolVerdict(
                    False,
                    "tool_denied",
                    approval_id=found.id,
                    field="approval_id",
                    message="a person denied this call (approval denied)",
                    rule=index,
                )
            if found is not None and found.state == "pending":
                return ToolVerdict(
                    False,
                    "approval_required",
                    approval_id=found.id,
                    message="waiting for a decision",
                    rule=index,
                )
        approval = await self.approvals.request(
            tenant=call.tenant, agent=call.agent, user_id=call.user_id,
            request_id=call.request_id, tool=call.tool, args=call.args,
        )  # fmt: skip
        return ToolVerdict(
            False,
            "approval_required",
            approval_id=approval.id,
            message="a person must approve this call",
            rule=index,
        )
