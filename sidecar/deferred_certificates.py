"""Import aiohttp without loading the system's CA bundle on the start's critical path.

At import, aiohttp builds two default client TLS contexts and each loads the system's CA
bundle: 60-85 ms of a 0.8 s start on a 2-core machine, for client contexts that a sidecar
serving requests does not use. :func:`import_aiohttp` imports it with that loading held back;
:func:`load_deferred_certificates` loads the bundle into those very contexts (the serve path
runs it on a thread once the listener is up), after which they are exactly what aiohttp built.
Until then a verified TLS connection through aiohttp's default context fails verification: it
fails closed, never open.
"""

from __future__ import annotations

import ssl
import sys
import threading

_pending: list[ssl.SSLContext] = []
_lock = threading.Lock()
loaded = threading.Event()
"""Set once no context waits for its certificates."""
loaded.set()


def import_aiohttp() -> None:
    """Import ``aiohttp.web``, deferring the CA loads of the contexts built at its import (a
    no-op when aiohttp is already imported)."""
    if "aiohttp" in sys.modules:
        return
    real = ssl.SSLContext.set_default_verify_paths

    def defer(self: ssl.SSLContext) -> None:
        with _lock:
            _pending.append(self)
            loaded.clear()

    ssl.SSLContext.set_default_verify_paths = defer  # type: ignore[method-assign]
    try:
        import aiohttp.web  # noqa: F401
    finally:
        ssl.SSLContext.set_default_verify_paths = real  # type: ignore[method-assign]


def load_deferred_certificates() -> int:
    """Load the default verify paths into every deferred context; returns how many."""
    with _lock:
        contexts, _pending[:] = list(_pending), []
        for context in contexts:
            context.set_default_verify_paths()
        loaded.set()
    return len(contexts)


def load_in_background() -> None:
    """:func:`load_deferred_certificates` on a daemon thread (nothing to do: no thread)."""
    if not loaded.is_set():
        threading.Thread(
            target=load_deferred_certificates, name="sidecar-certificates", daemon=True
        ).start()


__all__ = ["import_aiohttp", "load_deferred_certificates", "load_in_background", "loaded"]
