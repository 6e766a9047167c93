"""A cap on the distinct values of every label, so series and metrics stay bounded.

Guarantee: for a label with cap ``c``, at most ``c`` distinct values pass through; every later new
value is reported as ``_OTHER`` (the fallback value the OpenTelemetry conventions use). So 5,000
distinct model names with a cap of 100 leave at most 101 values. The first ``c`` values seen win
(first come, first kept): a steady set of models keeps its names, a burst of typos falls into
``_OTHER`` and is counted in :attr:`LabelGuard.overflowed`.

Identifiers are never labels: :data:`FORBIDDEN_LABELS` lists the names (user, session,
conversation, request, call, response ids) that :class:`LabelGuard` refuses to be configured for.
A lookup costs one dict probe once a value is known.
"""

from __future__ import annotations

from collections.abc import Mapping

OTHER = "_OTHER"

FORBIDDEN_LABELS = frozenset(
    {
        "id",
        "user",
        "user_id",
        "session",
        "session_id",
        "conversation",
        "conversation_id",
        "gen_ai_conversation_id",
        "request_id",
        "call_id",
        "gen_ai_tool_call_id",
        "gen_ai_response_id",
        "gen_ai_agent_id",
        "trace_id",
        "span_id",
        "event_id",
        "reservation_id",
    }
)


def check_label_name(name: str) -> None:
    """Raise ValueError for a label that would carry an identifier (unbounded by nature)."""
    if name in FORBIDDEN_LABELS:
        raise ValueError(f"{name!r} is an identifier and can never be a label")


class LabelGuard:
    """Maps each label's values into a bounded set: the first ``cap`` values, then ``_OTHER``."""

    __slots__ = ("_caps", "_default_cap", "_kept", "overflowed")

    def __init__(self, caps: Mapping[str, int], default_cap: int = 100) -> None:
        for name, cap in caps.items():
            check_label_name(name)
            if cap < 0:
                raise ValueError(f"cap for label {name!r} must be >= 0, got {cap}")
        self._caps = dict(caps)
        self._default_cap = default_cap
        self._kept: dict[str, set[str]] = {}
        self.overflowed: dict[str, int] = {}

    def cap(self, label: str) -> int:
        return self._caps.get(label, self._default_cap)

    def bound(self, label: str, value: str) -> str:
        """``value`` itself if it is (or can become) one of the kept values, else ``_OTHER``."""
        kept = self._kept.get(label)
        if kept is None:
            check_label_name(label)
            kept = self._kept[label] = set()
        if value in kept:
            return value
        if len(kept) < self.cap(label):
            kept.add(value)
            return value
        self.overflowed[label] = self.overflowed.get(label, 0) + 1
        return OTHER

    def kept(self, label: str) -> frozenset[str]:
        """The values of ``label`` that pass through unchanged so far."""
        return frozenset(self._kept.get(label, ()))
