"""A first run's mistakes end in one line naming the problem and the fix, exit code 2.

Paths: the real CLI (`agent-sidecar serve` and `check-config` as subprocesses) for each
startup failure a new user meets: the port in use, PostgreSQL refusing connections, a database
that does not exist, an unresolvable host, `postgres://` (accepted as an alias), a bare file
path, `mysql://`, a PostgreSQL URL without the asyncpg driver installed, and the SDK's own
`SIDECAR_URL` in the environment. `--version` and `check-config` masking of URL passwords.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar import __version__
from sidecar.store.urls import DatabaseUrlError, parse_database_url, redact_password
from tests.conftest import REPO, _pg_reachable, require_service

CLI = [sys.executable, "-m", "sidecar"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    full_env.update(env or {})
    return subprocess.run(
        [*CLI, *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def sqlite_flag(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sidecar.db'}"


def test_port_in_use(tmp_path: Path, busy_port: int) -> None:
    result = run_cli("serve", "--port", str(busy_port), "--db-url", sqlite_flag(tmp_path))
    assert_one_line(result, f"127.0.0.1:{busy_port}", "already in use", "--port")


def test_postgres_refusing_connections(tmp_path: Path) -> None:
    url = f"postgresql://postgres:hunter22@127.0.0.1:{free_port()}/nothing"
    result = run_cli("serve", "--port", str(free_port()), "--db-url", url)
    assert_one_line(result, "connection refused", "is PostgreSQL running")
    assert "hunter22" not in result.stderr


def test_database_that_does_not_exist() -> None:
    require_service(_pg_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"sidecar_missing_{uuid.uuid4().hex[:8]}"
    result = run_cli(
        "serve",
        "--port",
        str(free_port()),
        "--db-url",
        f"postgresql://postgres@127.0.0.1:5432/{name}",
    )
    assert_one_line(result, f"`{name}` does not exist", f"createdb {name}")


def test_unresolvable_host() -> None:
    result = run_cli(
        "serve",
        "--port",
        str(free_port()),
        "--db-url",
        "postgresql://postgres@no-such-host.invalid/db",
    )
    assert_one_line(result, "cannot resolve the database host")


@pytest.mark.parametrize(
    ("url", "needles"),
    [
        ("./data/my.db", ("not a database URL", "sqlite:///./data/my.db")),
        ("/var/lib/sidecar.db", ("not a database URL", "sqlite:////var/lib/sidecar.db")),
        ("mysql://u@h/db", ("unsupported database `mysql`", "postgresql://")),
        ("postgresql+psycopg2://u@h/db", ("driver `psycopg2`", "postgresql://")),
    ],
)
def test_urls_the_sidecar_cannot_use(url: str, needles: tuple[str, ...]) -> None:
    for command in (["serve"], ["check-config"]):
        result = (
            run_cli(*command, "--db-url", url)
            if command == ["serve"]
            else run_cli(*command, env={"SIDECAR_DB_URL": url})
        )
        assert_one_line(result, "db_url", *needles)


def test_missing_asyncpg_names_the_extra(tmp_path: Path) -> None:
    """A plain `pip install .` has no asyncpg: the line says which extra to install."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    # A sitecustomize that hides asyncpg, as if it were not installed.
    (shadow / "sitecustomize.py").write_text(
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'asyncpg' or name.startswith('asyncpg.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    result = run_cli(
        "serve", "--db-url", "postgresql://u@127.0.0.1/db", env={"PYTHONPATH": str(shadow)}
    )
    assert_one_line(result, "asyncpg", "pip install 'agent-sidecar[postgres]'")


def test_postgres_scheme_is_an_alias(tmp_path: Path) -> None:
    assert parse_database_url("postgres://u@h/db").url == "postgresql+asyncpg://u@h/db"
    assert parse_database_url("postgresql://u@h/db").url == "postgresql+asyncpg://u@h/db"
    assert parse_database_url("sqlite:///./a.db").sqlite_path == "./a.db"
    assert parse_database_url("sqlite:////abs/a.db").sqlite_path == "/abs/a.db"
    assert parse_database_url("sqlite://").sqlite_path is None
    with pytest.raises(DatabaseUrlError):
        parse_database_url("oracle://x")


def test_postgres_alias_serves(pg_url: str) -> None:
    """`postgres://` starts a real server (the alias used to fail with NoSuchModuleError)."""
    port = free_port()
    url = pg_url.replace("postgresql+asyncpg://", "postgres://")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--db-url", url],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "sidecar did not become ready"
                time.sleep(0.1)  # polling a condition with a deadline
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_sdk_url_variable_does_not_stop_the_sidecar(tmp_path: Path) -> None:
    """`SIDECAR_URL` is the SDK's and `SIDECAR_TEST_*` the test harness's: neither is a
    configuration key; an unknown SIDECAR_ variable is named as a variable."""
    ok = run_cli("check-config", env={"SIDECAR_URL": "http://127.0.0.1:8787"})
    assert ok.returncode == 0, ok.stderr
    harness = run_cli("check-config", env={"SIDECAR_TEST_PG": "postgresql://postgres@h/t",
                                            "SIDECAR_TEST_ANYTHING": "x"})  # fmt: skip
    assert harness.returncode == 0, harness.stderr
    assert "SIDECAR_TEST" not in harness.stdout and "test_pg" not in harness.stdout
    bad = run_cli("check-config", env={"SIDECAR_COLOUR": "blue"})
    assert_one_line(
        bad, "unknown configuration key `colour`", "from environment variable SIDECAR_COLOUR"
    )


def test_check_config_masks_passwords_in_urls() -> None:
    result = run_cli(
        "check-config",
        env={
            "SIDECAR_DB_URL": "postgresql://alice:s3cret-pw@db.internal/agents",
            "SIDECAR_API_TOKEN": "a-token-of-some-length",
        },
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert "s3cret-pw" not in result.stdout and "a-token-of-some-length" not in result.stdout
    assert shown["db_url"] == "postgresql://alice:***@db.internal/agents"
    assert redact_password("https://u:p@h/x") == "https://u:***@h/x"
    assert redact_password("no secret here") == "no secret here"
    assert redact_password("postgresql://app:p@ss@db/x") == "postgresql://app:***@db/x"


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"agent-sidecar {__version__}"
