"""The default start loads only what the default configuration uses.

Paths: ``agent-sidecar serve`` (the CLI entry, one real process) on the default configuration:
at ``/ready`` no SQLAlchemy, database driver, OTLP exporter, semantic-cache model or query
module is imported, and aiohttp's client TLS contexts hold the system's CA bundle; ingest
(``POST /v1/events``) works without them; the first read (``GET /v1/events``,
``GET /v1/runs``) loads SQLAlchemy then and answers with the stored events. The stdlib SQLite
start creates the same schema as SQLAlchemy's ``create_all`` and reads the same stored secret,
on one file, in both orders.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from sidecar.store import sqlite_start
from sidecar.store.config import StoreConfig

from ..conftest import REPO, free_port, tool_event

# Modules the default configuration never needs before its first read query.
NOT_AT_START = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "greenlet",
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "grpc",
    "torch",
    "numpy",
    "onnxruntime",
    "tokenizers",
    "sidecar.store.queries",
    "sidecar.store.runs",
    "sidecar.store.series",
    "sidecar.store.archive",
    "sidecar.telemetry.otlp_export",
    "sidecar.telemetry.otlp_metrics",
    "sidecar.api.openapi",
    "sidecar.api.otlp_receiver",
    "google.protobuf",
    "opentelemetry.proto",
)

# The child runs the real CLI (`agent-sidecar serve`) and, from a thread, reports its modules
# once /ready answers 200, then again after an ingest and after the first read query.
CHILD = textwrap.dedent(
    """
    import json, sys, threading, urllib.request, os, signal, time
    from sidecar import cli

    port, out = sys.argv[1], sys.argv[2]
    base = f"http://127.0.0.1:{port}"

    def get(path, data=None):
        request = urllib.request.Request(base + path, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    def report():
        try:
            measure()
        except BaseException as exc:
            with open(out, "w") as handle:
                json.dump({"error": repr(exc)}, handle)
        os.kill(os.getpid(), signal.SIGTERM)

    def measure():
        while True:
            try:
                if get("/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.02)
        snapshots = {"ready": sorted(sys.modules)}
        import ssl, aiohttp.connector
        snapshots["certificates"] = [
            aiohttp.connector._SSL_CONTEXT_VERIFIED.cert_store_stats(),
            aiohttp.connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats(),
            ssl.create_default_context().cert_store_stats(),
        ]
        snapshots["ingest"] = get("/v1/events", sys.argv[3].encode())
        snapshots["after_ingest"] = sorted(sys.modules)
        snapshots["read"] = get("/v1/events?limit=5")
        snapshots["runs"] = get("/v1/runs")[0]
        snapshots["after_read"] = sorted(sys.modules)
        with open(out, "w") as handle:
            json.dump(snapshots, handle)

    threading.Thread(target=report, daemon=True).start()
    sys.exit(cli.main(["serve", "--port", port]))
    """
)


def _loaded(modules: list[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


def test_default_serve_imports_only_what_it_uses(tmp_path: Path) -> None:
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    env["SIDECAR_DB_URL"] = f"sqlite:///{tmp_path / 'sidecar.db'}"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(free_port()), str(out), json.dumps(tool_event(id="e-1"))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(out.read_text())
    assert "error" not in seen, seen
    at_start = [name for name in NOT_AT_START if _loaded(seen["ready"], name)]
    assert at_start == [], f"the default start imported {at_start}"
    # aiohttp's client contexts hold the same CA bundle as a default context
    verified, unverified, default = seen["certificates"]
    assert verified == unverified == default
    after_ingest = [name for name in NOT_AT_START if _loaded(seen["after_ingest"], name)]
    assert after_ingest == [], f"ingest imported {after_ingest}"
    assert seen["ingest"] == [202, {"accepted": 1, "duplicates": 0}]
    status, page = seen["read"]
    assert status == 200 and [e["id"] for e in page["events"]] == ["e-1"]
    assert seen["runs"] == 200
    assert _loaded(seen["after_read"], "sqlalchemy")  # the read side loads on first use


def _schema(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    finally:
        conn.close()
    return {name: " ".join(sql.replace("IF NOT EXISTS ", "").split()) for name, sql in rows}


def test_stdlib_schema_is_sqlalchemys(tmp_path: Path) -> None:
    from sidecar.store.database import create_engine, create_schema

    stdlib, orm = tmp_path / "stdlib.db", tmp_path / "orm.db"
    sqlite_start.create_schema(str(stdlib))

    async def with_sqlalchemy() -> None:
        engine = create_engine(f"sqlite:///{orm}", StoreConfig())
        try:
            await create_schema(engine)
        finally:
            await engine.dispose()

    asyncio.run(with_sqlalchemy())
    assert _schema(stdlib) == _schema(orm)
    assert "ix_events_user_ts" in _schema(stdlib)


def test_one_file_opened_by_both_paths_keeps_one_secret(tmp_path: Path) -> None:
    from sidecar.store.database import create_engine, create_schema
    from sidecar.store.secrets import stored_secret

    path = tmp_path / "shared.db"

    async def with_sqlalchemy() -> str:
        engine = create_engine(f"sqlite:///{path}", StoreConfig())
        try:
            await create_schema(engine)
            return await stored_secret(engine, "redact.hash_key")
        finally:
            await engine.dispose()

    sqlite_start.create_schema(str(path))
    first = sqlite_start.stored_secret(str(path), "redact.hash_key")
    assert asyncio.run(with_sqlalchemy()) == first  # SQLAlchemy after stdlib
    sqlite_start.create_schema(str(path))  # and stdlib again after SQLAlchemy
    assert sqlite_start.stored_secret(str(path), "redact.hash_key") == first
    assert sqlite_start.stored_secret(str(path), "other") != first
    assert len(first) == 64 and sqlite_start.ping(str(path)) >= 0


def test_the_lazy_tool_routes_are_the_tool_routes() -> None:
    from sidecar.api import lazy_tools, tool_routes

    defs = tool_routes.routes(None, None, wait_max_s=1.0, request_timeout_s=5.0)  # type: ignore[arg-type]
    assert {(d.method, d.path) for d in defs} == set(lazy_tools.ROUTES)
