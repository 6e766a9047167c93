"""Tool policies kept in the event database (SQLite file or PostgreSQL), binding at once.

Runtime policies (``PUT /v1/tool-policies/...``) are stored in ``sidecar_tool_policies``; a PUT
or DELETE bumps ``sidecar_tool_policy_version`` in the same transaction. Every decision first
reads that version (one small query) and reloads the policies when it changed, so once a PUT is
acknowledged by any replica sharing the database, the next decision on every replica is made
under it (the same immediacy as budget policies). Configured policies (``tools.policies``) are
the base; a stored policy for the same ``(tenant, agent)`` wins over it, and a DELETE removes
only the stored one. A database that cannot be read raises :class:`ToolStoreUnavailable`
(HTTP 503 with Retry-After): a decision is never made under policies that may be stale.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sidecar.errors import StoreUnavailable
from sidecar.tools.policy import PolicyBook, ToolPolicy, ToolPolicyEntry

_DDL = (
    "CREATE TABLE IF NOT EXISTS sidecar_tool_policies (tenant VARCHAR(256) NOT NULL, "
    "agent VARCHAR(256) NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, agent))",
    "CREATE TABLE IF NOT EXISTS sidecar_tool_policy_version (id INTEGER PRIMARY KEY, "
    "version BIGINT NOT NULL)",
    "INSERT INTO sidecar_tool_policy_version (id, version) VALUES (1, 0) "
    "ON CONFLICT (id) DO NOTHING",
)
_decode = msgspec.json.Decoder(ToolPolicy)


class ToolStoreUnavailable(StoreUnavailable):
    """The policy store cannot be read or written (HTTP 503)."""


async def create_tables(engine: AsyncEngine, statements: tuple[str, ...]) -> None:
    """Run idempotent DDL; replicas creating the tables at once race, and the loser retries."""
    for attempt in range(3):
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise


class ToolPolicyStore:
    def __init__(self, engine: AsyncEngine, configured: Iterable[ToolPolicyEntry] = ()) -> None:
        self._engine = engine
        self._configured = list(configured)
        self.book = PolicyBook(self._configured)
        self._version = -1
        self._lock = asyncio.Lock()
        self._conn: AsyncConnection | None = None  # held for the version reads
        self._next: asyncio.Future[PolicyBook] | None = None  # the read the next callers share
        self._reading = False
        self.version_reads = 0

    async def start(self) -> None:
        await create_tables(self._engine, _DDL)
        await self.current()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError, OSError):
                await conn.close()

    async def current(self) -> PolicyBook:
        """The policies in force now, as every replica sharing the database applies them.

        Callers share version reads: one that arrives while a read is running waits for the
        next one, which starts after it arrived, so a change acknowledged before the call is
        always seen; under load the database answers one small query per round trip, not one
        per call."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._reading:
                self._reading = True
                asyncio.get_running_loop().create_task(self._pump())
        return await asyncio.shield(self._next)

    async def _pump(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None
                try:
                    waiting.set_result(await self._read())
                except ToolStoreUnavailable as exc:
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved: nobody may be left to await it
        finally:
            self._reading = False

    async def _read(self) -> PolicyBook:
        try:
            if self._conn is None:
                self._conn = await self._engine.connect()
            async with self._conn.begin():  # one short transaction: never a stale snapshot
                version = (await self._conn.execute(
                    text("SELECT version FROM sidecar_tool_policy_version WHERE id = 1")
                )).scalar()  # fmt: skip
            self.version_reads += 1
            if version is not None and int(version) != self._version:
                await self._reload()
        except (SQLAlchemyError, OSError) as exc:
            await self.close()
            raise ToolStoreUnavailable(
                f"tool policy store unreachable: {type(exc).__name__}"
            ) from None
        return self.book

    async def _reload(self) -> None:
        async with self._lock:
            async with self._engine.connect() as conn:
                version = (await conn.execute(
                    text("SELECT version FROM sidecar_tool_policy_version WHERE id = 1")
                )).scalar_one()  # fmt: skip
                rows = (await conn.execute(
                    text("SELECT tenant, agent, body FROM sidecar_tool_policies")
                )).all()  # fmt: skip
            book = PolicyBook(self._configured)
            for tenant, agent, body in rows:
                book.put(tenant, agent, _decode.decode(body))
            self.book, self._version = book, int(version)

    async def put(self, tenant: str, agent: str, policy: ToolPolicy) -> None:
        """Store a policy; once this returns every replica decides under it."""
        body = msgspec.json.encode(policy).decode()
        await self._write(
            "INSERT INTO sidecar_tool_policies (tenant, agent, body) VALUES (:t, :a, :b) "
            "ON CONFLICT (tenant, agent) DO UPDATE SET body = excluded.body",
            {"t": tenant, "a": agent, "b": body},
        )

    async def delete(self, tenant: str, agent: str) -> bool:
        """Remove a stored policy (a configured one stays); False when none was stored."""
        return await self._write(
            "DELETE FROM sidecar_tool_policies WHERE tenant = :t AND agent = :a",
            {"t": tenant, "a": agent},
        )

    async def _write(self, statement: str, params: dict[str, str]) -> bool:
        try:
            async with self._engine.begin() as conn:
                changed = (await conn.execute(text(statement), params)).rowcount
                await conn.execute(text(
                    "UPDATE sidecar_tool_policy_version SET version = version + 1 WHERE id = 1"
                ))  # fmt: skip
            await self._reload()
        except SQLAlchemyError as exc:
            raise ToolStoreUnavailable(
                f"tool policy store unreachable: {type(exc).__name__}"
            ) from None
        return bool(changed)
