"""The ingest transform: redact every free-text field of every event, in place.

Guarantee: after :meth:`EventRedactor.process`, no recognised value remains in any string of
an event: content (``input``, ``output``, ``args``, ``result`` at any depth, keys included),
``error_message``, attribute keys and string attribute values are masked with the configured
mode; identifier and name fields are replaced, *only when they contain a finding*, by the keyed
pseudonym of the whole value (``user_id="alice@example.com"`` becomes ``"[ID:9f2c41d07a3b]"``),
so the same user stays joinable across events, budgets and sessions while the raw address never
reaches the store. Clean identifiers (the normal case) are left untouched. The event ``id`` is one
of them: a resent event whose id holds PII still deduplicates while the pseudonym key is the same
(``hash_key`` set, or the same process). Trace and span ids are hex by schema and cannot hold PII.

Cost: one pre-filter pass per string (figures in docs/benchmarks.md, "Redaction throughput").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.redact.engine import Redactor

CONTENT_FIELDS = ("input", "output", "args", "result", "error_message")
IDENTIFIER_FIELDS = (
    "id",
    "request_id",
    "session_id",
    "user_id",
    "tenant",
    "call_id",
    "reservation_id",
    "agent",
    "model",
    "response_model",
    "response_id",
    "provider",
    "tool",
    "operation",
    "error_type",
    "finish_reason",
)


class IdentifierMasker:
    """An identifier as it is stored: itself when clean, else the keyed pseudonym of the whole
    value (what :class:`EventRedactor` writes). The API applies it to ids in admits, budget
    paths, cache scopes and query filters, so a user id holding an e-mail address is keyed the
    same way everywhere and the raw address is stored nowhere.

    Identifier values repeat (the same user, request, model): the ones known to be clean are
    remembered and skip their scan. Bounded: the memo is cleared when full. Findings count in
    the redactor's per-type counters."""

    def __init__(self, redactor: Redactor, *, clean_cache_size: int = 50_000) -> None:
        self.redactor = redactor
        self.clean: set[str] = set()  # read by EventRedactor's loop to skip the call
        self._clean_cache_size = clean_cache_size

    def __call__(self, value: str | None) -> str | None:
        if value is None or value in self.clean:
            return value
        findings = self.redactor.find(value)
        if findings:
            counts = self.redactor.counts
            for finding in findings:
                counts[finding.type] = counts.get(finding.type, 0) + 1
            return self.redactor.pseudonym(value)
        if len(self.clean) >= self._clean_cache_size:
            self.clean.clear()
        self.clean.add(value)
        return value


class EventRedactor:
    """A transform (``process(events) -> None``) that redacts events in place."""

    def __init__(self, redactor: Redactor, *, clean_cache_size: int = 50_000) -> None:
        self.redactor = redactor
        self.events_changed = 0
        self._mask_id = IdentifierMasker(redactor, clean_cache_size=clean_cache_size)

    def process(self, events: Sequence[Any]) -> None:
        """Redact each event of the batch in place (any event type of the schema)."""
        redactor = self.redactor
        counts = redactor.counts
        mask_id = self._mask_id
        clean = mask_id.clean
        for event in events:
            changed = False
            for name in CONTENT_FIELDS:
                value = getattr(event, name, None)
                if value is not None and not isinstance(value, int | float | bool):
                    before = sum(counts.values())
                    setattr(event, name, redactor.redact_value(value))
                    changed = changed or sum(counts.values()) != before
            for name in IDENTIFIER_FIELDS:
                value = getattr(event, name, None)
                if value is None or value in clean or not isinstance(value, str):
                    continue
                if (masked := mask_id(value)) is not value:
                    setattr(event, name, masked)
                    changed = True
            attributes = getattr(event, "attributes", None)
            if attributes:
                before = sum(counts.values())
                event.attributes = redactor.redact_value(attributes)
                changed = changed or sum(counts.values()) != before
            if changed:
                self.events_changed += 1

    def stats(self) -> dict[str, int]:
        """Redactions by type, plus ``events_changed``."""
        return {**self.redactor.stats(), "events_changed": self.events_changed}
