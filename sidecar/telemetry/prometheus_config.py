"""Configuration of the Prometheus metrics (section ``metrics`` of the sidecar's YAML)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

DEFAULT_LABEL_CAPS = {
    "gen_ai_request_model": 100,
    "gen_ai_provider_name": 20,
    "gen_ai_operation_name": 20,
    "gen_ai_tool_name": 200,
    "gen_ai_agent_name": 50,
    "error_type": 50,
    "reason": 50,
}

Cap = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class MetricsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Label caps (past a cap a value becomes ``_OTHER``) and the optional sketch gauges.

    ``sketch_quantiles`` adds gauges of exact-within-1% quantiles from the analytics sketches
    over ``sketch_window`` (one sidecar's view, not aggregatable across sidecars).
    """

    max_label_values: dict[str, Cap] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_LABEL_CAPS)
    )
    default_label_cap: Cap = 100
    sketch_quantiles: bool = False
    sketch_window: Literal["1m", "5m", "1h"] = "5m"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.max_label_values) - set(DEFAULT_LABEL_CAPS))
        if unknown:
            raise ValueError(
                f"metrics.max_label_values: unknown label(s) {unknown}; "
                f"expected {sorted(DEFAULT_LABEL_CAPS)}"
            )
