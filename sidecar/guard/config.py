"""Configuration of the prompt-injection guard (the ``guard`` section of the YAML)."""

from __future__ import annotations

from typing import Literal

import msgspec


class GuardConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """- ``threshold``: a text whose score reaches it is flagged (0..1, default 0.5: one strong
      pattern, or two weaker ones from different families).
    - ``tool_result_threshold``: the same for tool results (indirect injection); defaults to
      ``threshold``. Instructions addressed to the model inside a tool result are already
      weighted up by the scorer.
    - ``mode``: ``tag`` records findings as event attributes and metrics only; ``block`` also
      lets ``/v1/admit`` refuse a step whose tool result was flagged.
    - ``families``: the families to use (empty: all).
    """

    enabled: bool = True
    threshold: float = msgspec.field(default=0.5)
    tool_result_threshold: float | None = None
    mode: Literal["tag", "block"] = "tag"
    families: list[str] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        for value in (self.threshold, self.tool_result_threshold):
            if value is not None and not 0.0 < value <= 1.0:
                raise ValueError("guard thresholds must be in (0, 1]")
