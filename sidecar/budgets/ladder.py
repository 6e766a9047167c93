"""The degradation ladder: warn, suggest a cheaper model, refuse expensive tools, then deny.

Only budgets whose policy sets ``suggest_at`` or ``restrict_at`` have a ladder (the others
cost nothing here). For each such budget applying to an admit, its use is the larger of
``(used + reserved) / max_tokens`` and ``(used + reserved cost) / max_cost_usd`` after the
admit; the step is the highest reached on any of them: ``warn`` (at ``warn_at``), ``suggest``
(at ``suggest_at``: the answer names the model of ``budgets.cheaper_models`` for the one asked,
with its price per million tokens and what this call would cost with it), ``restrict`` (at
``restrict_at``: tools tagged ``expensive`` are refused with ``expensive_tool_refused``, and
the suggestion stays). The cap itself denies as before (``step`` is absent on a denial).

Example: a $5/day budget with ``warn_at: 0.5, suggest_at: 0.7, restrict_at: 0.9`` at $3.60
used answers ``{"allowed": true, "step": "suggest", "suggested_model": "gpt-4o-mini", ...}``.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.model import LadderStepName

STEPS: tuple[LadderStepName, ...] = ("warn", "suggest", "restrict")


class Prices(Protocol):
    def resolve(self, model: str) -> str | None: ...
    def price(self, model: str | None) -> tuple[Any, bool]: ...
    def cost(
        self, model: str | None, input_tokens: int, output_tokens: int, cached: int | None = ...
    ) -> tuple[float, bool]: ...


class Step(msgspec.Struct, kw_only=True, frozen=True):
    step: LadderStepName
    use: float
    suggested_model: str | None = None
    suggested_price: dict[str, float] | None = None


def _use(usage: Any, policy: Any) -> float:
    use = 0.0
    if policy.max_tokens:
        use = max(use, (usage.tokens_used + usage.tokens_reserved) / policy.max_tokens)
    if policy.max_cost_usd and usage.remaining_cost_usd is not None:
        use = max(use, (policy.max_cost_usd - usage.remaining_cost_usd) / policy.max_cost_usd)
    return use


def _level(use: float, policy: Any) -> int:
    """0 none, 1 warn, 2 suggest, 3 restrict."""
    for level, threshold in ((3, policy.restrict_at), (2, policy.suggest_at),
                             (1, policy.warn_at)):  # fmt: skip
        if threshold is not None and use >= threshold:
            return level
    return 0


class Ladder:
    def __init__(self, ledger: BudgetLedger, prices: Prices | None,
                 cheaper_models: dict[str, str]) -> None:  # fmt: skip
        self.ledger = ledger
        self.prices = prices
        self.cheaper = cheaper_models
        self.steps: dict[str, int] = {s: 0 for s in STEPS}
        self.refused_tools = 0

    async def step(
        self, user_id: str | None, tenant: str | None, model: str | None = None,
        input_tokens: int = 0, max_output_tokens: int = 0,
    ) -> Step | None:  # fmt: skip
        """The highest step any laddered budget of the request is on, or None."""
        level, top = 0, 0.0
        for applied in self.ledger.applicable(user_id, tenant, model):
            policy = applied.policy
            if not policy.has_ladder:
                continue
            ref = applied.ref
            usage = await self.ledger.usage(ref.scope, ref.id, ref.model)
            use = _use(usage, policy)
            level, top = max(level, _level(use, policy)), max(top, use)
        if level == 0:
            return None
        name = STEPS[level - 1]
        self.steps[name] += 1
        if level == 1:
            return Step(step=name, use=round(top, 4))
        suggested, price = self._suggest(model, input_tokens, max_output_tokens)
        return Step(step=name, use=round(top, 4), suggested_model=suggested,
                    suggested_price=price)  # fmt: skip

    def _suggest(
        self, model: str | None, input_tokens: int, max_output_tokens: int
    ) -> tuple[str | None, dict[str, float] | None]:
        if model is None:
            return None, None
        name = (self.prices.resolve(model) if self.prices else None) or model
        cheaper = self.cheaper.get(model) or self.cheaper.get(name)
        if cheaper is None or self.prices is None:
            return cheaper, None
        price, _ = self.prices.price(cheaper)
        now_cost, _ = self.prices.cost(model, input_tokens, max_output_tokens, 0)
        cheap_cost, _ = self.prices.cost(cheaper, input_tokens, max_output_tokens, 0)
        return cheaper, {
            "input_usd_per_mtok": price.input,
            "output_usd_per_mtok": price.output,
            "estimated_cost_usd": cheap_cost,
            "requested_estimated_cost_usd": now_cost,
        }
