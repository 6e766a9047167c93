"""Store settings (``store`` in the YAML): where events go, how the batching writer groups
commits, and how long each event type is kept (``store.retention``).

Retention's safe default: nothing is ever deleted. An event type absent from ``max_age_days`` is
kept forever. Example::

    store:
      retention:
        max_age_days: {llm_call: 90, tool_call: 30, run: 90}
        interval_s: 3600          # one pass an hour (and one at start)
        archive_dir: /var/lib/agent-sidecar/archive   # optional: archive before deleting
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sidecar.events.schema import EVENT_TYPES


class RetentionConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Age is the event's own ``ts``; a pass deletes at most ``batch_rows`` rows per statement."""

    max_age_days: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = msgspec.field(
        default_factory=dict
    )
    interval_s: Annotated[float, msgspec.Meta(ge=1)] = 3600.0
    batch_rows: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 5000
    archive_dir: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.max_age_days) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(
                f"max_age_days: unknown event type {unknown[0]!r}; use {', '.join(EVENT_TYPES)}"
            )

    @property
    def active(self) -> bool:
        return bool(self.max_age_days)


class StoreConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``batch_max_events`` bounds one group commit; ``queue_max_events`` bounds memory: past it,
    ingest answers 503 instead of buffering without limit."""

    batch_max_events: int = msgspec.field(default=10_000)
    queue_max_events: int = 200_000
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    pool_size: int = 5
    health_timeout_s: float = 2.0
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
