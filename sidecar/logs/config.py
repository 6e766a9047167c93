"""Configuration of the ``logging`` section.

- ``sql_echo``: log every SQL statement with its parameters (SQLAlchemy's echo, the database
  drivers' debug output). Off whatever ``log_level`` is, DEBUG included: statements carry
  stored values. Even when on, each line passes the redacting filter.
- ``access_log``: one line per request, ``METHOD /path STATUS duration``, with the path's
  variable parts and every query value pseudonymised (``PUT /v1/budgets/tenant/[ID:4be1...]``).

Example (also ``SIDECAR_LOGGING__SQL_ECHO=true``)::

    log_level: DEBUG
    logging:
      sql_echo: false
      access_log: true
"""

from __future__ import annotations

import msgspec


class LoggingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """``logging.<key>``; the level itself stays the top-level ``log_level``."""

    sql_echo: bool = False
    access_log: bool = False
