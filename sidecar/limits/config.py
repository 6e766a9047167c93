"""Configuration of the ``limits`` section: per-request step, tool-call, time and loop limits.

A limit set to null is off. Defaults stop a runaway agent without getting in a normal one's way.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]


class LimitsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``limits.<name>`` keys. A request is identified by its ``request_id``."""

    max_steps_per_request: PositiveInt | None = 200
    max_tool_calls_per_request: PositiveInt | None = 100
    max_request_seconds: PositiveFloat | None = 900.0
    loop_repeat_threshold: Annotated[int, msgspec.Meta(ge=2)] | None = 5
    # State of a request untouched for this long is dropped (must exceed max_request_seconds).
    request_state_ttl_s: PositiveFloat = 3600.0
    # At most this many requests are tracked; the least recently used is dropped beyond it.
    max_tracked_requests: PositiveInt = 100_000
