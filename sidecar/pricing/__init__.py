"""Model pricing: a shipped price table, overridable by file, and the event pricing transform."""

from sidecar.pricing.config import DefaultPrice, PricingConfig
from sidecar.pricing.pricer import EventPricer
from sidecar.pricing.table import ModelPrice, PriceTable, PriceTableError

__all__ = [
    "DefaultPrice",
    "EventPricer",
    "ModelPrice",
    "PriceTable",
    "PriceTableError",
    "PricingConfig",
]
