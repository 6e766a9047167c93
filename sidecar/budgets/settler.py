"""The budget charger: every stored ``llm_call`` event is charged once to the budgets it used.

The ingest pipeline calls :meth:`BudgetSettler.charge` after the commit with the whole batch
(events stored now and resent ones it already had). Each ``llm_call`` is one charge whose id is
(tenant, event id): it settles the event's ``reservation_id`` with ``input_tokens +
output_tokens`` and the event's ``cost_usd`` (set by the pricing transform), or, when it names
none (or one the ledger does not know), it is charged directly to every budget that applies
to its user, tenant and model. Charging is idempotent by that id, so a resent event whose first
copy was stored but never charged (a crash between the two) is charged now, and one that was
charged is not charged again; a ``POST /v1/budgets/settle`` and the event of the same call
settle the reservation once. An event whose usage nobody reported (``usage_unknown``) settles its
reservation at the estimate, never at zero.

When the ledger cannot take the charges (store unreachable, journal not persisting) they are
kept (at most 100,000) and retried by :meth:`retry`, and :class:`StoreUnavailable` is raised so
the request is answered 503 and the client resends.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

from sidecar.budgets.ledger import BudgetLedger, check_charge
from sidecar.budgets.model import Charge, InvalidBudgetInput, Outcome, StoreUnavailable
from sidecar.budgets.policies import SEP
from sidecar.events.schema import EventBase, LlmCall
from sidecar.lifecycle import Periodic

log = logging.getLogger(__name__)
_MAX_DEFERRED = 100_000
_RETRY_CHUNK = 500

UserKey = Callable[[str | None, str | None], str | None]
ResolveModel = Callable[[str], str | None]


_COUNT_NAMES = {o: o.name.lower() for o in Outcome}


def charge_id(tenant: str | None, event_id: str) -> str:
    """The charge id of an event: events are unique per tenant."""
    return f"{tenant or ''}{SEP}{event_id}"


def _same_user(tenant: str | None, user_id: str | None) -> str | None:
    return user_id


class BudgetSettler:
    """The ingest charger: ``await charge(events, fresh)``; ``retry()`` from a periodic task.

    ``user_key(tenant, user_id)`` gives the user's budget id as admits use it (tenant-scoped
    deployments namespace it); ``resolve_model`` the price-table name of a model, so per-model
    budgets match every alias.
    """

    def __init__(
        self, ledger: BudgetLedger, *, user_key: UserKey = _same_user,
        resolve_model: ResolveModel | None = None, retry_interval_s: float = 1.0,
    ) -> None:  # fmt: skip
        self.ledger = ledger
        self._retrying = Periodic("settle-retry", retry_interval_s, self.retry)
        self.user_key = user_key
        self.resolve_model = resolve_model
        self._deferred: deque[Charge] = deque(maxlen=_MAX_DEFERRED)
        self.counts: dict[str, int] = {o.name.lower(): 0 for o in Outcome}
        self.rejected = 0
        self.deferred_dropped = 0

    def charges(self, events: Sequence[EventBase], fresh: Sequence[EventBase]) -> list[Charge]:
        """One charge per ``llm_call`` (an event not in ``fresh`` may have been charged)."""
        new = {id(e) for e in fresh}
        out: list[Charge] = []
        for event in events:
            if not isinstance(event, LlmCall) or event.id is None:
                continue
            model = event.model
            if self.resolve_model is not None:
                model = self.resolve_model(model) or model
            item = Charge(
                charge_id=charge_id(event.tenant, event.id),
                reservation_id=event.reservation_id, tenant=event.tenant,
                user_id=self.user_key(event.tenant, event.user_id), model=model,
                input_tokens=event.input_tokens, output_tokens=event.output_tokens,
                cached_input_tokens=event.cached_input_tokens, cost_usd=event.cost_usd,
                seen_before=id(event) not in new, usage_unknown=bool(event.usage_unknown),
            )  # fmt: skip
            try:
                check_charge(item)
            except InvalidBudgetInput as exc:
                self.rejected += 1
                log.warning("llm_call not charged: %s", exc)
                continue
            out.append(item)
        return out

    async def charge(self, events: Sequence[EventBase], fresh: Sequence[EventBase]) -> None:
        """Charge the batch's ``llm_call`` events; raises :class:`StoreUnavailable` (after
        keeping them for :meth:`retry`) when the ledger cannot take them now."""
        items = self.charges(events, fresh)
        if items:
            await self._charge(items)

    async def _charge(self, items: list[Charge]) -> None:
        try:
            outcomes = await self.ledger.charge(items)
        except StoreUnavailable as exc:
            for item in items:
                item.seen_before = True
                if len(self._deferred) == _MAX_DEFERRED:
                    self.deferred_dropped += 1
                self._deferred.append(item)
            log.warning("%d budget charges deferred: %s", len(items), exc)
            raise
        for outcome in outcomes:
            self.counts[_COUNT_NAMES[outcome]] += 1

    async def start(self) -> None:
        """Retry held charges every ``retry_interval_s`` until :meth:`close`."""
        await self._retrying.start()

    async def close(self) -> None:
        await self._retrying.close()

    async def retry(self) -> int:
        """Retry deferred charges; returns how many went through."""
        done = 0
        while self._deferred:
            take = min(_RETRY_CHUNK, len(self._deferred))
            chunk = [self._deferred.popleft() for _ in range(take)]
            try:
                await self._charge(chunk)
            except StoreUnavailable:
                # _charge put them back at the end; stop until the next round
                return done
            done += len(chunk)
        return done

    @property
    def settled(self) -> int:
        return self.counts["settled"]

    def stats(self) -> dict[str, int]:
        return {
            **self.counts,
            "rejected": self.rejected,
            "deferred": len(self._deferred),
            "deferred_dropped": self.deferred_dropped,
        }
