"""A synchronous facade: the async client on a private event loop in a daemon thread."""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from runtime._calls import Grant
from runtime._client import SidecarClient
from runtime._contexts import RunContext
from runtime._errors import SidecarConfigurationError
from runtime._transport import ClientStats

T = TypeVar("T")
log = logging.getLogger("runtime.sidecar")


class SyncSidecarClient:
    """Same surface as :class:`SidecarClient` for code without an event loop.

    Events are flushed on :meth:`close`, on ``with`` exit and at interpreter exit.
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
        """The options of :class:`SidecarClient`, with the same defaults."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sidecar-client", daemon=True
        )
        self._thread.start()
        self._client = SidecarClient(
            base_url,
            token=token,
            agent=agent,
            tenant=tenant,
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            max_queue=max_queue,
            max_retries=max_retries,
            timeout_s=timeout_s,
            fail_open=fail_open,
        )
        self._call(self._client.start())
        self._closed = False
        atexit.register(self._close_at_exit)

    @property
    def stats(self) -> ClientStats:
        return self._client.stats

    @property
    def configuration_error(self) -> SidecarConfigurationError | None:
        """A 401, 403 or 404 the sidecar gave this client (raised by run, flush and close)."""
        return self._client.configuration_error

    @property
    def base_url(self) -> str:
        return self._client.base_url

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def emit(self, event: dict[str, Any]) -> None:
        self._client.emit(event)

    def run(self, **kwargs: Any) -> RunContext:
        return self._client.run(**kwargs)

    def admit_llm(self, run: RunContext, model: str, **fields: Any) -> Grant:
        """Blocking :meth:`RunContext.admit_llm`."""
        return self._call(run.admit_llm(model, **fields))

    def admit_tool(self, run: RunContext, tool: str, *, args: Any = None, **options: Any) -> Grant:
        """Blocking :meth:`RunContext.admit_tool` (``wait_for_approval``, ``timeout`` and
        ``approval_id`` too)."""
        wait = float(options.get("timeout", 60.0)) + 10 if options.get("wait_for_approval") else 30
        return self._call(run.admit_tool(tool, args=args, **options), timeout=wait)

    def cached(self, namespace: str, key: Any, compute: Any, **options: Any) -> Any:
        """Blocking :meth:`SidecarClient.cached` (``compute`` runs on the client's thread)."""
        return self._call(self._client.cached(namespace, key, compute, **options))

    def flush(self) -> None:
        self._call(self._client.flush())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            atexit.unregister(self._close_at_exit)

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except SidecarConfigurationError as exc:  # already logged when the sidecar refused
            log.error("%s", exc)

    def __enter__(self) -> SyncSidecarClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
