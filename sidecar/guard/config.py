"""Configuration of the prompt-injection guard (the ``guard`` section of the YAML)."""

from __future__ import annotations

from typing import Literal

import msgspec


class GuardConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """- ``threshold``: a text whose score reaches it is flagged (0..1, default 0.5: the learned
      scorer's probability of an injection; with ``model: false`` one strong pattern, or two
      weaker ones from different families).
    - ``tool_result_threshold``: the same for tool results (indirect injection); defaults to
      ``threshold``. The scorer already knows the source: instructions aimed at the assistant
      weigh more inside a tool result.
    - ``mode``: ``tag`` records findings as event attributes and metrics only; ``block`` also
      lets ``/v1/admit`` refuse a step whose tool result was flagged.
    - ``families``: the families to use and report (empty: all).
    - ``model``: the learned scorer on top of the patterns (default on); off, the score is the
      patterns' noisy-OR alone (faster, far lower recall on paraphrased attacks).
    - ``model_path``: a weights file written by ``python -m sidecar.guard.training`` (default:
      the model shipped in the package).
    """

    enabled: bool = True
    threshold: float = msgspec.field(default=0.5)
    tool_result_threshold: float | None = None
    mode: Literal["tag", "block"] = "tag"
    families: list[str] = msgspec.field(default_factory=list)
    model: bool = True
    model_path: str | None = None

    def __post_init__(self) -> None:
        for value in (self.threshold, self.tool_result_threshold):
            if value is not None and not 0.0 < value <= 1.0:
                raise ValueError("guard thresholds must be in (0, 1]")
