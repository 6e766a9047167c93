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


class FleetConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Fleet stats through the shared PostgreSQL database (section ``fleet``).

    With PostgreSQL (and ``enabled``), every ``publish_interval_s`` each sidecar writes the
    sketches of each of ``windows`` in one upsert, keyed by ``replica_id`` (default: the host
    name and a random suffix, new on every start); ``GET /v1/stats?scope=fleet`` merges them.
    A replica silent for ``stale_after_s`` (default three intervals) is reported stale; it
    leaves a window's merge once its last write is as old as the window.
    """

    enabled: bool = True
    replica_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    publish_interval_s: Annotated[float, msgspec.Meta(ge=0.1, le=300)] = 5.0
    stale_after_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] | None = None
    windows: list[str] = msgspec.field(default_factory=lambda: ["1m", "5m", "1h"])

    def __post_init__(self) -> None:
        from sidecar.analytics.windows import window_seconds

        if not self.windows or len(self.windows) > 8:
            raise ValueError("fleet.windows: give 1 to 8 windows")
        if len(set(self.windows)) != len(self.windows):
            raise ValueError("fleet.windows: a window is given twice")
        for window in self.windows:
            try:
                seconds = window_seconds(window)
            except ValueError as exc:
                raise ValueError(f"fleet.windows: {exc}") from None
            if seconds is None:
                raise ValueError("fleet.windows: 'all' has no end, so it cannot be merged")
        if self.replica_id is not None and not self.replica_id.isprintable():
            raise ValueError("fleet.replica_id: control characters are not allowed")

    @property
    def stale_after(self) -> float:
        """Seconds of silence after which a replica is reported stale."""
        return self.stale_after_s if self.stale_after_s is not None else 3 * self.publish_interval_s
