"""Token and cost budgets: policies, and a ledger that reserves, settles and releases.

Public surface: :func:`create_ledger` (from the store URL), the :class:`BudgetLedger`
protocol, :class:`Admission` (the whole of ``POST /v1/admit``), :class:`BudgetSettler` (the
ingest charger: every ``llm_call`` charged once), :class:`BudgetsConfig`, the consistency
report and the value types.
"""

from sidecar.budgets.admission import Admission, AdmitBody
from sidecar.budgets.config import (
    BudgetPolicy,
    BudgetPolicyEntry,
    BudgetsConfig,
    FailPolicy,
    Scope,
)
from sidecar.budgets.consistency import ConsistencyReport
from sidecar.budgets.factory import create_ledger
from sidecar.budgets.in_process import InProcessLedger
from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.model import (
    ANY_TENANT,
    AdmitRequest,
    BudgetWarning,
    Charge,
    Decision,
    InvalidBudgetInput,
    Outcome,
    StoreUnavailable,
    UnknownBudget,
    Usage,
)
from sidecar.budgets.settler import BudgetSettler

__all__ = [
    "ANY_TENANT",
    "Admission",
    "AdmitBody",
    "AdmitRequest",
    "BudgetLedger",
    "BudgetPolicy",
    "BudgetPolicyEntry",
    "BudgetSettler",
    "BudgetWarning",
    "BudgetsConfig",
    "Charge",
    "ConsistencyReport",
    "Decision",
    "FailPolicy",
    "InProcessLedger",
    "InvalidBudgetInput",
    "Outcome",
    "Scope",
    "StoreUnavailable",
    "UnknownBudget",
    "Usage",
    "create_ledger",
]
