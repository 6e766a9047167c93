"""Timing contexts for a run, an LLM call and a tool call.

Each works as ``with`` and ``async with``. It measures wall time on a monotonic clock, marks
time-to-first-token at the first *content* chunk of a stream (not the first byte: a role-only or
empty delta does not count), and emits one event on exit. An exception inside the block is
recorded (``status="error"``, ``error_type`` = its class name) and re-raised untouched: the
sidecar never changes what the agent sees.

Long module: the three contexts share one timing base and the run's reservation and approval
bookkeeping, and the run's admit helpers need both; split apart they would import each other.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from runtime._errors import ApprovalRequired, ApprovalTimeout, SidecarError, ToolDenied
from runtime._ids import new_id, new_span_id, new_trace_id

if TYPE_CHECKING:
    from runtime._calls import Grant

Emit = Callable[[dict[str, Any]], None]
Admit = Callable[[dict[str, Any]], Awaitable["Grant"]]
Status = Literal["ok", "error"]
"""The status values the event contract accepts for a step."""
WaitApproval = Callable[[str, float], Awaitable[dict[str, Any] | None]]

current_run: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "sidecar_current_run", default=None
)


def _check_status(status: str) -> None:
    if status not in ("ok", "error"):
        raise ValueError(f"status must be 'ok' or 'error', not {status!r}")


def _clean(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}


class _Timed:
    """Shared enter/exit logic: wall-clock start, monotonic duration, error capture."""

    def __init__(self) -> None:
        self.start_ts = 0.0
        self._t0 = 0.0
        self.duration_ms: float | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None
        self._timing: tuple[float, float] | None = None

    def set_timing(self, start_ts: float, duration_ms: float) -> None:
        """Report a span measured elsewhere (a replayed or simulated step) instead of this
        context's own clock: the event carries ``start_ts`` (unix seconds) and ``duration_ms``."""
        if not (math.isfinite(start_ts) and math.isfinite(duration_ms) and duration_ms >= 0):
            raise ValueError("start_ts and duration_ms must be finite, duration_ms >= 0")
        self._timing = (start_ts, duration_ms)

    def _begin(self) -> None:
        self.start_ts = time.time()
        self._t0 = time.perf_counter()

    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000.0

    def set_error(self, error_type: str, message: str | None = None) -> None:
        """Mark the step failed without raising (e.g. a tool returned an error object)."""
        self.error_type = error_type
        self.error_message = message

    def _finish(self, exc: BaseException | None) -> None:
        self.duration_ms = self._elapsed_ms()
        if self._timing is not None:
            self.start_ts, self.duration_ms = self._timing
        if exc is not None and self.error_type is None:
            self.error_type = type(exc).__name__
            self.error_message = str(exc)[:2000] or None
        self._emit_event()

    def _emit_event(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class LlmCallContext(_Timed):
    """Times one model call. Call :meth:`chunk` per streamed delta, :meth:`set_usage` at the end."""

    def __init__(
        self,
        run: RunContext,
        model: str,
        provider: str,
        *,
        stream: bool = False,
        input: Any = None,
        operation: str = "chat",
        reservation_id: str | None = None,
    ) -> None:
        super().__init__()
        self.run = run
        self.model = model
        self.provider = provider
        self.stream = stream
        self.input = input
        self.operation = operation
        self.reservation_id = reservation_id
        self.span_id = new_span_id()
        self.ttft_ms: float | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.cached_input_tokens: int | None = None
        self.output: Any = None
        self.finish_reason: str | None = None
        self.response_model: str | None = None
        self.usage_unknown = False

    def chunk(self, content: str | None) -> None:
        """A streamed delta arrived; the first one with content fixes TTFT."""
        if self.ttft_ms is None and content:
            self.ttft_ms = self._elapsed_ms()

    def first_token(self) -> None:
        """Mark TTFT now (for callers that detect the first token themselves)."""
        if self.ttft_ms is None:
            self.ttft_ms = self._elapsed_ms()

    def set_usage(
        self, input_tokens: int, output_tokens: int, cached_input_tokens: int | None = None
    ) -> None:
        self.input_tokens = max(0, int(input_tokens))
        self.output_tokens = max(0, int(output_tokens))
        self.cached_input_tokens = cached_input_tokens

    def set_output(self, output: Any, finish_reason: str | None = None) -> None:
        self.output = output
        self.finish_reason = finish_reason

    def _emit_event(self) -> None:
        self.run._emit_step(
            {
                "type": "llm_call",
                "span_id": self.span_id,
                "model": self.model,
                "response_model": self.response_model,
                "usage_unknown": True if self.usage_unknown else None,
                "provider": self.provider,
                "operation": self.operation,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cached_input_tokens": self.cached_input_tokens,
                "start_ts": self.start_ts,
                "stream": self.stream,
                "ttft_ms": self.ttft_ms if self.stream else None,
                "duration_ms": self.duration_ms,
                "status": "error" if self.error_type else "ok",
                "error_type": self.error_type,
                "error_message": self.error_message,
                "finish_reason": self.finish_reason,
                "reservation_id": self.reservation_id,
                "input": self.input,
                "output": self.output,
            }
        )


class ToolCallContext(_Timed):
    """Times one tool call; :meth:`set_result` records what it returned."""

    def __init__(
        self, run: RunContext, tool: str, *, args: Any = None, call_id: str | None = None
    ) -> None:
        super().__init__()
        self.run = run
        self.tool = tool
        self.args = args
        self.call_id = call_id
        self.span_id = new_span_id()
        self.result: Any = None

    def set_result(self, result: Any) -> None:
        self.result = result

    def _emit_event(self) -> None:
        self.run._emit_step(
            {
                "type": "tool_call",
                "span_id": self.span_id,
                "tool": self.tool,
                "call_id": self.call_id,
                "start_ts": self.start_ts,
                "duration_ms": self.duration_ms,
                "status": "error" if self.error_type else "ok",
                "error_type": self.error_type,
                "error_message": self.error_message,
                "args": self.args,
                "result": self.result,
            }
        )


class RunContext(_Timed):
    """One agent request. Steps inside it share its request id and W3C trace."""

    def __init__(
        self,
        emit: Emit,
        *,
        agent: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant: str | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        admit: Admit | None = None,
        wait_approval: WaitApproval | None = None,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._admit = admit
        self._wait_approval = wait_approval
        self.agent = agent
        self.user_id = user_id
        self.session_id = session_id
        self.tenant = tenant
        self.request_id = request_id or new_id()
        self.trace_id = trace_id or new_trace_id()
        self.span_id = new_span_id()
        self.attributes = attributes
        self.steps = 0
        self._token: contextvars.Token[RunContext | None] | None = None
        # Reservations granted by admit_llm, oldest first, waiting for the call they admitted.
        self._reservations: deque[str] = deque()
        # The cheaper model the last admit of each model suggested (the degradation ladder).
        self._suggestions: dict[str, str] = {}

    def __enter__(self) -> Self:
        self._token = current_run.set(self)
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            try:
                current_run.reset(self._token)
            except ValueError:  # exited in another context than entered
                current_run.set(None)
            self._token = None
        self._finish(exc)

    async def admit_llm(
        self,
        model: str,
        *,
        input_tokens: int = 0,
        max_output_tokens: int | None = None,
        tool_result: str | None = None,
    ) -> Grant:
        """Ask before a model call: reserves the estimate on every budget that applies.

        Returns a :class:`~runtime.Grant`; raises :class:`~runtime.BudgetExceeded`,
        :class:`~runtime.StepLimitExceeded` or :class:`~runtime.InjectionBlocked` when denied.
        The reservation is remembered by the run: the next model call of this run (an
        :meth:`llm_call` without its own ``reservation_id``, or a call through
        :func:`~runtime.wrap_openai`) carries it, so the sidecar settles it with the actual
        usage; calls with no reservation left are charged directly.
        """
        grant = await self._ask(
            {
                "kind": "llm",
                "model": model,
                "input_tokens": input_tokens,
                "max_output_tokens": max_output_tokens,
                "tool_result": tool_result,
            }
        )
        if grant.reservation_id:
            self._reservations.append(grant.reservation_id)
        suggested = getattr(grant, "suggested_model", None)
        if suggested:
            self._suggestions[model] = suggested
        else:
            self._suggestions.pop(model, None)
        return grant

    def suggested_model(self, model: str) -> str | None:
        """The cheaper model the budget's ladder suggested at the last admit of ``model``."""
        return self._suggestions.get(model)

    def take_reservation(self, reservation_id: str | None = None) -> str | None:
        """The reservation the next model call settles: ``reservation_id`` when given (and no
        longer pending), else the oldest one :meth:`admit_llm` granted, else None."""
        if reservation_id is not None:
            if reservation_id in self._reservations:
                self._reservations.remove(reservation_id)
            return reservation_id
        return self._reservations.popleft() if self._reservations else None

    async def admit_tool(
        self,
        tool: str,
        *,
        args: Any = None,
        wait_for_approval: bool = False,
        timeout: float = 60.0,
        approval_id: str | None = None,
    ) -> Grant:
        """Ask before a tool call: the tool policy (rules, argument schema, paths, commands,
        rate, approvals), then step, tool-call, wall-time limits and loop detection.

        Raises :class:`~runtime.ToolDenied` (``reason``, ``field``) when the policy refuses and
        :class:`~runtime.ApprovalRequired` (``approval_id``) when a person must decide; with
        ``wait_for_approval=True`` it waits for that decision up to ``timeout`` seconds instead
        and returns the grant once approved (:class:`~runtime.ToolDenied` with
        ``approval_denied`` / ``approval_expired`` otherwise, :class:`~runtime.ApprovalTimeout`
        when the time runs out). ``approval_id`` names an approval asked for earlier (from
        :class:`~runtime.ApprovalRequired`), to run or wait for that one instead of a new one."""
        body = {"kind": "tool", "tool": tool, "args": args, "approval_id": approval_id}
        try:
            return await self._ask(body)
        except ApprovalRequired as exc:
            if not wait_for_approval or self._wait_approval is None or not exc.approval_id:
                raise
            approval_id, pending = exc.approval_id, exc
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            found = await self._wait_approval(approval_id, min(left, 30.0))
            if found is None:
                raise SidecarError("the approval could not be read from the sidecar")
            state = found.get("state")
            if state == "approved":
                return await self._ask({**body, "approval_id": approval_id})
            if state in ("denied", "expired"):
                raise ToolDenied(f"approval_{state}", {**found, "approval_id": approval_id})
        raise ApprovalTimeout("approval_required", pending.body)

    async def _ask(self, body: dict[str, Any]) -> Grant:
        if self._admit is None:
            raise RuntimeError("this run was not created by a client that can admit")
        return await self._admit(
            {
                "request_id": self.request_id,
                "user_id": self.user_id,
                "tenant": self.tenant,
                "agent": self.agent,
                **body,
            }
        )

    def llm_call(
        self,
        model: str,
        provider: str = "openai",
        *,
        stream: bool = False,
        input: Any = None,
        operation: str = "chat",
        reservation_id: str | None = None,
    ) -> LlmCallContext:
        return LlmCallContext(
            self,
            model,
            provider,
            stream=stream,
            input=input,
            operation=operation,
            reservation_id=self.take_reservation(reservation_id),
        )

    def tool_call(
        self, tool: str, *, args: Any = None, call_id: str | None = None
    ) -> ToolCallContext:
        return ToolCallContext(self, tool, args=args, call_id=call_id)

    def record_llm_call(
        self,
        *,
        model: str,
        provider: str,
        start_ts: float,
        duration_ms: float,
        input_tokens: int,
        output_tokens: int,
        ttft_ms: float | None = None,
        status: Status = "ok",
        error_type: str | None = None,
        **fields: Any,
    ) -> None:
        """Emit an LLM call measured elsewhere (e.g. from a provider's own timings).

        ``status`` is ``"ok"`` or ``"error"``; anything else raises ValueError here, because the
        sidecar would refuse the event (and with it the batch it travels in)."""
        _check_status(status)
        self._emit_step(
            {
                "type": "llm_call",
                "span_id": new_span_id(),
                "model": model,
                "provider": provider,
                "start_ts": start_ts,
                "duration_ms": duration_ms,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "stream": ttft_ms is not None,
                "ttft_ms": ttft_ms,
                "status": status,
                "error_type": error_type,
                **fields,
            }
        )

    def record_tool_call(
        self,
        *,
        tool: str,
        start_ts: float,
        duration_ms: float,
        status: Status = "ok",
        error_type: str | None = None,
        **fields: Any,
    ) -> None:
        """Emit a tool call measured elsewhere (``status`` as in :meth:`record_llm_call`)."""
        _check_status(status)
        self._emit_step(
            {
                "type": "tool_call",
                "span_id": new_span_id(),
                "tool": tool,
                "start_ts": start_ts,
                "duration_ms": duration_ms,
                "status": status,
                "error_type": error_type,
                **fields,
            }
        )

    def _common(self) -> dict[str, Any]:
        return {
            "id": new_id(),
            "ts": time.time(),
            "request_id": self.request_id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "tenant": self.tenant,
            "agent": self.agent,
            "trace_id": self.trace_id,
        }

    def _emit_step(self, fields: dict[str, Any]) -> None:
        self.steps += 1
        self._emit(_clean({**self._common(), "parent_span_id": self.span_id, **fields}))

    def _emit_event(self) -> None:
        self._emit(
            _clean(
                {
                    **self._common(),
                    "type": "run",
                    "span_id": self.span_id,
                    "start_ts": self.start_ts,
                    "duration_ms": self.duration_ms,
                    "status": "error" if self.error_type else "ok",
                    "error_type": self.error_type,
                    "error_message": self.error_message,
                    "steps": self.steps,
                    "attributes": self.attributes,
                }
            )
        )
