"""PII and secret redaction: recognisers with validators, one pre-filtered pass, masking modes.

Public surface: :class:`Redactor` (``redact``, ``redact_text``, ``redact_value``, ``find``),
:class:`EventRedactor` (the ingest transform), :class:`RedactConfig`. See docs/redaction.md.
"""

from sidecar.redact.config import CustomRecogniserConfig, MaskMode, RedactConfig
from sidecar.redact.engine import Finding, RedactConfigError, RedactionResult, Redactor
from sidecar.redact.event_redaction import EventRedactor, IdentifierMasker
from sidecar.redact.prefilter import hyperscan_available

__all__ = [
    "CustomRecogniserConfig",
    "EventRedactor",
    "Finding",
    "IdentifierMasker",
    "MaskMode",
    "RedactConfig",
    "RedactConfigError",
    "RedactionResult",
    "Redactor",
    "hyperscan_available",
]
