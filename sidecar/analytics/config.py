"""Configuration of the analytics (section ``analytics`` of the sidecar's YAML)."""

from __future__ import annotations

from typing import Annotated

import msgspec

SERIES_FIELDS = ("model", "provider", "agent", "tool", "operation", "status")

_DEFAULT_CAPS = {"model": 100, "provider": 20, "agent": 50, "tool": 200, "operation": 20}


class AnalyticsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Sketch accuracy, memory bounds and the per-field caps on distinct values.

    ``max_values`` caps the distinct values of each series field (past the cap a value becomes
    ``_OTHER``); ``max_series`` caps the distinct series (past it new series fold into one whose
    fields are all ``_OTHER``, keeping operation and status).
    """

    enabled: bool = True
    relative_accuracy: Annotated[float, msgspec.Meta(ge=0.0001, le=0.1)] = 0.01
    bin_limit: Annotated[int, msgspec.Meta(ge=64, le=65536)] = 2048
    max_values: dict[str, Annotated[int, msgspec.Meta(ge=1, le=100_000)]] = msgspec.field(
        default_factory=lambda: dict(_DEFAULT_CAPS)
    )
    max_series: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 5000

    def __post_init__(self) -> None:
        unknown = sorted(set(self.max_values) - set(SERIES_FIELDS) - {"status"})
        if unknown:
            raise ValueError(
                f"analytics.max_values: unknown field(s) {unknown}; expected {list(SERIES_FIELDS)}"
            )
