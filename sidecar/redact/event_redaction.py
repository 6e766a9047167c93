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

Cost: one pre-filter pass per content string (figures in docs/benchmarks.md, "Redaction
throughput"), and one per batch for all the identifiers not already known clean.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
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
        self.remember((value,))
        return value

    def remember(self, values: Collection[str]) -> None:
        """Values known to hold no finding (the memo is cleared when it would overflow)."""
        if len(self.clean) + len(values) > self._clean_cache_size:
            self.clean.clear()
            if len(values) > self._clean_cache_size:
                return
        self.clean.update(values)


class EventRedactor:
    """A transform (``process(events) -> None``) that redacts events in place."""

    def __init__(self, redactor: Redactor, *, clean_cache_size: int = 50_000) -> None:
        self.redactor = redactor
        self.events_changed = 0
        self._mask_id = IdentifierMasker(redactor, clean_cache_size=clean_cache_size)
        self._fields: dict[type, _Fields] = {}

    def process(self, events: Sequence[Any]) -> None:
        """Redact each event of the batch in place (any event type of the schema).

        The identifier values the clean memo does not know are first sorted out by one joined
        pre-filter scan of the whole batch (:meth:`Redactor.suspects`); only those it cannot
        clear go through :class:`IdentifierMasker`, occurrence by occurrence, so the result and
        the counters are those of masking every identifier alone."""
        redactor = self.redactor
        counts = redactor.counts
        changed = [False] * len(events)
        identifiers: list[tuple[Any, ...]] = []
        for index, event in enumerate(events):
            fields = self._fields.get(type(event)) or self._fields_of(type(event))
            content = fields.content(event)
            if content.count(None) != len(content):
                for name, value in zip(fields.content_names, content, strict=True):
                    if value is not None and not isinstance(value, int | float | bool):
                        before = sum(counts.values())
                        setattr(event, name, redactor.redact_value(value))
                        changed[index] = changed[index] or sum(counts.values()) != before
            identifiers.append(fields.identifiers(event))
            attributes = getattr(event, "attributes", None)
            if attributes:
                before = sum(counts.values())
                event.attributes = redactor.redact_value(attributes)
                changed[index] = changed[index] or sum(counts.values()) != before
        suspects = self._suspects(identifiers)
        if suspects:
            mask_id = self._mask_id
            for index, (event, values) in enumerate(zip(events, identifiers, strict=True)):
                if suspects.isdisjoint(values):
                    continue
                names = self._fields[type(event)].identifier_names
                for name, value in zip(names, values, strict=True):
                    if value in suspects and (masked := mask_id(value)) is not value:
                        setattr(event, name, masked)
                        changed[index] = True
        self.events_changed += sum(changed)

    def _suspects(self, identifiers: list[tuple[Any, ...]]) -> set[str]:
        """The identifier values that must be masked one by one: neither in the clean memo nor
        cleared by one joined pre-filter scan (those cleared are remembered as clean)."""
        unknown = set(chain.from_iterable(identifiers))
        unknown -= self._mask_id.clean
        texts = [v for v in unknown if isinstance(v, str)]
        if not texts:
            return set()
        found = self.redactor.suspects(texts)
        if found is None:
            return set(texts)
        suspects = {texts[i] for i in found}
        cleared = set(texts)
        cleared -= suspects
        self._mask_id.remember(cleared)
        return suspects

    def _fields_of(self, cls: type) -> _Fields:
        found = self._fields[cls] = _Fields.of(cls)
        return found

    def stats(self) -> dict[str, int]:
        """Redactions by type, plus ``events_changed``."""
        return {**self.redactor.stats(), "events_changed": self.events_changed}


@dataclass(frozen=True, slots=True)
class _Fields:
    """The content and identifier fields of one event type, and getters of their values as
    tuples (one C call per event instead of a ``getattr`` per field)."""

    content_names: tuple[str, ...]
    content: Callable[[Any], tuple[Any, ...]]
    identifier_names: tuple[str, ...]
    identifiers: Callable[[Any], tuple[Any, ...]]

    @classmethod
    def of(cls, event_type: type) -> _Fields:
        present = getattr(event_type, "__struct_fields__", None)
        if present is None:  # not a struct: any field may be missing
            return cls(CONTENT_FIELDS, _getter(CONTENT_FIELDS, missing_ok=True),
                       IDENTIFIER_FIELDS, _getter(IDENTIFIER_FIELDS, missing_ok=True))  # fmt: skip
        content = tuple(n for n in CONTENT_FIELDS if n in present)
        identifiers = tuple(n for n in IDENTIFIER_FIELDS if n in present)
        return cls(content, _getter(content), identifiers, _getter(identifiers))


def _getter(
    names: tuple[str, ...], *, missing_ok: bool = False
) -> Callable[[Any], tuple[Any, ...]]:
    if missing_ok:
        return lambda event: tuple(getattr(event, name, None) for name in names)
    if len(names) == 0:
        return lambda event: ()
    if len(names) == 1:
        name = names[0]
        return lambda event: (getattr(event, name),)
    return attrgetter(*names)
