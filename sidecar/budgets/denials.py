"""Recent admission denials, for people: which budget or limit said no, to whom, for how long.

:class:`RecordingAdmission` is an :class:`~sidecar.budgets.admission.Admission` that notes every
denial in a :class:`DenialLog`: a ring of the last ``capacity`` (500 by default) denials of this
process, newest first, in memory only (a restart starts it empty; the counters in ``/metrics``
keep the totals). An entry holds the reason, the limit that denied, ``retry_after_s``, and the
request, user (as stored: a pseudonym when the id held PII), tenant and model of the admit.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sidecar.budgets.admission import Admission, AdmitBody
from sidecar.budgets.model import Decision

_REQUEST_SEPARATOR = "\x1f"  # per-request limit keys are "<tenant>\x1f<request_id>"


class DenialLog:
    """A bounded ring of recent denials; ``recent`` filters by tenant, newest first."""

    def __init__(self, capacity: int = 500, clock: Callable[[], float] = time.time) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._clock = clock
        self.total = 0

    def record(self, body: AdmitBody, decision: Decision) -> None:
        tenant = body.tenant
        request_id = body.request_id.rpartition(_REQUEST_SEPARATOR)[2]
        user_id = body.user_id
        if tenant is not None and user_id is not None and user_id.startswith(f"{tenant}:"):
            user_id = user_id[len(tenant) + 1 :]
        usage = decision.usage
        self._entries.append(
            {
                "ts": self._clock(),
                "reason": decision.reason,
                "retry_after_s": decision.retry_after_s,
                "limit": decision.limit,
                "kind": body.kind,
                "request_id": request_id,
                "user_id": user_id,
                "tenant": tenant,
                "model": body.model,
                "tool": body.tool,
                "usage": None
                if usage is None
                else {
                    "tokens_used": usage.tokens_used,
                    "tokens_reserved": usage.tokens_reserved,
                    "cost_usd": usage.cost_usd,
                    "window_end": usage.window_end,
                },
            }
        )
        self.total += 1

    def recent(self, tenant: str | None, *, all_tenants: bool, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` denials of ``tenant`` (of every tenant when ``all_tenants``)."""
        out: list[dict[str, Any]] = []
        for entry in reversed(self._entries):
            if all_tenants or entry["tenant"] == tenant:
                out.append(entry)
                if len(out) >= limit:
                    break
        return out


class RecordingAdmission(Admission):
    """Admission that notes each denial in ``denials`` (the decision itself is unchanged)."""

    def __init__(self, *args: Any, denials: DenialLog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.denials = denials

    async def admit(self, body: AdmitBody) -> Decision:
        decision = await super().admit(body)
        if not decision.allowed:
            self.denials.record(body, decision)
        return decision
