"""Configuration precedence, unknown keys, check-config, and the bind-safety refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from sidecar.config import ConfigError, load_settings
from tests.conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sidecar.yaml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    settings = load_settings(env={})
    assert (settings.host, settings.port) == ("127.0.0.1", 8787)
    assert settings.db_url == "sqlite+aiosqlite:///./data/sidecar.db"
    assert settings.api_token is None and settings.capture_content is False
    assert settings.max_body_bytes == 4 * 1024 * 1024


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, "port: 9001\nhost: 127.0.0.2\nstore:\n  pool_size: 2\n")
    env = {
        "SIDECAR_PORT": "9002",
        "SIDECAR_CAPTURE_CONTENT": "true",
        "SIDECAR_STORE__BATCH_MAX_EVENTS": "500",
        "SIDECAR_DB_URL": "sqlite:///x.db",
    }
    settings = load_settings(path, env=env, overrides={"port": 9003, "host": None})
    assert settings.port == 9003
    assert settings.host == "127.0.0.2"
    assert settings.capture_content is True
    assert settings.store.pool_size == 2 and settings.store.batch_max_events == 500
    assert settings.db_url == "sqlite:///x.db"
    assert load_settings(env={"SIDECAR_CONFIG": str(path)}).port == 9001


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("colour: blue\n", {}, "unknown configuration key `colour`"),
        ("store:\n  pool_sise: 3\n", {}, "unknown configuration key `store.pool_sise`"),
        ("", {"SIDECAR_STORE__NOPE": "1"}, "unknown configuration key `store.nope`"),
        ("port: eighty\n", {}, "`port`"),
        ("port: 70000\n", {}, "port must be within"),
        ("- a\n- b\n", {}, "mapping at the top level"),
        ("port: [\n", {}, "not valid YAML"),
    ],
)
def test_bad_configuration_names_the_key(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(write(tmp_path, text), env=env)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    return subprocess.run(
        [sys.executable, "-m", "sidecar", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**clean, **(env or {})},
        timeout=60,
    )


def test_check_config_prints_effective_config_with_secrets_masked(tmp_path: Path) -> None:
    path = write(tmp_path, "api_token: s3cret-token-value\nport: 9100\n")
    result = cli("check-config", str(path), env={"SIDECAR_HOST": "0.0.0.0"})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["api_token"] == "***" and shown["port"] == 9100 and shown["host"] == "0.0.0.0"
    assert "s3cret" not in result.stdout + result.stderr


def test_check_config_names_the_bad_key(tmp_path: Path) -> None:
    result = cli("check-config", str(write(tmp_path, "store:\n  batch: 3\n")))
    assert result.returncode == 2
    assert "unknown configuration key `store.batch`" in result.stderr


def test_serve_refuses_a_public_bind_without_a_token(tmp_path: Path) -> None:
    result = cli(
        "serve", "--host", "0.0.0.0", "--port", "0", "--db-url", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert result.returncode == 2
    assert "refusing to bind '0.0.0.0' without an API token" in result.stderr


async def test_token_protects_v1_and_metrics_but_not_probes(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    from tests.conftest import make_settings, start_sidecar

    running, runner = await start_sidecar(make_settings(tmp_path, api_token="t0ken-abcdef"))
    try:
        for path in ("/v1/events", "/v1/aggregate", "/metrics"):
            async with http.get(running.url + path) as response:
                assert response.status == 401, path
                assert (await response.json())["error"]["code"] == "unauthorized"
            async with http.get(
                running.url + path, headers={"Authorization": "Bearer wrong-token"}
            ) as response:
                assert response.status == 401, path
            async with http.get(
                running.url + path, headers={"Authorization": "Bearer t0ken-abcdef"}
            ) as response:
                assert response.status == 200, path
        for path in ("/health", "/ready"):
            async with http.get(running.url + path) as response:
                assert response.status == 200, path
    finally:
        await runner.cleanup()
