"""API settings: tenant- and role-scoped tokens (``auth``) and request protection (``protection``).

Tokens are configured by their SHA-256 digest, never in clear: ``agent-sidecar hash-token``
prints the digest of a token. The single ``api_token`` setting keeps working as an admin token
of no tenant (it sees every tenant).

.. code-block:: yaml

    auth:
      tokens:
        - {sha256: "9f86d0...", tenant: acme, role: agent, name: acme-bot}
        - {sha256: "60303a...", tenant: acme, role: reader}
    protection:
      rate_limit_per_s: 2000      # per token (or per client address without one)
      request_timeout_s: 30
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

Role = Literal["agent", "reader", "approver", "admin"]
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class TokenConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One API token: its SHA-256 digest (hex), the tenant it is confined to, and its role."""

    sha256: str
    role: Role = "agent"
    tenant: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        self.sha256 = self.sha256.lower()
        if not _HEX64.match(self.sha256):
            raise ValueError("sha256 must be 64 hex digits (agent-sidecar hash-token TOKEN)")
        if self.tenant is not None and not 1 <= len(self.tenant) <= 256:
            raise ValueError("tenant must be 1..256 characters")


class AuthConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Scoped tokens; with none and no ``api_token``, the API is open (loopback only)."""

    tokens: list[TokenConfig] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        digests = [t.sha256 for t in self.tokens]
        if len(set(digests)) != len(digests):
            raise ValueError("auth.tokens: the same token is listed twice")


class ProtectionConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Limits that keep one misbehaving client from hurting the agents sharing the pod.

    ``rate_limit_per_s`` / ``rate_limit_burst``: a token bucket per token (per client address
    when no token is configured); over it, 429 with ``Retry-After``. 0 turns it off.
    ``request_timeout_s``: a handler running longer answers 503 ``timeout``.
    ``keepalive_timeout_s``: an idle keep-alive connection, or one whose request headers are
    still dribbling in (slowloris), is closed after this long;
    ``max_header_bytes`` bounds a request line and each header field (400 beyond it).
    """

    rate_limit_per_s: float = 5000.0
    rate_limit_burst: int = 10_000
    rate_limit_max_clients: int = 10_000
    request_timeout_s: float = 30.0
    keepalive_timeout_s: float = 15.0
    max_header_bytes: int = 8190

    def __post_init__(self) -> None:
        if self.rate_limit_per_s < 0 or self.rate_limit_burst < 1:
            raise ValueError("rate_limit_per_s must be >= 0 and rate_limit_burst >= 1")
        for name in ("request_timeout_s", "keepalive_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.rate_limit_max_clients < 1 or not 1024 <= self.max_header_bytes <= 65536:
            raise ValueError("rate_limit_max_clients >= 1, max_header_bytes within 1024..65536")
