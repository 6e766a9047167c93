"""Configuration of the redactor (the ``redact`` section of the sidecar's YAML)."""

from __future__ import annotations

from typing import Literal

import msgspec

MaskMode = Literal["label", "hash", "partial"]


class CustomRecogniserConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A site-specific type: ``pattern`` is a Python regex; ``group`` selects the span to mask.

    Example: ``{type: EMPLOYEE_ID, pattern: "EMP-[0-9]{6}"}``.
    """

    type: str
    pattern: str
    group: int = 0
    priority: int = 30


class RedactConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How findings are masked and which values are exempt.

    - ``mode``: ``label`` (``[EMAIL]``), ``hash`` (``[EMAIL:9f2c41d07a3b]``, an HMAC-SHA256
      pseudonym with ``hash_key``: one value always gives one pseudonym, so a user's traces stay
      joinable), or ``partial`` (last four characters kept for number-like types, label for the
      others; secrets are never partially shown).
    - ``modes``: per-type overrides of ``mode``, e.g. ``{EMAIL: hash}``.
    - ``hash_key``: the HMAC key. Empty means a key generated once and kept in the database
      (table ``sidecar_secrets``): pseudonyms are then stable across restarts and across
      replicas sharing the database (an in-memory database keeps it for the process only).
      Rotation: docs/redaction.md.
    - ``types``: the types to report; empty means all built-in and custom types.
    - ``allow``: exact values never redacted (compared case-insensitively), e.g. a support
      address; ``allow_patterns``: regexes a whole finding may match to be kept.
    - ``secret_assignments``: also redact values assigned to secret-like names
      (``api_key=...``, ``"password": "..."``, ``Authorization: Bearer ...``).
    - ``fast_prefilter``: use Hyperscan to skip recognisers that cannot match (when installed).
    """

    enabled: bool = True
    mode: MaskMode = "label"
    modes: dict[str, MaskMode] = msgspec.field(default_factory=dict)
    hash_key: str = ""
    types: list[str] = msgspec.field(default_factory=list)
    allow: list[str] = msgspec.field(default_factory=list)
    allow_patterns: list[str] = msgspec.field(default_factory=list)
    custom: list[CustomRecogniserConfig] = msgspec.field(default_factory=list)
    secret_assignments: bool = True
    fast_prefilter: bool = True
