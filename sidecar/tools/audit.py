"""Audit of tool decisions as stored events: every refusal and every approval step.

Each is a ``tool_call`` event of zero duration whose attributes say what happened
(``sidecar.audit``: ``tool_policy`` or ``approval``; ``sidecar.decision``: the reason, e.g.
``path_denied``, or ``approval_requested`` / ``approval_approved`` / ``approval_denied`` /
``approval_expired``), with the failing field, the approval id and who decided. Refusals have
``status: error`` and ``error_type`` the reason; approval steps ``status: ok``. The arguments and
the approver's note are not copied into the event. An approval step's event id is derived from
the approval and the step, so it is stored once even when two replicas report it. Events go
through ingest like any other (redaction, the store, the sinks); a store that cannot take them
is counted in ``failures`` and never fails the decision. They are records, not telemetry: the
app stores them through ``Ingest.record`` (redacted and stored, but counted in no tool metric
or percentile and exported as no span).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sidecar.events.schema import Event, ToolCall
from sidecar.tools.approvals import Approval
from sidecar.tools.gate import ToolCall as Call
from sidecar.tools.gate import ToolVerdict

log = logging.getLogger(__name__)
Store = Callable[[list[Event]], Awaitable[Any]]


def _clip(value: str | None) -> str | None:
    return None if value is None else value[:256] or None


class ToolAudit:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self.stored = 0
        self.failures = 0

    async def _put(self, events: Sequence[Event]) -> None:
        try:
            await self._store(list(events))
            self.stored += len(events)
        except Exception:  # the decision stands; the gap is counted
            self.failures += len(events)
            log.warning("a tool audit event could not be stored")

    async def refused(self, call: Call, verdict: ToolVerdict) -> None:
        now = self._clock()
        attributes: dict[str, str | int | float | bool | None] = {
            "sidecar.audit": "tool_policy", "sidecar.decision": verdict.reason,
        }  # fmt: skip
        if verdict.field:
            attributes["sidecar.field"] = verdict.field[:256]
        if verdict.rule is not None:
            attributes["sidecar.rule"] = verdict.rule
        event = ToolCall(
            id=uuid.uuid4().hex, ts=now, request_id=call.request_id[:256] or "unknown",
            tenant=_clip(call.tenant), agent=_clip(call.agent), user_id=_clip(call.user_id),
            tool=call.tool[:256] or "unknown", start_ts=now, duration_ms=0.0, status="error",
            error_type=verdict.reason, attributes=attributes,
        )  # fmt: skip
        await self._put([event])

    async def approval(self, approval: Approval, what: str) -> None:
        now = self._clock()
        attributes: dict[str, str | int | float | bool | None] = {
            "sidecar.audit": "approval", "sidecar.decision": what,
            "sidecar.approval_id": approval.id,
        }  # fmt: skip
        if approval.decided_by and what in ("approval_approved", "approval_denied"):
            attributes["sidecar.decided_by"] = approval.decided_by[:256]
        event = ToolCall(
            id=f"{approval.id}:{what}", ts=now, request_id=approval.request_id[:256] or "unknown",
            tenant=approval.tenant or None, agent=_clip(approval.agent),
            user_id=_clip(approval.user_id), tool=approval.tool, start_ts=now, duration_ms=0.0,
            status="ok", attributes=attributes,
        )  # fmt: skip
        await self._put([event])
