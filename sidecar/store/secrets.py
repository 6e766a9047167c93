"""Secrets the sidecar generates once and keeps in its database (``sidecar_secrets``).

``stored_secret(engine, name)`` returns the value kept under ``name``, creating a random one
(256 bits, hex) the first time. Replicas sharing a database race with ``INSERT ... ON CONFLICT
DO NOTHING`` and all read the winner, so every replica and every restart gets the same value.
Used for the pseudonym key when ``redact.hash_key`` is not configured.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

DDL = (
    "CREATE TABLE IF NOT EXISTS sidecar_secrets (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)"
)


async def stored_secret(engine: AsyncEngine, name: str) -> str:
    """The secret kept under ``name``, generated on first use (first writer wins)."""
    from sqlalchemy.exc import DBAPIError

    for attempt in range(3):
        try:
            return await _read_or_create(engine, name)
        except DBAPIError:  # replicas creating the table at once: the loser retries
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _read_or_create(engine: AsyncEngine, name: str) -> str:
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text(DDL))
        await conn.execute(
            text("INSERT INTO sidecar_secrets (name, value) VALUES (:name, :value) "
                 "ON CONFLICT (name) DO NOTHING"),
            {"name": name, "value": secrets.token_hex(32)},
        )  # fmt: skip
        value = (
            await conn.execute(
                text("SELECT value FROM sidecar_secrets WHERE name = :name"), {"name": name}
            )
        ).scalar_one()
    return str(value)
