"""Two tenants, a reader and an admin: tokens and a sidecar configured with their digests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sidecar.api.principals import token_digest
from tests.conftest import RunningSidecar, make_settings, start_sidecar

ADMIN = "admin-token-0123"
TOKENS = {
    "a-agent": ("a", "agent"),
    "a-reader": ("a", "reader"),
    "a-admin": ("a", "admin"),
    "b-agent": ("b", "agent"),
    "b-reader": ("b", "reader"),
}


def secret(name: str) -> str:
    """The clear token of a named test principal (the admin token is its own secret)."""
    return name if name == ADMIN or name not in TOKENS else f"{name}.Zq81vX0pQ"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret(token)}"}


def tenant_auth() -> dict[str, Any]:
    """The ``auth`` section: digests only, never the tokens themselves."""
    return {
        "tokens": [
            {"sha256": token_digest(secret(tok)), "tenant": tenant, "role": role, "name": tok}
            for tok, (tenant, role) in TOKENS.items()
        ]
    }


@asynccontextmanager
async def tenant_sidecar(tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningSidecar]:
    settings = make_settings(tmp_path, api_token=ADMIN, auth=tenant_auth(), **overrides)
    running, runner = await start_sidecar(settings)
    try:
        yield running
    finally:
        await runner.cleanup()
