"""Database URLs: the one parser every part that opens the store uses (events, ledger, cache).

Accepted, and what each becomes:

- ``sqlite:///relative/or/./path.db``, ``sqlite:////absolute/path.db`` and the same with
  ``sqlite+aiosqlite``: a SQLite file (``sqlite://`` or ``sqlite:///:memory:``: in memory);
- ``postgresql://``, ``postgres://`` and ``postgresql+asyncpg://``: PostgreSQL through asyncpg,
  which the ``postgres`` extra installs (``pip install 'agent-sidecar[postgres]'``).

Anything else raises :class:`DatabaseUrlError` with a message that says what to write instead
(a bare file path, ``mysql://``, another PostgreSQL driver, a missing driver). Parsing imports
neither SQLAlchemy nor a driver, so configuration checks stay cheap.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Literal

Backend = Literal["sqlite", "postgresql"]

_SCHEME = re.compile(r"^(?P<dialect>[A-Za-z][A-Za-z0-9.-]*)(?:\+(?P<driver>[A-Za-z0-9_.-]+))?://")
_SQLITE_DRIVERS = (None, "aiosqlite", "pysqlite")
_POSTGRES_DIALECTS = ("postgresql", "postgres")


class DatabaseUrlError(ValueError):
    """A database URL the sidecar cannot open; the message says what to write instead."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL: the backend and the async SQLAlchemy URL that opens it."""

    backend: Backend
    url: str
    sqlite_path: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    def redacted(self) -> str:
        """The URL with its password (if any) replaced by ``***``."""
        return redact_password(self.url)


def redact_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` → ``postgresql://u:***@h/db``; other text unchanged.

    The password runs to the last ``@`` of the authority, so one holding an unencoded ``@``
    is hidden whole."""
    scheme, sep, rest = url.partition("://")
    if not sep or "/" in scheme or " " in scheme:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    userinfo, host = authority.rsplit("@", 1)
    if ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


def parse_database_url(raw: str, *, check_driver: bool = True) -> DatabaseUrl:
    """Parse ``raw``; raise :class:`DatabaseUrlError` naming the fix when it cannot be used."""
    text = raw.strip()
    match = _SCHEME.match(text)
    if match is None:
        if text.endswith((".db", ".sqlite", ".sqlite3")) or "/" in text or text.startswith("."):
            raise DatabaseUrlError(
                f"`{text}` is not a database URL: for a SQLite file write sqlite:///{text}"
            )
        raise DatabaseUrlError(
            f"`{redact_password(text)}` is not a database URL: use sqlite:///path/to/file.db "
            "or postgresql://user@host/database"
        )
    dialect = match["dialect"].lower()
    driver = match["driver"].lower() if match["driver"] else None
    rest = text[match.end() :]
    if dialect == "sqlite":
        if driver not in _SQLITE_DRIVERS:
            raise DatabaseUrlError(f"SQLite driver `{driver}` is not supported: use sqlite:///")
        tail = rest[1:] if rest.startswith("/") else rest
        path = tail.split("?", 1)[0]
        file = None if path in ("", ":memory:") else path
        return DatabaseUrl("sqlite", f"sqlite+aiosqlite:///{tail}", file)
    if dialect in _POSTGRES_DIALECTS:
        if driver not in (None, "asyncpg"):
            raise DatabaseUrlError(
                f"PostgreSQL driver `{driver}` is not supported: write postgresql://... "
                "(the sidecar uses asyncpg)"
            )
        if check_driver and not _installed("asyncpg"):
            raise DatabaseUrlError(
                "PostgreSQL needs the asyncpg driver, which is not installed: "
                "pip install 'agent-sidecar[postgres]'"
            )
        return DatabaseUrl("postgresql", f"postgresql+asyncpg://{rest}")
    raise DatabaseUrlError(
        f"unsupported database `{dialect}`: agent-sidecar stores in SQLite "
        "(sqlite:///path/to/file.db) or PostgreSQL (postgresql://user@host/database)"
    )


def asyncpg_dsn(url: str) -> str:
    """The DSN asyncpg takes for a PostgreSQL URL in any accepted spelling (``postgres://``,
    ``postgresql://``, ``postgresql+asyncpg://``): ``postgresql://…``."""
    parsed = parse_database_url(url, check_driver=False)
    if parsed.is_sqlite:
        raise DatabaseUrlError(f"`{redact_password(url)}` is not a PostgreSQL URL")
    return "postgresql://" + parsed.url.split("://", 1)[1]


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
