"""Token and cost budgets: policies, and a ledger that reserves, settles and releases.

Public surface: :func:`create_ledger` (from the store URL), the :class:`BudgetLedger`
protocol, :class:`Admission` (``POST /v1/admit``), :class:`BudgetSettler` (the sink that
settles from ``llm_call`` events), :class:`BudgetsConfig` and the value types.
"""

from sidecar.budgets.admission import Admission, AdmitBody
from sidecar.budgets.config import (
    BudgetPolicy,
    BudgetPolicyEntry,
    BudgetsConfig,
    FailPolicy,
    Scope,
)
from sidecar.budgets.factory import create_ledger
from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.memory import InProcessLedger
from sidecar.budgets.model import (
    AdmitRequest,
    BudgetWarning,
    Decision,
    StoreUnavailable,
    UnknownBudget,
    Usage,
)
from sidecar.budgets.settler import BudgetSettler

__all__ = [
    "Admission",
    "AdmitBody",
    "AdmitRequest",
    "BudgetLedger",
    "BudgetPolicy",
    "BudgetPolicyEntry",
    "BudgetSettler",
    "BudgetWarning",
    "BudgetsConfig",
    "Decision",
    "FailPolicy",
    "InProcessLedger",
    "Scope",
    "StoreUnavailable",
    "UnknownBudget",
    "Usage",
    "create_ledger",
]
