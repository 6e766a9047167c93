"""Typed answers the agent can catch. The sidecar being down is never one of them under
fail-open; under fail-closed it is :class:`SidecarUnavailable`."""

from __future__ import annotations

from typing import Any


class SidecarError(Exception):
    """Base of every exception this SDK raises on purpose. ``status`` is the HTTP status
    when the sidecar answered (e.g. 401 or 404 from admit: a configuration error, such as a
    wrong token or URL, that failing open would hide)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


CONFIGURATION_STATUSES = frozenset({401, 403, 404})


class SidecarConfigurationError(SidecarError):
    """The sidecar answered 401 or 403 (a missing or wrong token, or a role the token lacks) or
    404 (a wrong URL): never treated as an outage, whatever the fail policy, because failing
    open would hide it."""


def configuration_error(what: str, status: int, payload: Any) -> SidecarConfigurationError:
    error = payload.get("error", {}) if isinstance(payload, dict) else {}
    error = error if isinstance(error, dict) else {}
    detail = f"{error.get('code', '')} {error.get('message', '')}".strip()
    fix = {
        401: "check the token (SIDECAR_API_TOKEN)",
        403: "the token lacks the role it needs",
        404: "check the sidecar URL (SIDECAR_URL)",
    }[status]
    return SidecarConfigurationError(
        f"{what} refused by the sidecar (HTTP {status}{': ' + detail if detail else ''}); {fix}",
        status,
    )


class SidecarUnavailable(SidecarError):
    """The sidecar could not be asked and the client is fail-closed."""


class SidecarDenied(SidecarError):
    """The sidecar refused the step. ``reason`` is the contract's reason code."""

    def __init__(self, reason: str, body: dict[str, Any], status: int = 429) -> None:
        super().__init__(f"denied by the sidecar: {reason}", status)
        self.reason = reason
        self.body = body
        self.retry_after_s: float | None = body.get("retry_after_s")
        self.limit: Any = body.get("limit")
        self.usage: Any = body.get("usage")


class BudgetExceeded(SidecarDenied):
    """A token or cost budget would be overspent (``token_budget_exceeded`` /
    ``cost_budget_exceeded``)."""


class StepLimitExceeded(SidecarDenied):
    """A per-request limit: steps, tool calls, wall time, or a loop of identical tool calls."""


class InjectionBlocked(SidecarDenied):
    """The tool result this step would consume scored as a prompt injection (block mode)."""


class ToolDenied(SidecarDenied):
    """The tool policy refused the call: ``tool_denied``, ``tool_args_invalid`` (``field`` names
    the argument, e.g. ``args.path``), ``path_denied``, ``command_denied``,
    ``tool_rate_limited``, or ``expensive_tool_refused`` (a budget near its limit); or
    ``approval_denied`` / ``approval_expired`` when the approval ``admit_tool`` waited for was
    denied or expired."""

    def __init__(self, reason: str, body: dict[str, Any], status: int = 403) -> None:
        super().__init__(reason, body, status)
        self.field: str | None = body.get("field")
        self.approval_id: str | None = body.get("approval_id")


class ApprovalRequired(ToolDenied):
    """A person must approve this call first; ``approval_id`` names the approval to wait for
    (``run.admit_tool(..., wait_for_approval=True)`` waits itself)."""


class ApprovalTimeout(ApprovalRequired):
    """No decision came within the timeout given to ``admit_tool``."""


_BY_REASON: dict[str, type[SidecarDenied]] = {
    "tool_denied": ToolDenied,
    "tool_args_invalid": ToolDenied,
    "path_denied": ToolDenied,
    "command_denied": ToolDenied,
    "approval_denied": ToolDenied,
    "approval_expired": ToolDenied,
    "tool_rate_limited": ToolDenied,
    "expensive_tool_refused": ToolDenied,
    "approval_required": ApprovalRequired,
    "token_budget_exceeded": BudgetExceeded,
    "cost_budget_exceeded": BudgetExceeded,
    "step_limit_exceeded": StepLimitExceeded,
    "tool_call_limit_exceeded": StepLimitExceeded,
    "time_limit_exceeded": StepLimitExceeded,
    "loop_detected": StepLimitExceeded,
    "prompt_injection_detected": InjectionBlocked,
}


def denial(body: dict[str, Any], status: int = 429) -> SidecarDenied:
    reason = str(body.get("reason") or "denied")
    return _BY_REASON.get(reason, SidecarDenied)(reason, body, status)
