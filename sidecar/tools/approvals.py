"""Approvals: a person decides whether one tool call may run.

An approval is created ``pending`` by an admit whose rule says ``approval``; it names the
tenant, agent, request, tool and the SHA-256 of the canonical JSON of the arguments, so what is
approved is exactly that call. It becomes ``approved`` or ``denied`` by one decision (a second
decision is refused), or ``expired`` once ``approval_ttl_s`` passes undecided (checked on every
read, by the same clock as the budget ledger, so tests can move it). An approved call is run by
admitting it again with its ``approval_id``; that consumes the approval (once). Approvals live
in the event database, so every replica sharing it sees and decides the same ones. Each
creation, decision and expiry is handed to ``audit`` (the app stores it as an event).
Tenants are isolated: an approval of another tenant is reported as not found.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.tools.store import ToolStoreUnavailable, create_tables

State = Literal["pending", "approved", "denied", "expired"]
Audit = Callable[["Approval", str], Awaitable[None]]
MAX_SHOWN_ARGS = 16_384

_DDL = (
    "CREATE TABLE IF NOT EXISTS sidecar_tool_approvals (id VARCHAR(64) PRIMARY KEY, "
    "tenant TEXT NOT NULL, agent TEXT, user_id TEXT, request_id TEXT NOT NULL, "
    "tool TEXT NOT NULL, args_digest VARCHAR(64) NOT NULL, args TEXT, "
    "state VARCHAR(16) NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
    "expires_at DOUBLE PRECISION NOT NULL, decided_at DOUBLE PRECISION, decided_by TEXT, "
    "note TEXT, used_at DOUBLE PRECISION)",
    "CREATE INDEX IF NOT EXISTS sidecar_tool_approvals_pending "
    "ON sidecar_tool_approvals (tenant, state)",
)
_COLUMNS = ("id, tenant, agent, user_id, request_id, tool, args_digest, args, state, "
            "created_at, expires_at, decided_at, decided_by, note, used_at")  # fmt: skip


class Approval(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``GET /v1/approvals/{id}``; ``tenant`` is "" for a call of no tenant."""

    id: str
    tool: str
    state: State
    tenant: str = ""
    agent: str | None = None
    user_id: str | None = None
    request_id: str = ""
    args: Any = None
    args_digest: str = ""
    created_at: float = 0.0
    expires_at: float = 0.0
    decided_at: float | None = None
    decided_by: str | None = None
    note: str | None = None
    used: bool = False


class ApprovalConflict(ValueError):
    """A decision on an approval that is no longer pending (HTTP 409)."""

    def __init__(self, state: str) -> None:
        super().__init__(f"the approval is already {state}")
        self.state = state


def _text(value: str | None) -> str | None:
    """Text a database can hold: U+0000 (refused by PostgreSQL) becomes U+FFFD."""
    return None if value is None else value.replace("\x00", "\ufffd")


def args_digest(args: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(args, order="sorted")).hexdigest()


def _shown(args: Any) -> str:
    body = msgspec.json.encode(args, order="sorted")
    if len(body) > MAX_SHOWN_ARGS:
        return msgspec.json.encode({"truncated": True, "bytes": len(body)}).decode()
    return body.decode()


async def _no_audit(_approval: Approval, _what: str) -> None:
    return None


