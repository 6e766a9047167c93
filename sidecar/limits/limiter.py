"""Per-request limits: steps, tool calls, wall time, and loops of identical tool calls.

What is promised, for one ``request_id`` seen by this sidecar:

- the ``max_steps_per_request + 1``-th admitted step (an LLM or a tool call) is denied with
  ``step_limit_exceeded``; tool calls beyond ``max_tool_calls_per_request`` with
  ``tool_call_limit_exceeded``;
- any step later than ``max_request_seconds`` after the request's first step is denied with
  ``time_limit_exceeded``;
- the ``loop_repeat_threshold``-th consecutive call of the same tool with the same arguments is
  denied with ``loop_detected`` (arguments are canonicalised: key order and whitespace do not
  matter, ``{"b":1,"a":[1,2]}`` equals ``{"a": [1, 2], "b": 1}``). With threshold 3, calls
  1 and 2 pass, call 3 is denied; a different call in between restarts the count.

Denied steps are not counted. Memory is bounded: about 200 bytes per tracked request, at most
``max_tracked_requests`` (100,000 by default, about 20 MB), and a request untouched for
``request_state_ttl_s`` is forgotten. A check costs a few µs (plus hashing a tool call's
arguments).

The state is in this process: with several sidecars, each enforces the limits of the requests it
sees, which is exact when an agent talks to its own sidecar (the deployment this is made for).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from sidecar.limits.config import LimitsConfig

Kind = Literal["llm", "tool"]
LimitReason = Literal[
    "step_limit_exceeded", "tool_call_limit_exceeded", "time_limit_exceeded", "loop_detected"
]


class LimitDecision(msgspec.Struct, frozen=True, omit_defaults=True):
    """Outcome of a limits check. ``limit`` is the configured value that was hit."""

    allowed: bool
    reason: LimitReason | None = None
    limit: float | None = None
    usage: float | None = None


ALLOWED = LimitDecision(allowed=True)


class _RequestState:
    __slots__ = ("first_seen", "last_call", "last_seen", "repeats", "steps", "tool_calls")

    def __init__(self, now: float) -> None:
        self.first_seen = now
        self.last_seen = now
        self.steps = 0
        self.tool_calls = 0
        self.last_call: bytes | None = None
        self.repeats = 0


def canonical_call(tool: str, args: Any) -> bytes:
    """A 16-byte digest of a tool call that ignores key order and whitespace in ``args``."""
    text = json.dumps(
        [tool, args], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class RequestLimiter:
    """In-process per-request limit state; ``check`` both decides and counts an allowed step."""

    def __init__(self, config: LimitsConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._requests: OrderedDict[str, _RequestState] = OrderedDict()
        self.denials: dict[str, int] = {}
        self.evicted = 0

    def check(
        self, request_id: str, kind: Kind, tool: str | None = None, args: Any = None
    ) -> LimitDecision:
        """Decide one step of ``request_id``; an allowed step is counted at once."""
        cfg = self.config
        now = self._clock()
        state = self._touch(request_id, now)
        call: bytes | None = None
        if kind == "tool" and cfg.loop_repeat_threshold is not None:
            call = canonical_call(tool or "", args)
        decision = self._decide(state, kind, call, now)
        if not decision.allowed:
            assert decision.reason is not None
            self.denials[decision.reason] = self.denials.get(decision.reason, 0) + 1
            return decision
        state.steps += 1
        if kind == "tool":
            state.tool_calls += 1
        if call is not None and call == state.last_call:
            state.repeats += 1
        else:
            state.last_call = call
            state.repeats = 1 if call is not None else 0
        return ALLOWED

    def _decide(
        self, state: _RequestState, kind: Kind, call: bytes | None, now: float
    ) -> LimitDecision:
        cfg = self.config
        elapsed = now - state.first_seen
        if cfg.max_request_seconds is not None and elapsed > cfg.max_request_seconds:
            return LimitDecision(False, "time_limit_exceeded", cfg.max_request_seconds, elapsed)
        if cfg.max_steps_per_request is not None and state.steps >= cfg.max_steps_per_request:
            return LimitDecision(
                False, "step_limit_exceeded", cfg.max_steps_per_request, state.steps
            )
        if kind == "tool":
            limit = cfg.max_tool_calls_per_request
            if limit is not None and state.tool_calls >= limit:
                return LimitDecision(False, "tool_call_limit_exceeded", limit, state.tool_calls)
            threshold = cfg.loop_repeat_threshold
            if (
                threshold is not None
                and call is not None
                and call == state.last_call
                and state.repeats + 1 >= threshold
            ):
                return LimitDecision(False, "loop_detected", threshold, state.repeats + 1)
        return ALLOWED

    def end(self, request_id: str) -> None:
        """Forget a finished request (e.g. on its ``run`` event)."""
        self._requests.pop(request_id, None)

    def _touch(self, request_id: str, now: float) -> _RequestState:
        requests = self._requests
        state = requests.get(request_id)
        if state is None:
            self._expire(now)
            state = _RequestState(now)
            requests[request_id] = state
        else:
            requests.move_to_end(request_id)
            state.last_seen = now
        return state

    def _expire(self, now: float) -> None:
        requests = self._requests
        horizon = now - self.config.request_state_ttl_s
        while requests:
            oldest = next(iter(requests.values()))
            if oldest.last_seen > horizon and len(requests) < self.config.max_tracked_requests:
                break
            requests.popitem(last=False)
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._requests)

    def stats(self) -> dict[str, int]:
        """Counters for the telemetry layer: tracked requests, evictions, denials by reason."""
        out = {"tracked_requests": len(self._requests), "evicted": self.evicted}
        out.update({f"denied_{k}": v for k, v in self.denials.items()})
        return out
