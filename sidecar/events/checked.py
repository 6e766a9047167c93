"""No control character in an event's ids and names, checked once per batch.

The event types (:mod:`sidecar.events.schema`) bound each id and name by length only: the
decoder's per-string regex (msgspec's ``pattern``) took 6.6 of the 8.6 µs an event cost to
decode. Instead:

- a JSON body without an escape that decodes to a control character (``\\n``, ``\\t``,
  ``\\u001f``, ...) and without a DEL byte decodes to none (a raw control byte inside a string
  is malformed JSON), which :func:`may_hold_control` sees in one scan of the bytes;
- any other batch has its ids and names joined and searched once (:func:`control_field`);
- a batch that holds one is decoded again with the pattern-checked twins of the types
  (:func:`checked`), so its 422 is word for word the one a per-string check gives, and the
  OpenAPI document states the rule from the same twins.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Any

import msgspec

from sidecar.events.schema import EventBase
from sidecar.validation import BoundedId, Id, has_control

# Every alternative starts with the backslash, so the search skips to each backslash at memchr
# speed (with the DEL byte as another alternative it ran at 130 MB/s, 2.3 µs per event).
_CONTROL_ESCAPE = re.compile(rb"\\(?:[bfnrt]|u00[01]|u007[fF])")


def may_hold_control(body: bytes) -> bool:
    """False when no string decoded from the JSON ``body`` can hold a control character."""
    return b"\x7f" in body or _CONTROL_ESCAPE.search(body) is not None


def control_field(events: Sequence[EventBase]) -> tuple[int, str] | None:
    """(index, field) of the first event id or name holding U+0000..U+001F or U+007F."""
    joined = "".join(filter(None, chain.from_iterable(_texts(type(e))(e) for e in events)))
    if not has_control(joined):
        return None
    for index, event in enumerate(events):
        for name in _text_fields(type(event)):
            value = getattr(event, name)
            if isinstance(value, str) and has_control(value):
                return index, name
    return None  # pragma: no cover - the join held one, so one of its values does


@cache
def _text_fields(cls: type) -> tuple[str, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple(
        name
        for name in cls.__struct_fields__  # type: ignore[attr-defined]
        for kind in (BoundedId, Id)  # the types' own, and their checked twins'
        if hints[name] == kind or kind in typing.get_args(hints[name])
    )


@cache
def _texts(cls: type) -> Any:
    """A function of an event of ``cls`` returning its ids and names as a tuple (in C)."""
    names = _text_fields(cls)
    if not names:
        return lambda event: ()
    if len(names) == 1:
        first = attrgetter(names[0])
        return lambda event: (first(event),)
    return attrgetter(*names)


@cache
def checked(cls: type) -> type:
    """The twin of the event type ``cls`` whose ids and names carry the decoder's pattern
    (:data:`~sidecar.validation.Id`): same name, fields, defaults, tag and docstring."""
    fields: list[tuple[str, Any, Any] | tuple[str, Any]] = []
    for info in msgspec.structs.fields(cls):
        kind = _with_pattern(info.type)
        if info.default is not msgspec.NODEFAULT:
            fields.append((info.name, kind, info.default))
        elif info.default_factory is not msgspec.NODEFAULT:
            fields.append((info.name, kind, msgspec.field(default_factory=info.default_factory)))
        else:
            fields.append((info.name, kind))
    config = cls.__struct_config__  # type: ignore[attr-defined]
    twin = msgspec.defstruct(
        cls.__name__,
        fields,
        kw_only=True,
        tag_field=config.tag_field,
        tag=config.tag,
        omit_defaults=config.omit_defaults,
        forbid_unknown_fields=config.forbid_unknown_fields,
        module=cls.__module__,
    )
    twin.__doc__ = cls.__doc__
    return twin


def _with_pattern(kind: Any) -> Any:
    if kind == BoundedId:
        return Id
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = tuple(_with_pattern(member) for member in typing.get_args(kind))
        return typing.Union[members]  # noqa: UP007 - built from a tuple
    return kind


__all__ = ["checked", "control_field", "may_hold_control"]
