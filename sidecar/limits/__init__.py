"""Per-request limits: steps, tool calls, wall time and loop detection."""

from sidecar.limits.config import LimitsConfig
from sidecar.limits.limiter import LimitDecision, RequestLimiter, canonical_call

__all__ = ["LimitDecision", "LimitsConfig", "RequestLimiter", "canonical_call"]
