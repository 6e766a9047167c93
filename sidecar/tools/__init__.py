"""Tool policy: which tools an agent may call, with which arguments, and who approves.

Public surface: :class:`ToolGate` (the decision for ``POST /v1/admit`` with ``kind: tool``),
the policy language (:class:`ToolPolicy`, :class:`ToolRule`, :class:`PolicyBook`), its stores
(:class:`ToolPolicyStore`, :class:`ApprovalStore`, both in the event database) and
:class:`ToolsConfig`. No web framework here: the HTTP routes are in ``sidecar.api``.
"""

from sidecar.tools.approvals import Approval, ApprovalConflict, ApprovalStore
from sidecar.tools.config import ToolsConfig
from sidecar.tools.gate import REASONS, ToolCall, ToolGate, ToolVerdict
from sidecar.tools.policy import PolicyBook, ToolPolicy, ToolPolicyEntry, ToolRule
from sidecar.tools.rate import ToolRates
from sidecar.tools.store import ToolPolicyStore, ToolStoreUnavailable

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
