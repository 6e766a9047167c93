"""Naming the field of a body that failed validation, for the contract's 4xx errors.

msgspec reports a wrong value at a JSON path (``$[3].entries[0].ttl_s``) but a missing or unknown
field, and a check of our own (``__post_init__``), at the object holding it. :func:`locate` turns
every such error into a message, the dotted path of the field and, for a top-level array, the
item's index; a timestamp past 2100-01-01 gets the hint that times are unix seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

import msgspec

_PATH = re.compile(r" - at `\$(?:\[(\d+)\])?\.?([^`]*)`$")
_NAMED = re.compile(r"(?:missing required field|unknown field) `([^`]+)`")
_SECONDS_BOUND = re.compile(r"<= 4102444800(?:\.0)?\b")
SECONDS_HINT = "; times are unix seconds (this looks like milliseconds: divide by 1000)"


@dataclass(frozen=True)
class Located:
    message: str
    field: str | None
    index: int | None


def locate(exc: msgspec.ValidationError, names: Iterable[str] = ()) -> Located:
    """The message without msgspec's path suffix, the field's dotted path and the item index.

    ``names`` are the field names the body may hold: a message of our own checks that names
    one of them (``"ttl_s must be finite"``) is attributed to the earliest one named.
    """
    text, path, index = str(exc), "", None
    match = _PATH.search(text)
    if match:
        index = int(match.group(1)) if match.group(1) is not None else None
        path = match.group(2).replace("[...]", "")  # map values: name the map
        text = text[: match.start()]
    named = _NAMED.search(text)
    if named:
        path = _join(path, named.group(1))
    elif not text.startswith("Expected"):
        mentioned = _first_named(text, names)
        if mentioned and not path.endswith(mentioned):
            path = _join(path, mentioned)
    if _SECONDS_BOUND.search(text) and path.rsplit(".", 1)[-1].endswith("ts"):
        text += SECONDS_HINT
    return Located(text, path or None, index)


def field_names(target: Any) -> set[str]:
    """Every field name of a msgspec Struct type, its nested Structs and union members."""
    seen: set[Any] = set()
    out: set[str] = set()

    def walk(kind: Any) -> None:
        if kind in seen:
            return
        seen.add(kind)
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            for info in msgspec.structs.fields(kind):
                out.add(info.encode_name)
                walk(info.type)
        for arg in get_args(kind):
            walk(arg)

    walk(target)
    return out


def _first_named(text: str, names: Iterable[str]) -> str | None:
    best: tuple[int, str] | None = None
    for name in names:
        found = re.search(rf"(?<![\w`]){re.escape(name)}(?![\w`])", text)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), name)
    return best[1] if best else None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
