"""Tool arguments checked against a rule's JSON Schema (the ``jsonschema`` package).

The failure names the place in the arguments as the admit body has it: ``args.path``,
``args.files[2]``, ``args`` for the whole value; a missing required property is named by
itself (``args.path`` when ``path`` is required and absent). When several parts fail, the
error ``jsonschema.exceptions.best_match`` picks (the most relevant, deterministically) is named.
Remote ``$ref`` are never fetched. Validators are compiled once per schema and cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema
import msgspec
from jsonschema.exceptions import ValidationError, best_match

_VALIDATORS: dict[bytes, Any] = {}
_MAX_CACHED = 1024


def field_path(parts: Iterable[Any], root: str = "args") -> str:
    out = root
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _validator(schema: dict[str, Any]) -> Any:
    key = msgspec.json.encode(schema, order="sorted")
    found = _VALIDATORS.get(key)
    if found is None:
        if len(_VALIDATORS) >= _MAX_CACHED:
            _VALIDATORS.clear()
        cls = jsonschema.validators.validator_for(schema)
        found = _VALIDATORS[key] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return found


def _missing(error: ValidationError) -> str | None:
    if error.validator != "required" or not isinstance(error.instance, dict):
        return None
    for name in error.validator_value:
        if name not in error.instance:
            return str(name)
    return None


def schema_error(schema: dict[str, Any], args: Any) -> tuple[str, str] | None:
    """``(field, message)`` of the first failure of ``args`` against ``schema``, or None."""
    try:
        error = best_match(_validator(schema).iter_errors(args))
    except RecursionError:
        return "args", "arguments nest too deeply to validate"
    if error is None:
        return None
    parts = list(error.absolute_path)
    missing = _missing(error)
    if missing is not None:
        parts.append(missing)
    return field_path(parts), error.message[:500]
