"""The agent-side SDK of agent-sidecar.

    async with SidecarClient() as sidecar:
        async with sidecar.run(agent="support-bot", user_id="u-42") as run:
            async with run.llm_call("gpt-4o", "openai", stream=True) as call:
                async for delta in stream:
                    call.chunk(delta.text)
                call.set_usage(input_tokens=812, output_tokens=164)
            async with run.tool_call("search", args={"q": "refund policy"}) as tool:
                tool.set_result(search("refund policy"))

Before a step, ask: ``grant = await run.admit_llm("gpt-4o", input_tokens=812,
max_output_tokens=512)`` reserves the estimate on every budget that applies and raises
:class:`BudgetExceeded` / :class:`StepLimitExceeded` when the step must not run; the run's next
model call (``run.llm_call(...)`` or one through ``wrap_openai``) carries the reservation and the
sidecar settles it with the actual usage. A sidecar answering any request with 401, 403 or 404
is misconfigured (token, role or URL): :class:`SidecarConfigurationError` with ``status``, raised
by that call or, for events sent in the background, by the next ``run()``, ``flush()`` or
``close()``, whatever the fail policy.
``await run.admit_tool("fs.read", args={"path": p}, wait_for_approval=True)`` asks the tool
policy (and waits for a person when the rule says ``approval``); a refusal of the policy (403
with ``allowed: false``) is :class:`ToolDenied` with the reason and the failing argument.
``grant.suggested_model`` is the cheaper model a budget's degradation ladder suggests;
``wrap_openai(client, sidecar, apply_suggestions=True)`` uses it.
``await sidecar.cached("faq", question, compute, user_id=...)`` answers repeated questions.

Nothing here raises into the agent because the sidecar is down: an unreachable sidecar costs
dropped telemetry (counted in ``client.stats``), never an exception or a blocked step.
"""

from runtime._calls import Grant
from runtime._client import SidecarClient
from runtime._contexts import LlmCallContext, RunContext, ToolCallContext, current_run
from runtime._errors import (
    ApprovalRequired,
    ApprovalTimeout,
    BudgetExceeded,
    InjectionBlocked,
    SidecarConfigurationError,
    SidecarDenied,
    SidecarError,
    SidecarUnavailable,
    StepLimitExceeded,
    ToolDenied,
)
from runtime._openai import wrap_openai
from runtime._sync import SyncSidecarClient
from runtime._transport import ClientStats

__all__ = [
    "ApprovalRequired",
    "ApprovalTimeout",
    "BudgetExceeded",
    "ClientStats",
    "Grant",
    "InjectionBlocked",
    "LlmCallContext",
    "RunContext",
    "SidecarClient",
    "SidecarConfigurationError",
    "SidecarDenied",
    "SidecarError",
    "SidecarUnavailable",
    "StepLimitExceeded",
    "SyncSidecarClient",
    "ToolCallContext",
    "ToolDenied",
    "current_run",
    "wrap_openai",
]
