"""Configure the process's logging: level, the SQL echo switch and the redacting filter.

Guarantees:

- SQL is never logged unless ``logging.sql_echo`` is on: the loggers that print statements
  and their parameters (``sqlalchemy.engine``, ``aiosqlite``, ``asyncpg``) stay at WARNING at
  every ``log_level``, DEBUG included.
- Every record any logger emits passes :class:`RedactingFilter` on its way to a handler: its
  formatted message, its exception text and its stack text go through the redactor (the same
  recognisers and mask as the events), so a value the redactor recognises never reaches the log
  even when a line was written carelessly. Control characters other than newline and tab are
  written as ``\\xNN`` escapes (no terminal escapes, no forged line endings).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from sidecar.logs.config import LoggingConfig

SQL_LOGGERS = ("sqlalchemy.engine", "aiosqlite", "asyncpg")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Mask = Callable[[str], str]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message (with its arguments merged), exception and stack
    text masked by ``mask``. Never drops a record; a mask that fails leaves a placeholder."""

    def __init__(self, mask: Mask) -> None:
        super().__init__()
        self.mask = mask
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_sidecar_redacted", False):
            return True  # a record reaching several handlers is masked once
        try:
            record.msg = _escape(self.mask(record.getMessage()))
        except Exception:  # never lose the line, never print what could not be masked
            record.msg = "<log message withheld: it could not be redacted>"
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._safe(record.exc_text)
        if record.stack_info:
            record.stack_info = self._safe(record.stack_info)
        setattr(record, "_sidecar_redacted", True)  # noqa: B010
        return True

    def _safe(self, text: str) -> str:
        try:
            return _escape(self.mask(text))
        except Exception:
            return "<traceback withheld: it could not be redacted>"


def quiet_sql(config: LoggingConfig) -> None:
    """The SQL loggers at WARNING, or at INFO (statements and parameters) under ``sql_echo``."""
    level = logging.INFO if config.sql_echo else logging.WARNING
    for name in SQL_LOGGERS:
        logging.getLogger(name).setLevel(level)


def configure_logging(level: str, config: LoggingConfig, mask: Mask | None) -> None:
    """Root handler at ``level``, SQL loggers per :func:`quiet_sql`, ``mask`` on every handler
    of the root logger (None: no redaction configured)."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    quiet_sql(config)
    if mask is None:
        return
    redacting = RedactingFilter(mask)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
