"""The pricing transform: sets ``cost_usd`` on every ``llm_call`` event of a batch.

Runs on the decoded batch before it is stored (``process(events) -> None``, in
place). Unknown models are charged the default price and counted in ``unpriced``;
their names (at most 100 distinct) are kept in ``unpriced_models`` for an operator to add.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.events.schema import EventBase, LlmCall
from sidecar.pricing.table import PriceTable

_MAX_UNPRICED_NAMES = 100


class EventPricer:
    """Transform: ``LlmCall.cost_usd`` from the :class:`PriceTable`."""

    def __init__(self, table: PriceTable, trust_client_cost: bool = False) -> None:
        self.table = table
        self.trust_client_cost = trust_client_cost
        self.priced = 0
        self.unpriced = 0
        self.unpriced_models: set[str] = set()

    def process(self, events: Sequence[EventBase]) -> None:
        """Price every ``llm_call`` in place; other events are left alone."""
        for event in events:
            if not isinstance(event, LlmCall):
                continue
            if self.trust_client_cost and event.cost_usd is not None:
                continue
            cost, priced = self.table.cost(
                event.model, event.input_tokens, event.output_tokens, event.cached_input_tokens
            )
            event.cost_usd = cost
            if priced:
                self.priced += 1
            else:
                self.unpriced += 1
                if len(self.unpriced_models) < _MAX_UNPRICED_NAMES:
                    self.unpriced_models.add(event.model)

    def stats(self) -> dict[str, int]:
        """Counters for the telemetry layer."""
        return {"priced": self.priced, "unpriced": self.unpriced}
