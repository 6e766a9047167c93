"""Configuration of the ``pricing`` section."""

from __future__ import annotations

from typing import Annotated

import msgspec

UsdPerMTok = Annotated[float, msgspec.Meta(ge=0, le=100_000)]


class DefaultPrice(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The price charged for a model the table does not know (USD per 1M tokens).

    Deliberately high (a frontier model's price) so an unknown model never makes a cost budget
    look roomier than it is; every such call is also counted as unpriced.
    """

    input: UsdPerMTok = 15.0
    output: UsdPerMTok = 75.0
    cached_input: UsdPerMTok | None = None


class PricingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``pricing.file`` extends or overrides the shipped table (same YAML / JSON format);
    ``pricing.trust_client_cost`` keeps a ``cost_usd`` the client sent instead of ours."""

    file: str | None = None
    default: DefaultPrice = msgspec.field(default_factory=DefaultPrice)
    trust_client_cost: bool = False
