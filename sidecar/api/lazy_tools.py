"""The tool policy, built at its first use: the first tool admit or tool-policy request.

The gate's stores live in the event database through SQLAlchemy; a sidecar whose agents never
ask about a tool never loads it (about 20 MB and 0.4 s of start). The first use imports the
store modules on a worker thread (the event loop keeps serving), creates the tables and loads
the policies; every later call goes straight to the gate. The counters are exported from the
start, at 0 until then.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sidecar.telemetry.stats_collector import StatsCollector
from sidecar.telemetry.tool_metrics import register_tool_metrics

if TYPE_CHECKING:
    from sidecar.tools import ToolGate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Build = Callable[[], Awaitable[tuple["ToolGate", Any]]]
# The routes of sidecar.api.tool_routes (a test checks the two lists agree).
ROUTES = (
    ("GET", "/v1/tool-policies"),
    ("PUT", "/v1/tool-policies/{tenant}/{agent}"),
    ("GET", "/v1/tool-policies/{tenant}/{agent}"),
    ("DELETE", "/v1/tool-policies/{tenant}/{agent}"),
    ("GET", "/v1/approvals"),
    ("GET", "/v1/approvals/{id}"),
    ("POST", "/v1/approvals/{id}"),
)
_APPROVAL_STEPS = ("created", "approved", "denied", "expired")


class LazyTools:
    """Stands for the :class:`~sidecar.tools.ToolGate` until its first use builds it."""

    def __init__(self, build: Build, stats: StatsCollector) -> None:
        self._build = build
        self._lock = asyncio.Lock()
        self.gate: ToolGate | None = None
        self.audit: Any = None
        register_tool_metrics(stats, _GateView(self), _AuditView(self))

    async def get(self) -> ToolGate:
        if self.gate is None:
            async with self._lock:
                if self.gate is None:
                    self.gate, self.audit = await self._build()
        return self.gate

    async def start(self) -> None:
        """Nothing to open before the first use (a lifecycle stage all the same)."""

    async def close(self) -> None:
        """Close the gate's held connection, if the gate was built."""
        if self.gate is not None:
            await self.gate.close()

    async def check_tool(self, **call: Any) -> Any:
        """The admission's protocol: the gate's verdict on one tool call."""
        return await (await self.get()).check_tool(**call)

    def routes(self, make: Callable[[ToolGate], list[web.RouteDef]]) -> list[web.RouteDef]:
        """The tool routes; ``make(gate)`` builds the real handlers at the first request."""
        handlers: dict[tuple[str, str], Handler] = {}
        lock = asyncio.Lock()

        async def load() -> None:
            gate = await self.get()
            async with lock:
                if not handlers:
                    for route in make(gate):
                        handlers[(route.method, route.path)] = route.handler

        def lazy(method: str, path: str) -> Handler:
            async def handle(request: web.Request) -> web.StreamResponse:
                if not handlers:
                    await load()
                return await handlers[(method, path)](request)

            return handle

        return [web.route(method, path, lazy(method, path)) for method, path in ROUTES]


async def import_on_thread(module: str) -> Any:
    """``module`` imported on a worker thread (the event loop keeps serving meanwhile)."""
    return await asyncio.to_thread(importlib.import_module, module)


class _GateView:
    def __init__(self, tools: LazyTools) -> None:
        self._tools = tools

    @property
    def decisions(self) -> dict[str, int]:
        gate = self._tools.gate
        return gate.decisions if gate is not None else {"allowed": 0}

    @property
    def approvals(self) -> Any:
        gate = self._tools.gate
        return gate.approvals if gate is not None else _NoApprovals()


class _NoApprovals:
    counts = dict.fromkeys(_APPROVAL_STEPS, 0)


class _AuditView:
    def __init__(self, tools: LazyTools) -> None:
        self._tools = tools

    @property
    def failures(self) -> int:
        audit = self._tools.audit
        return int(audit.failures) if audit is not None else 0
