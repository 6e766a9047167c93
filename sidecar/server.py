"""Running the app: bind, serve, and shut down gracefully on SIGTERM / SIGINT.

On a signal the listener closes first (no new connections), in-flight requests are answered,
then the writer commits what it holds and the store closes: acknowledged events are never lost
and the process exits 0 well within 10 s (``shutdown_timeout_s``, default 8 s).
"""

from __future__ import annotations

import logging
import socket

from aiohttp import web

from sidecar.app import create_app
from sidecar.config import Settings, check_bind_safety, is_loopback

log = logging.getLogger("sidecar")


def serve(settings: Settings, *, sock: socket.socket | None = None) -> None:
    """Serve until SIGTERM / SIGINT. Raises ConfigError for an unsafe bind."""
    check_bind_safety(settings)
    app = create_app(settings)
    where = f"http://{settings.host}:{settings.port}"
    if not is_loopback(settings.host):
        log.warning("listening on a non-loopback address %s (token required)", settings.host)
    store = _safe_url(settings.db_url)

    def announce(_message: str) -> None:  # called by aiohttp once the socket is bound
        log.info("agent-sidecar listening on %s (store: %s)", where, store)

    web.run_app(
        app,
        host=None if sock else settings.host,
        port=None if sock else settings.port,
        sock=sock,
        shutdown_timeout=settings.shutdown_timeout_s,
        keepalive_timeout=settings.protection.keepalive_timeout_s,
        max_line_size=settings.protection.max_header_bytes,
        max_field_size=settings.protection.max_header_bytes,
        access_log=None,
        print=announce,
        handle_signals=True,
    )
    log.info("agent-sidecar stopped")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
