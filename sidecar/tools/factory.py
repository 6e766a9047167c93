"""Build the tool gate from the configuration: stores in the event database, audit as events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.tools.approvals import ApprovalStore
from sidecar.tools.audit import Store, ToolAudit
from sidecar.tools.config import ToolsConfig
from sidecar.tools.gate import ToolGate
from sidecar.tools.rate import ToolRates
from sidecar.tools.store import ToolPolicyStore


def create_gate(
    config: ToolsConfig, engine: AsyncEngine, store_events: Store, clock: Callable[[], float],
    redact: Callable[[Any], Any],
) -> tuple[ToolGate, ToolAudit]:  # fmt: skip
    """The gate (call ``await gate.start()`` once the database is open) and its audit.
    ``clock`` dates approvals (the budget ledger's, so tests can move it); ``redact`` masks
    what approvals keep of the arguments and notes."""
    audit = ToolAudit(store_events, clock)
    approvals = ApprovalStore(engine, config.approval_ttl_s, clock, audit.approval, redact)
    gate = ToolGate(config, ToolPolicyStore(engine, config.policies), approvals,
                    ToolRates(config.max_rate_buckets))  # fmt: skip
    gate.on_refused = audit.refused
    return gate, audit
