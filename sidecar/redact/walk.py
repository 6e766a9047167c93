"""Redaction of any JSON value: every string inside, at any depth, keys included.

Guarantee: the result has the same shape as the input (dicts stay dicts with the same number
of keys, lists keep their length, numbers, booleans and None are returned as they are); every
string in it has been through :meth:`Redactor.redact_text`. Dict keys that contain a finding are
replaced by their keyed pseudonym (``[EMAIL:9f2c41d07a3b]``) whatever the masking mode, so two
different keys never collapse into one. Numbers are not strings and are not inspected: a card
number sent as a JSON integer is the sender's choice of type; send it as a string to redact it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.redact.config import MaskMode
    from sidecar.redact.engine import Redactor


def redact_value(redactor: Redactor, value: Any, mode: MaskMode | None = None) -> Any:
    """A redacted copy of ``value`` (strings redacted, containers rebuilt, scalars kept);
    ``mode`` overrides the configured masking mode for the strings."""
    if isinstance(value, str):
        return redactor.redact_text(value, mode)
    if isinstance(value, dict):
        return {
            (_redact_key(redactor, key) if isinstance(key, str) else key): redact_value(
                redactor, item, mode
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(redactor, item, mode) for item in value]
    return value


def _redact_key(redactor: Redactor, key: str) -> str:
    return redactor.redact_text(key, mode="hash")
