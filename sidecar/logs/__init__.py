"""The sidecar's own log output: levels, the SQL echo switch, the redacting filter."""

from sidecar.logs.config import LoggingConfig
from sidecar.logs.setup import RedactingFilter, configure_logging

__all__ = ["LoggingConfig", "RedactingFilter", "configure_logging"]
