"""Configuration: a YAML file, overridden by environment variables, overridden by flags.

Precedence (last wins): defaults < YAML file (``--config`` / ``SIDECAR_CONFIG``) < environment
(``SIDECAR_HOST``, ``SIDECAR_PORT``, ``SIDECAR_DB_URL``, ``SIDECAR_API_TOKEN``,
``SIDECAR_CAPTURE_CONTENT``, and ``SIDECAR_<SECTION>__<KEY>`` for any nested key) < flags.
Unknown keys are errors that name the key (and, for the environment, the variable it came
from), never silently ignored. Variables that belong to the agent-side SDK (``SIDECAR_URL``) or
to the test harness (``SIDECAR_TEST_*``) are not configuration keys and are skipped, so one
environment can serve both the sidecar and an agent container.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from sidecar.analytics.config import AnalyticsConfig, FleetConfig
from sidecar.api.config import AuthConfig, ProtectionConfig
from sidecar.budgets.config import BudgetsConfig
from sidecar.cache.config import CacheConfig
from sidecar.events.field_errors import locate
from sidecar.guard.config import GuardConfig
from sidecar.limits.config import LimitsConfig
from sidecar.logs.config import LoggingConfig
from sidecar.pricing.config import PricingConfig
from sidecar.redact.config import RedactConfig
from sidecar.store.config import StoreConfig
from sidecar.store.urls import DatabaseUrlError, parse_database_url, redact_password
from sidecar.telemetry.config import MetricsConfig, OtlpMetricsConfig, TracesConfig
from sidecar.tools.config import ToolsConfig

ENV_PREFIX = "SIDECAR_"
SECRET_KEYS = frozenset({"api_token", "hash_key", "password", "headers", "sha256"})
# SIDECAR_* variables read by the runtime SDK or the tests, not by the sidecar.
NOT_CONFIG_ENV = frozenset({"SIDECAR_URL"})
NOT_CONFIG_ENV_PREFIXES = ("SIDECAR_TEST_",)


class ConfigError(ValueError):
    """The configuration is invalid; the message names the offending key."""


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = msgspec.field(default=8787)
    db_url: str = "sqlite+aiosqlite:///./data/sidecar.db"
    api_token: str | None = None
    capture_content: bool = False
    max_body_bytes: int = 4 * 1024 * 1024
    metrics_public: bool = False
    shutdown_timeout_s: float = 8.0
    log_level: str = "INFO"
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    protection: ProtectionConfig = msgspec.field(default_factory=ProtectionConfig)
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    analytics: AnalyticsConfig = msgspec.field(default_factory=AnalyticsConfig)
    fleet: FleetConfig = msgspec.field(default_factory=FleetConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    traces: TracesConfig = msgspec.field(default_factory=TracesConfig)
    otlp_metrics: OtlpMetricsConfig = msgspec.field(default_factory=OtlpMetricsConfig)
    pricing: PricingConfig = msgspec.field(default_factory=PricingConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    budgets: BudgetsConfig = msgspec.field(default_factory=BudgetsConfig)
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    redact: RedactConfig = msgspec.field(default_factory=RedactConfig)
    guard: GuardConfig = msgspec.field(default_factory=GuardConfig)
    tools: ToolsConfig = msgspec.field(default_factory=ToolsConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be within 0..65535")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        if self.api_token is not None and len(self.api_token) < 8:
            raise ValueError("api_token must be at least 8 characters")
        try:
            parse_database_url(self.db_url)
        except DatabaseUrlError as exc:
            raise ValueError(f"db_url: {exc}") from None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings, or raise :class:`ConfigError` naming the bad key."""
    env = os.environ if env is None else env
    path = path or env.get(ENV_PREFIX + "CONFIG") or None
    data: dict[str, Any] = _read_yaml(Path(path)) if path else {}
    from_env, origins = _from_env(env)
    _merge(data, from_env)
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    _merge(data, flags)
    for key in flags:
        origins.pop(key, None)
    try:
        return msgspec.convert(data, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe(exc, origins)) from None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind_safety(settings: Settings) -> None:
    """Refuse to expose an unauthenticated sidecar beyond the machine."""
    if not is_loopback(settings.host) and not settings.api_token and not settings.auth.tokens:
        raise ConfigError(
            f"refusing to bind {settings.host!r} without an API token: set SIDECAR_API_TOKEN "
            "(or api_token in the config file), or bind 127.0.0.1"
        )


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret replaced by ``***``: the secret keys, and
    the password of any URL (``postgresql://app:***@db/agents``)."""
    plain: dict[str, Any] = _mask(msgspec.to_builtins(settings))
    return plain


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if k in SECRET_KEYS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_password(value)
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


_ENV_ALIASES = {"DB_URL": "db_url"}


def _from_env(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``SIDECAR_PORT=9000`` → ``{"port": "9000"}``; ``SIDECAR_STORE__POOL_SIZE`` → nested.

    Also returns, for each dotted key read, the variable it came from (for error messages)."""
    out: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        if name in NOT_CONFIG_ENV or name.startswith(NOT_CONFIG_ENV_PREFIXES):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = _env_value(value)
        origins[".".join(parts)] = name
    return out, origins


def _env_value(value: str) -> Any:
    """Environment values are strings; YAML scalars give ``true``, ``3``, ``[a, b]`` their type."""
    try:
        return yaml.safe_load(value) if value.strip() else value
    except yaml.YAMLError:
        return value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value


def _describe(exc: msgspec.ValidationError, origins: Mapping[str, str]) -> str:
    located = locate(exc)
    message, key = located.message, located.field or ""
    if message.startswith("Object contains unknown field"):
        return f"unknown configuration key `{key}`{_origin(key, origins)}"
    if not key and message.startswith("db_url: "):
        key, message = "db_url", message[len("db_url: ") :]
    return f"invalid value for `{key}`{_origin(key, origins)}: {message}" if key else message


def _origin(key: str, origins: Mapping[str, str]) -> str:
    """`` (from environment variable SIDECAR_X)`` when ``key`` (or a parent) came from one."""
    parts = re.sub(r"\[\d+\]", "", key).split(".")
    for end in range(len(parts), 0, -1):
        name = origins.get(".".join(parts[:end]))
        if name:
            return f" (from environment variable {name})"
    return ""
