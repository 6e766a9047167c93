"""Store settings: where events go and how the batching writer groups commits."""

from __future__ import annotations

from typing import Literal

import msgspec

from sidecar.store.retention_config import RetentionConfig


class StoreConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``batch_max_events`` bounds one group commit; ``queue_max_events`` bounds memory: past it,
    ingest answers 503 instead of buffering without limit."""

    batch_max_events: int = msgspec.field(default=10_000)
    queue_max_events: int = 200_000
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    pool_size: int = 5
    health_timeout_s: float = 2.0
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
