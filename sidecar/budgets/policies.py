"""The set of budget policies and which of them apply to a request.

Lookup is by dict: a request matches at most one policy per (scope, model-or-any) pair, so
applicability costs a handful of dict hits whatever the number of policies.
A named id wins over the ``"*"`` template of its scope.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from sidecar.budgets.config import BudgetPolicy, BudgetPolicyEntry, Scope
from sidecar.budgets.windows import Window, parse_window

ANY = "*"
SEP = "\x1f"


class BudgetRef(msgspec.Struct, frozen=True, order=True):
    """One budget: a policy applied to one scope id (``id`` is concrete, never ``"*"``)."""

    scope: Scope
    id: str
    model: str | None = None

    @property
    def key(self) -> str:
        return f"{self.scope}{SEP}{self.id}{SEP}{self.model or ''}"

    @classmethod
    def from_key(cls, key: str) -> BudgetRef:
        """The budget of a counter key (``scope SEP id SEP model [SEP window]``)."""
        scope, id_, model = key.split(SEP)[:3]
        return cls(scope, id_, model or None)  # type: ignore[arg-type]


class Applied(msgspec.Struct, frozen=True):
    """A budget that applies to a request, with its policy and parsed window. ``key`` names
    its counters: the budget and the window length (``BudgetRef.key SEP window``), so a policy
    whose window changes starts new counters instead of meeting old ones that happen to start
    at the same instant."""

    ref: BudgetRef
    key: str
    policy: BudgetPolicy
    window: Window


PolicyKey = tuple[Scope, str, str | None]


class PolicySet:
    """Policies by (scope, id, model); ``applicable`` resolves templates and sorts by key."""

    def __init__(self, entries: Iterable[BudgetPolicyEntry] = ()) -> None:
        self._policies: dict[PolicyKey, BudgetPolicy] = {}
        self._models: set[str | None] = {None}
        self._global: dict[tuple[str, str | None], BudgetPolicy] = {}
        for e in entries:
            self.put(e.scope, e.id, _strip(e))

    def put(self, scope: Scope, id_: str, policy: BudgetPolicy) -> None:
        if SEP in id_ or (policy.model and SEP in policy.model):
            raise ValueError("budget ids must not contain the unit separator U+001F")
        self._policies[(scope, id_, policy.model)] = policy
        self._models.add(policy.model)
        if scope == "global":
            self._global[(id_, policy.model)] = policy

    def delete(self, scope: Scope, id_: str, model: str | None = None) -> bool:
        self._global.pop((id_, model), None)
        return self._policies.pop((scope, id_, model), None) is not None

    def get(self, scope: Scope, id_: str, model: str | None = None) -> BudgetPolicy | None:
        """The policy governing ``(scope, id_, model)``: by name, else the scope's template."""
        p = self._policies.get((scope, id_, model))
        if p is None and scope != "global":
            p = self._policies.get((scope, ANY, model))
        return p

    def __len__(self) -> int:
        return len(self._policies)

    def __contains__(self, key: object) -> bool:
        return key in self._policies

    def exact(self, scope: Scope, id_: str, model: str | None = None) -> BudgetPolicy | None:
        """The policy stored under exactly this key (no template)."""
        return self._policies.get((scope, id_, model))

    def entries(self) -> list[BudgetPolicyEntry]:
        return [
            BudgetPolicyEntry(scope=s, id=i, **msgspec.structs.asdict(p))
            for (s, i, _), p in sorted(self._policies.items(), key=lambda kv: str(kv[0]))
        ]

    def replace_all(self, other: PolicySet) -> None:
        self._policies = dict(other._policies)
        self._models = set(other._models)
        self._global = dict(other._global)

    def applicable(
        self, user_id: str | None, tenant: str | None, model: str | None
    ) -> list[Applied]:
        """Every budget the request counts against, sorted by key (the lock order)."""
        found: list[Applied] = []
        if not self._policies:
            return found
        models = (None, model) if model is not None and model in self._models else (None,)
        for m in models:
            if user_id is not None:
                self._add(found, "user", user_id, m)
            if tenant is not None:
                self._add(found, "tenant", tenant, m)
            for (i, pm), p in self._global.items():
                if pm == m:
                    found.append(apply_policy(BudgetRef("global", i, m), p))
        found.sort(key=lambda a: a.key)
        return found

    def _add(self, found: list[Applied], scope: Scope, id_: str, model: str | None) -> None:
        p = self.get(scope, id_, model)
        if p is not None:
            found.append(apply_policy(BudgetRef(scope, id_, model), p))


def window_id(window: Window) -> str:
    """``minute`` | ``hour`` | ``day`` | ``month`` | ``rolling:<seconds>s``."""
    return f"rolling:{window.seconds}s" if window.rolling else window.kind


def apply_policy(ref: BudgetRef, policy: BudgetPolicy) -> Applied:
    window = parse_window(policy.window)
    return Applied(ref, f"{ref.key}{SEP}{window_id(window)}", policy, window)


def is_legacy_key(key: str) -> bool:
    """A counter key written before keys named their window."""
    return key.count(SEP) == 2


def upgrade_key(key: str, policies: PolicySet) -> str:
    """A legacy key with the window of the policy governing its budget now (an empty window
    when none does: such counters only age out)."""
    if not is_legacy_key(key):
        return key
    ref = BudgetRef.from_key(key)
    policy = policies.get(ref.scope, ref.id, ref.model)
    return apply_policy(ref, policy).key if policy is not None else f"{key}{SEP}"


def _strip(entry: BudgetPolicyEntry) -> BudgetPolicy:
    d = msgspec.structs.asdict(entry)
    del d["scope"], d["id"]
    return BudgetPolicy(**d)
