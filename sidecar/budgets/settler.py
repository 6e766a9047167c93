"""The budget sink: settles reservations from stored ``llm_call`` events.

A sink sees each stored event once, after its commit. An ``llm_call`` carrying a
``reservation_id`` settles it with ``input_tokens + output_tokens`` and the event's
``cost_usd`` (set by the pricing transform). Settling is idempotent, so an event resent by the
agent and a ``POST /v1/budgets/settle`` for the same call count once. When the store is
unreachable the settle is kept (at most 100,000) and retried by :meth:`retry`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

from sidecar.budgets.ledger import BudgetLedger
from sidecar.budgets.model import StoreUnavailable
from sidecar.events.schema import EventBase, LlmCall

log = logging.getLogger(__name__)
_MAX_DEFERRED = 100_000


class BudgetSettler:
    """Sink: ``async consume(events)``; ``retry()`` from the app's periodic task."""

    def __init__(self, ledger: BudgetLedger) -> None:
        self.ledger = ledger
        self._deferred: deque[tuple[str, int, float]] = deque(maxlen=_MAX_DEFERRED)
        self.settled = 0
        self.deferred_dropped = 0

    async def consume(self, events: Sequence[EventBase]) -> None:
        """Settle every ``llm_call`` that names a reservation."""
        for event in events:
            if isinstance(event, LlmCall) and event.reservation_id:
                tokens = event.input_tokens + event.output_tokens
                await self._settle(event.reservation_id, tokens, event.cost_usd or 0.0)

    async def retry(self) -> int:
        """Retry deferred settles; returns how many went through."""
        done = 0
        for _ in range(len(self._deferred)):
            rid, tokens, cost = self._deferred.popleft()
            if not await self._settle(rid, tokens, cost):
                break
            done += 1
        return done

    async def _settle(self, rid: str, tokens: int, cost: float) -> bool:
        try:
            if await self.ledger.settle(rid, tokens, cost):
                self.settled += 1
        except StoreUnavailable as exc:
            if len(self._deferred) == _MAX_DEFERRED:
                self.deferred_dropped += 1
            self._deferred.append((rid, tokens, cost))
            log.warning("settle of %s deferred: %s", rid, exc)
            return False
        return True

    def stats(self) -> dict[str, int]:
        return {
            "settled": self.settled,
            "deferred": len(self._deferred),
            "deferred_dropped": self.deferred_dropped,
        }
