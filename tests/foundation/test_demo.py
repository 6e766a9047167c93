"""`agent-sidecar demo`, run as a user runs it: a real process in a fresh directory.

Paths: the default store (``./data/demo.db``, made afresh; ``./data/sidecar.db``, the ``serve``
default, untouched byte for byte); an explicit ``SIDECAR_DB_URL``; two runs with one ``--seed``
print identical figures, another seed other ones; no SQL and no traceback on screen; every
child call lies inside its run's time span (read back from the demo's SQLite file); the
redactor and the injection guard both have findings; the URLs come last.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, free_port

SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|CREATE|PRAGMA|BEGIN|COMMIT)\b")
TIMING = re.compile(r" in [0-9.]+ s |http://127\.0\.0\.1:\d+")


def demo(cwd: Path, *args: str, db_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    env["SIDECAR_PORT"] = str(free_port())
    if db_url:
        env["SIDECAR_DB_URL"] = db_url
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "demo", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
        stdin=subprocess.DEVNULL,  # not a terminal: the demo ends after its summary
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and not SQL.search(stream), stream[-3000:]
    return result


def figures(output: str) -> list[str]:
    return [TIMING.sub("", line) for line in output.splitlines()]


def test_demo_runs_and_summarises(tmp_path: Path) -> None:
    result = demo(
        REPO, "--runs", "80", "--users", "5", db_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    )
    assert "0 lost by the client" in result.stdout
    for word in (
        "gpt-4o",
        "claude-sonnet-4-5",
        "web_search",
        "TTFT p50",
        "/metrics",
        "Admission:",
        "denied",
        "answered from the cache",
        "Safety:",
    ):
        assert word in result.stdout, word
    assert "80/80 runs" in result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("Console: http://")


def test_one_seed_gives_one_result_on_its_own_database(tmp_path: Path) -> None:
    serve_db = tmp_path / "data" / "sidecar.db"
    serve_db.parent.mkdir()
    with sqlite3.connect(serve_db) as conn:
        conn.execute("CREATE TABLE mine (x)")
        conn.execute("INSERT INTO mine VALUES ('the serve database')")
    before = hashlib.sha256(serve_db.read_bytes()).hexdigest()
    args = ("--runs", "150", "--users", "6", "--seed", "11")
    first, second = demo(tmp_path, *args), demo(tmp_path, *args)
    assert figures(first.stdout) == figures(second.stdout)
    assert "denied (token_budget_exceeded" in first.stdout
    other = demo(tmp_path, "--runs", "150", "--users", "6", "--seed", "12")
    assert figures(other.stdout) != figures(first.stdout)
    assert hashlib.sha256(serve_db.read_bytes()).hexdigest() == before
    assert "data/demo.db" in first.stderr and "sidecar.db" not in first.stderr
    check_demo_database(tmp_path / "data" / "demo.db", runs=150)
    safety = re.search(
        r"Safety: (\d+) personal .* (\d+) tool results .* (\d+) flagged", first.stdout
    )
    assert safety and all(int(n) > 0 for n in safety.groups()), first.stdout


def check_demo_database(path: Path, *, runs: int) -> None:
    """The last demo's events only; each child within its run's span; findings stored."""
    with sqlite3.connect(path) as conn:
        bodies = [json.loads(row[0]) for row in conn.execute("SELECT body FROM events")]
        policies = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%polic%'"
        ).fetchall()
        assert policies
    runs_by_id = {e["request_id"]: e for e in bodies if e["type"] == "run"}
    assert len(runs_by_id) == runs
    children = [e for e in bodies if e["type"] != "run"]
    assert children
    for child in children:
        run = runs_by_id[child["request_id"]]
        run_end = run["start_ts"] + run["duration_ms"] / 1000.0
        child_end = child["start_ts"] + child["duration_ms"] / 1000.0
        assert run["start_ts"] - 1e-6 <= child["start_ts"], (run, child)
        assert child_end <= run_end + 1e-3, (run, child)
        assert run["start_ts"] - 1e-6 <= child["ts"] <= run_end + 1e-3
    texts = json.dumps(bodies)
    assert "@example.com" not in texts and "@example.org" not in texts
    assert "[EMAIL]" in texts or "[PHONE]" in texts
    assert any("gen_ai.guard.injection_score" in (e.get("attributes") or {}) for e in children)
