"""Running the app: bind, serve, and shut down gracefully on SIGTERM / SIGINT.

On a signal the listener closes first (no new connections), in-flight requests are answered
(for up to ``shutdown_timeout_s``, default 8 s), then the parts close in reverse start order,
each within its deadline and all within 1.5 s more (:mod:`sidecar.lifecycle`): the loops, the
writer (it commits what it holds), the budget journal and the cache are flushed before the span
and metric exporters, which get 1 s, so a collector that accepts connections and never answers
cannot hold the exit. Acknowledged events are never lost and the process exits 0 within 10 s.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from typing import Any

from aiohttp import web

from sidecar.api.log_lines import access_logger
from sidecar.app import COMPONENTS, create_app
from sidecar.config import Settings, check_bind_safety, is_loopback
from sidecar.offload import freeze_startup_objects
from sidecar.startup import StartupError, explain_bind, explain_store
from sidecar.store.urls import redact_password

log = logging.getLogger("sidecar")

# A worker thread decoding or redacting a large body hands the interpreter lock back to the
# event loop after at most this long (CPython's default is 5 ms): each turn of the loop that
# waits on a socket or a thread pays it once, so it bounds what large bodies add to others.
SWITCH_INTERVAL_S = 0.001
SHUTDOWN_MARGIN_S = 1.5


async def start_runner(
    app: web.Application,
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    sock: socket.socket | None = None,
) -> web.AppRunner:
    """Start ``app`` with the connection limits; returns the runner to clean up.

    Slow clients: aiohttp's keep-alive timer also runs while a request's headers are still
    arriving, so a client dribbling headers (slowloris) is cut off after
    ``protection.keepalive_timeout_s`` (15 s by default; tests/hardening/test_slow_clients.py).
    """
    protection = settings.protection
    access: dict[str, Any] = {"access_log": None}
    if settings.logging.access_log:  # paths and queries pseudonymised (sidecar.api.log_lines)
        access = {
            "access_log": logging.getLogger("sidecar.access"),
            "access_log_class": access_logger(app[COMPONENTS].redactor.pseudonym),
        }
    runner = web.AppRunner(
        app,
        **access,
        shutdown_timeout=settings.shutdown_timeout_s,
        keepalive_timeout=protection.keepalive_timeout_s,
        max_line_size=protection.max_header_bytes,
        max_field_size=protection.max_header_bytes,
    )
    bind_host, bind_port = host or settings.host, settings.port if port is None else port
    try:
        await runner.setup()
    except Exception as exc:
        raise _explained(exc, explain_store(exc, settings)) from exc
    site: web.BaseSite
    if sock is not None:
        site = web.SockSite(runner, sock)
    else:
        site = web.TCPSite(runner, bind_host, bind_port)
    try:
        await site.start()
    except Exception as exc:
        await runner.cleanup()
        raise _explained(exc, explain_bind(exc, bind_host, bind_port)) from exc
    return runner


def _explained(exc: Exception, line: str | None) -> Exception:
    """A :class:`StartupError` with ``line`` when the failure is a known setup mistake."""
    return exc if line is None else StartupError(line)


def serve(settings: Settings, *, sock: socket.socket | None = None) -> None:
    """Serve until SIGTERM / SIGINT. Raises ConfigError for an unsafe bind and
    :class:`~sidecar.startup.StartupError` for a port in use or a database it cannot open."""
    check_bind_safety(settings)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    asyncio.run(_serve(settings, sock))
    log.info("agent-sidecar stopped")


async def _serve(settings: Settings, sock: socket.socket | None) -> None:
    app = create_app(settings)
    if not is_loopback(settings.host):
        log.warning("listening on a non-loopback address %s (token required)", settings.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = await start_runner(app, settings, sock=sock)
    freeze_startup_objects()  # models, tables, patterns: out of the collector's scans
    # A loopback bind is shown as localhost: the log redactor masks IP addresses, and a
    # newcomer should be able to open the URL the line gives.
    shown = "localhost" if is_loopback(settings.host) else settings.host
    log.info(
        "agent-sidecar listening on http://%s:%s (store: %s)",
        shown,
        settings.port,
        redact_password(settings.db_url),
    )
    try:
        await stop.wait()
    finally:
        # In-flight requests get up to shutdown_timeout_s; every stage after them ends by
        # SHUTDOWN_MARGIN_S later (the writer, the journal and the cache before the exporters).
        deadline = time.monotonic() + settings.shutdown_timeout_s + SHUTDOWN_MARGIN_S
        app[COMPONENTS].stages.close_by(deadline)
        await runner.cleanup()
