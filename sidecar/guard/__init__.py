"""Prompt-injection detection over user input and tool results (indirect injection).

Public surface: :class:`InjectionScorer`, :class:`InjectionResult`,
:class:`EventInjectionTagger` (the ingest transform), :class:`GuardConfig`. See
docs/redaction.md.
"""

from sidecar.guard.config import GuardConfig
from sidecar.guard.event_tagging import EventInjectionTagger
from sidecar.guard.patterns import FAMILIES
from sidecar.guard.scorer import InjectionResult, InjectionScorer

__all__ = ["FAMILIES", "EventInjectionTagger", "GuardConfig", "InjectionResult", "InjectionScorer"]