class ApprovalStore:
    def __init__(self, engine: AsyncEngine, ttl_s: float, clock: Callable[[], float] = time.time,
                 audit: Audit = _no_audit,
                 redact: Callable[[Any], Any] = lambda value: value) -> None:  # fmt: skip
        self._engine = engine
        self.ttl_s = ttl_s
        self.clock = clock
        self.audit = audit
        self._redact = redact
        self._changed = asyncio.Condition()
        self.counts: dict[str, int] = {"created": 0, "approved": 0, "denied": 0, "expired": 0}

    async def start(self) -> None:
        await create_tables(self._engine, _DDL)

    async def _run(self, statement: str, params: dict[str, Any]) -> Any:
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(text(statement), params)
                return result.all() if result.returns_rows else result.rowcount
        except SQLAlchemyError as exc:
            raise ToolStoreUnavailable(
                f"approval store unreachable: {type(exc).__name__}"
            ) from None

    async def request(self, *, tenant: str | None, agent: str | None, user_id: str | None,
                      request_id: str, tool: str, args: Any) -> Approval:  # fmt: skip
        """The pending approval for this call: the one already waiting, else a new one."""
        now, digest, owner = self.clock(), args_digest(args), tenant or ""
        request_id = _text(request_id) or ""
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM sidecar_tool_approvals WHERE tenant = :t AND "
            "request_id = :r AND tool = :tool AND args_digest = :d AND state = 'pending' "
            "AND expires_at > :now ORDER BY created_at LIMIT 1",
            {"t": owner, "r": request_id, "tool": tool, "d": digest, "now": now},
        )
        if rows:
            return _row(rows[0])
        approval = Approval(
            id="apr_" + secrets.token_hex(12), tool=tool, state="pending", tenant=owner,
            agent=_text(agent), user_id=_text(user_id), request_id=_text(request_id) or "",
            args=self._redact(args), args_digest=digest, created_at=now,
            expires_at=now + self.ttl_s,
        )  # fmt: skip
        await self._run(
            f"INSERT INTO sidecar_tool_approvals ({_COLUMNS}) VALUES (:id, :tenant, :agent, "
            ":user_id, :request_id, :tool, :args_digest, :args, :state, :created_at, "
            ":expires_at, NULL, NULL, NULL, NULL)",
            {**msgspec.structs.asdict(approval), "args": _shown(approval.args)},
        )
        self.counts["created"] += 1
        await self.audit(approval, "approval_requested")
        return approval

    async def get(self, approval_id: str, tenant: str | None) -> Approval | None:
        """The approval (expired first when due), or None if absent or another tenant's.
        ``tenant`` None means any tenant (a tenantless caller)."""
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM sidecar_tool_approvals WHERE id = :id", {"id": approval_id}
        )
        if not rows:
            return None
        approval = _row(rows[0])
        if tenant is not None and approval.tenant != tenant:
            return None
        return await self._expire_if_due(approval)

    async def _expire_if_due(self, approval: Approval) -> Approval:
        now = self.clock()
        if approval.state != "pending" or now < approval.expires_at:
            return approval
        changed = await self._run(
            "UPDATE sidecar_tool_approvals SET state = 'expired', decided_at = :now "
            "WHERE id = :id AND state = 'pending'", {"id": approval.id, "now": now},
        )  # fmt: skip
        fresh = await self._reread(approval.id) or approval
        if changed:
            self.counts["expired"] += 1
            await self.audit(fresh, "approval_expired")
        return fresh

    async def _reread(self, approval_id: str) -> Approval | None:
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM sidecar_tool_approvals WHERE id = :id", {"id": approval_id}
        )
        return _row(rows[0]) if rows else None

    async def pending(self, tenant: str | None, limit: int = 100) -> list[Approval]:
        """Pending approvals, oldest first (expired ones are moved to ``expired`` on the way)."""
        where = "state = 'pending'" + ("" if tenant is None else " AND tenant = :t")
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM sidecar_tool_approvals WHERE {where} "
            "ORDER BY created_at LIMIT :n", {"t": tenant or "", "n": limit},
        )  # fmt: skip
        out = []
        for row in rows:
            approval = await self._expire_if_due(_row(row))
            if approval.state == "pending":
                out.append(approval)
        return out

    async def decide(self, approval_id: str, tenant: str | None, *, approve: bool, by: str,
                     note: str | None) -> Approval | None:  # fmt: skip
        """Approve or deny once; None when not found (or another tenant's);
        :class:`ApprovalConflict` when it is no longer pending."""
        approval = await self.get(approval_id, tenant)
        if approval is None:
            return None
        if approval.state != "pending":
            raise ApprovalConflict(approval.state)
        state = "approved" if approve else "denied"
        changed = await self._run(
            "UPDATE sidecar_tool_approvals SET state = :s, decided_at = :now, decided_by = :by, "
            "note = :note WHERE id = :id AND state = 'pending' AND expires_at > :now",
            {"s": state, "now": self.clock(), "by": by, "id": approval_id,
             "note": None if note is None else _text(self._redact(note))},
        )  # fmt: skip
        fresh = await self._reread(approval_id) or approval
        if not changed:
            raise ApprovalConflict(fresh.state if fresh.state != "pending" else "expired")
        self.counts[state] += 1
        await self.audit(fresh, f"approval_{state}")
        async with self._changed:
            self._changed.notify_all()
        return fresh

    async def consume(self, approval_id: str, tenant: str | None, tool: str, args: Any) -> bool:
        """Use an approved approval for exactly its call, once."""
        changed = await self._run(
            "UPDATE sidecar_tool_approvals SET used_at = :now WHERE id = :id AND tenant = :t "
            "AND tool = :tool AND args_digest = :d AND state = 'approved' AND used_at IS NULL",
            {"now": self.clock(), "id": approval_id, "t": tenant or "", "tool": tool,
             "d": args_digest(args)},
        )  # fmt: skip
        return bool(changed)

    async def wait(self, approval_id: str, tenant: str | None, seconds: float,
                   poll_s: float = 0.25) -> Approval | None:  # fmt: skip
        """The approval once it is no longer pending, or as it is after ``seconds``. A decision
        on this replica wakes the waiter at once; one on another replica within ``poll_s``."""
        deadline = time.monotonic() + seconds
        while True:
            approval = await self.get(approval_id, tenant)
            left = deadline - time.monotonic()
            if approval is None or approval.state != "pending" or left <= 0:
                return approval
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=min(poll_s, left))


def _row(row: Any) -> Approval:
    (id_, tenant, agent, user_id, request_id, tool, digest, args, state, created, expires,
     decided_at, decided_by, note, used_at) = row  # fmt: skip
    return Approval(
        id=id_,
        tenant=tenant,
        agent=agent,
        user_id=user_id,
        request_id=request_id,
        tool=tool,
        args_digest=digest,
        args=msgspec.json.decode(args) if args else None,
        state=state,
        created_at=float(created),
        expires_at=float(expires),
        decided_at=None if decided_at is None else float(decided_at),
        decided_by=decided_by,
        note=note,
        used=used_at is not None,
    )
