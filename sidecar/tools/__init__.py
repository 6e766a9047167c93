"""Tool policy: which tools an agent may call, with which arguments, and who approves.

Public surface: :class:`ToolGate` (the decision for ``POST /v1/admit`` with ``kind: tool``),
the policy language (:class:`ToolPolicy`, :class:`ToolRule`, :class:`PolicyBook`), its stores
(:class:`ToolPolicyStore`, :class:`ApprovalStore`, both in the event database) and
:class:`ToolsConfig`. No web framework here: the HTTP routes are in ``sidecar.api``.

Names load on first access, so the configuration (which needs only :class:`ToolsConfig`) does
not import the stores' SQLAlchemy or the policy's JSON Schema validator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.tools.approvals import Approval, ApprovalConflict, ApprovalStore
    from sidecar.tools.config import ToolsConfig
    from sidecar.tools.gate import REASONS, ToolCall, ToolGate, ToolVerdict
    from sidecar.tools.policy import PolicyBook, ToolPolicy, ToolPolicyEntry, ToolRule
    from sidecar.tools.rate import ToolRates
    from sidecar.tools.store import ToolPolicyStore, ToolStoreUnavailable

_HOME = {
    "Approval": "approvals",
    "ApprovalConflict": "approvals",
    "ApprovalStore": "approvals",
    "PolicyBook": "policy",
    "REASONS": "gate",
    "ToolCall": "gate",
    "ToolGate": "gate",
    "ToolPolicy": "policy",
    "ToolPolicyEntry": "policy",
    "ToolPolicyStore": "store",
    "ToolRates": "rate",
    "ToolRule": "policy",
    "ToolStoreUnavailable": "store",
    "ToolVerdict": "gate",
    "ToolsConfig": "config",
}

__all__ = [
    "REASONS",
    "Approval",
    "ApprovalConflict",
    "ApprovalStore",
    "PolicyBook",
    "ToolCall",
    "ToolGate",
    "ToolPolicy",
    "ToolPolicyEntry",
    "ToolPolicyStore",
    "ToolRates",
    "ToolRule",
    "ToolStoreUnavailable",
    "ToolVerdict",
    "ToolsConfig",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'sidecar.tools' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sidecar.tools.{home}"), name)
