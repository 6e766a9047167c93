"""Startup failures as one line that names the problem and the fix (the CLI exits 2).

``explain(exc, settings)`` walks the exception chain (SQLAlchemy wraps driver errors) and
recognises what a first run meets: the port in use, PostgreSQL refusing connections or asking
for a password, a database that does not exist, a host that does not resolve, a SQLite file in
a directory that cannot be written. Anything else returns None and keeps its traceback, since
then it is a bug to report, not a setup step to fix.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

from sidecar.config import Settings
from sidecar.store.urls import parse_database_url, redact_password


class StartupError(RuntimeError):
    """The sidecar cannot start; the message is the one line to print."""


def explain_bind(exc: BaseException, host: str, port: int) -> str | None:
    """The line for a failure to listen on ``host:port``."""
    for error in _chain(exc):
        if not isinstance(error, OSError):
            continue
        if error.errno == errno.EADDRINUSE:
            return (
                f"cannot listen on {host}:{port}: the address is already in use (another "
                "agent-sidecar?); stop that process or choose a free port with --port or "
                "SIDECAR_PORT"
            )
        if error.errno == errno.EADDRNOTAVAIL:
            return (
                f"cannot listen on {host}:{port}: no interface of this machine has that "
                "address; use --host 127.0.0.1 (or SIDECAR_HOST)"
            )
        if error.errno == errno.EACCES:
            return (
                f"cannot listen on {host}:{port}: permission denied (ports below 1024 need "
                "privileges); choose a port above 1024 with --port"
            )
    return None


def explain_store(exc: BaseException, settings: Settings) -> str | None:
    """The line for a failure to open the configured database."""
    parsed = parse_database_url(settings.db_url, check_driver=False)
    where = redact_password(settings.db_url)
    for error in _chain(exc):
        name = type(error).__name__
        if name == "InvalidCatalogNameError":
            database = where.rsplit("/", 1)[-1].split("?", 1)[0]
            return (
                f"the database `{database}` does not exist on the PostgreSQL server of "
                f"{where}: create it (createdb {database}) or fix db_url / SIDECAR_DB_URL"
            )
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return (
                f"PostgreSQL refused the login for {where}: check the user and password in "
                "db_url / SIDECAR_DB_URL"
            )
        if isinstance(error, socket.gaierror):
            return (
                f"cannot resolve the database host of {where}: check the host name in db_url "
                "/ SIDECAR_DB_URL"
            )
        if isinstance(error, ConnectionRefusedError) or (
            isinstance(error, OSError) and error.errno == errno.ECONNREFUSED
        ):
            return (
                f"cannot connect to the database at {where}: connection refused; is "
                "PostgreSQL running and listening there? (fix db_url / SIDECAR_DB_URL)"
            )
        if isinstance(error, TimeoutError):
            return f"the database at {where} did not answer in time: is it reachable?"
        if parsed.is_sqlite and "unable to open database file" in str(error):
            return (
                f"cannot open the SQLite file {parsed.sqlite_path}: its directory must exist "
                "and be writable (fix db_url / SIDECAR_DB_URL)"
            )
        if parsed.is_sqlite and isinstance(error, PermissionError):
            return f"cannot write the SQLite file {parsed.sqlite_path}: permission denied"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and SQLAlchemy's ``orig`` driver errors."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        todo.extend([error.__cause__, error.__context__])
        orig = getattr(error, "orig", None)
        if isinstance(orig, BaseException):
            todo.append(orig)
        if isinstance(error, BaseExceptionGroup):
            todo.extend(error.exceptions)
