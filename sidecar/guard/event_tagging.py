"""The ingest transform that scores event content for prompt injection and tags the event.

``llm_call.input`` is scored as ``user`` text (system and developer messages are the
application's own and are skipped; ``tool``/``function`` messages inside the input are scored
as ``tool_result``); ``tool_call.result`` is scored as ``tool_result``. The worst text of an
event (highest score) sets its attributes:

- ``gen_ai.guard.injection_score``: float 0..1 (the scorer's ``score``: the learned scorer's
  probability with the default configuration)
- ``gen_ai.guard.injection_families``: comma-separated families, e.g. ``override,exfiltration``
- ``gen_ai.guard.injection_source``: ``user`` or ``tool_result``
- ``gen_ai.guard.injection_flagged``: bool
- ``gen_ai.guard.injection_severity``: ``low``, ``medium`` or ``high`` (see
  :mod:`sidecar.guard.scorer`)

Events whose texts all have severity ``none`` and no pattern match get no attributes (most
events: nothing to store). The tagger runs before redaction and content dropping (the app
wires it first), so it sees the text as sent; it stores only numbers and family names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sidecar.guard.scorer import InjectionResult, InjectionScorer, Source

ATTR_SCORE = "gen_ai.guard.injection_score"
ATTR_FAMILIES = "gen_ai.guard.injection_families"
ATTR_SOURCE = "gen_ai.guard.injection_source"
ATTR_FLAGGED = "gen_ai.guard.injection_flagged"
ATTR_SEVERITY = "gen_ai.guard.injection_severity"

_SKIPPED_ROLES = frozenset({"system", "developer"})
_TOOL_ROLES = frozenset({"tool", "function", "ipython"})


def texts_of(value: Any, source: Source) -> Iterator[tuple[Source, str]]:
    """The strings of a content value with their source (chat messages understood)."""
    if isinstance(value, str):
        yield source, value
    elif isinstance(value, dict):
        role = value.get("role")
        if isinstance(role, str):
            if role in _SKIPPED_ROLES:
                return
            if role in _TOOL_ROLES:
                source = "tool_result"
        for key, item in value.items():
            if key not in ("role", "name", "id", "tool_call_id", "type"):
                yield from texts_of(item, source)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts_of(item, source)


class EventInjectionTagger:
    """A transform (``process(events) -> None``) adding guard attributes to events in place."""

    def __init__(self, scorer: InjectionScorer) -> None:
        self.scorer = scorer

    def process(self, events: Sequence[Any]) -> None:
        """Score ``llm_call`` inputs and ``tool_call`` results; tag events that match."""
        for event in events:
            kind = getattr(event, "type", None) or type(event).__name__
            if kind in ("llm_call", "LlmCall"):
                value, source = getattr(event, "input", None), "user"
            elif kind in ("tool_call", "ToolCall"):
                value, source = getattr(event, "result", None), "tool_result"
            else:
                continue
            if value is None:
                continue
            worst: InjectionResult | None = None
            for text_source, text in texts_of(value, source):  # type: ignore[arg-type]
                result = self.scorer.score(text, text_source)
                noteworthy = result.severity != "none" or result.families
                if noteworthy and (worst is None or result.score > worst.score):
                    worst = result
            if worst is not None:
                attributes = dict(event.attributes or {})
                attributes[ATTR_SCORE] = worst.score
                attributes[ATTR_FAMILIES] = ",".join(worst.families)
                attributes[ATTR_SOURCE] = worst.source
                attributes[ATTR_FLAGGED] = worst.flagged
                attributes[ATTR_SEVERITY] = worst.severity
                event.attributes = attributes
