"""The async client an agent holds: event batching, timing contexts, and (later) admission."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

import aiohttp

from runtime._calls import Grant, SidecarCalls
from runtime._contexts import RunContext
from runtime._errors import SidecarConfigurationError
from runtime._transport import ClientStats, EventTransport

DEFAULT_URL = "http://127.0.0.1:8787"

AdmitKind = Literal["llm", "tool"]


class SidecarClient:
    """Async client. Use ``async with SidecarClient() as client:`` so events are flushed on exit.

    It never raises into the agent because of the sidecar: an unreachable sidecar costs a
    dropped event (counted in :attr:`stats`), not an exception. ``fail_open`` decides what
    admission answers when the sidecar cannot be asked.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        agent: str | None = None,
        tenant: str | None = None,
        batch_size: int = 200,
        flush_interval_s: float = 0.2,
        max_queue: int = 10_000,
        max_retries: int = 3,
        timeout_s: float = 2.0,
        fail_open: bool = True,
    ) -> None:
        self.base_url = (base_url or os.environ.get("SIDECAR_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("SIDECAR_API_TOKEN")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.agent = agent
        self.tenant = tenant
        self.fail_open = fail_open
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.stats = ClientStats()
        self._transport = EventTransport(
            self._get_session,
            self.base_url + "/v1/events",
            self._headers,
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            max_queue=max_queue,
            max_retries=max_retries,
            stats=self.stats,
            on_configuration_error=self._record_configuration_error,
        )
        self._calls = SidecarCalls(
            self._get_session,
            self.base_url,
            self._headers,
            fail_open=fail_open,
            stats=self.stats,
            on_configuration_error=self._record_configuration_error,
        )
        self.configuration_error: SidecarConfigurationError | None = None
        self._started = False

    def _record_configuration_error(self, error: SidecarConfigurationError) -> None:
        self.configuration_error = error

    def raise_configuration_error(self) -> None:
        """Raise the :class:`SidecarConfigurationError` the sidecar gave (401, 403 or 404 to
        any request of this client), if any."""
        if self.configuration_error is not None:
            raise self.configuration_error

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def start(self) -> SidecarClient:
        if not self._started:
            self._transport.start()
            self._started = True
        return self

    async def close(self) -> None:
        """Flush queued events (bounded by the retry policy) and release the connection; then
        raise :class:`SidecarConfigurationError` if the sidecar refused this client (401, 403
        or 404)."""
        await self._release()
        self.raise_configuration_error()

    async def _release(self) -> None:
        if self._started:
            await self._transport.close()
            self._started = False
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def flush(self) -> None:
        """Send what is queued; raises :class:`SidecarConfigurationError` on 401, 403 or 404."""
        await self._transport.flush()
        self.raise_configuration_error()

    async def __aenter__(self) -> SidecarClient:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.close()
        else:  # the agent's own exception goes first
            await self._release()

    def emit(self, event: dict[str, Any]) -> None:
        """Queue one raw event (contract v1 fields). Thread-safe, never blocks, never raises."""
        self._transport.emit(event)

    def run(
        self,
        *,
        agent: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant: str | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> RunContext:
        """A context for one agent request; its steps share its request id and trace. Raises
        :class:`SidecarConfigurationError` once the sidecar refused this client (401, 403 or
        404 to an earlier request), so a wrong token or URL never looks like an outage."""
        self.raise_configuration_error()
        return RunContext(
            self.emit,
            agent=agent or self.agent,
            user_id=user_id,
            session_id=session_id,
            tenant=tenant or self.tenant,
            request_id=request_id,
            trace_id=trace_id,
            attributes=attributes,
            admit=self._calls.admit,
            wait_approval=self._calls.wait_approval,
        )

    async def admit(
        self,
        *,
        request_id: str,
        kind: AdmitKind = "llm",
        user_id: str | None = None,
        tenant: str | None = None,
        **fields: Any,
    ) -> Grant:
        """``POST /v1/admit`` outside a run context (see :meth:`RunContext.admit_llm`)."""
        return await self._calls.admit(
            {
                "request_id": request_id,
                "kind": kind,
                "user_id": user_id,
                "tenant": tenant or self.tenant,
                **fields,
            }
        )

    async def settle(
        self,
        reservation_id: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None = None,
    ) -> bool:
        """Settle a reservation directly (the llm_call event does it too; twice counts once)."""
        body = {
            "reservation_id": reservation_id,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": cost_usd,
        }
        answer = await self._calls.post(
            "/v1/budgets/settle", {k: v for k, v in body.items() if v is not None}
        )
        return bool(answer and answer[0] == 200 and answer[1].get("settled"))

    async def cached(
        self,
        namespace: str,
        key: Any,
        compute: Callable[[], Any],
        *,
        user_id: str | None = None,
        tenant: str | None = None,
        model: str | None = None,
        ttl_s: float | None = None,
        cost_usd: float | None = None,
        tokens: int | None = None,
    ) -> Any:
        """The cached answer for ``key`` (exact or a guarded fuzzy match), else ``compute()``
        (sync or async), stored for the next asker in the same scope."""
        scope = {
            "namespace": namespace,
            "user_id": user_id,
            "tenant": tenant or self.tenant,
            "model": model,
        }
        return await self._calls.cached(
            {k: v for k, v in scope.items() if v is not None},
            key,
            compute,
            ttl_s=ttl_s,
            cost_usd=cost_usd,
            tokens=tokens,
        )

    async def cache_lookup(self, namespace: str, key: Any, **scope: Any) -> dict[str, Any]:
        """The raw lookup answer: ``{"hit", "value"?, "match"?, "score"?, "result"}``."""
        body = {"namespace": namespace, "key": key, "tenant": self.tenant, **scope}
        return await self._calls.cache_lookup({k: v for k, v in body.items() if v is not None})
