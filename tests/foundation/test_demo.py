"""`agent-sidecar demo` runs end to end on a fresh SQLite file and prints a summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, free_port


def test_demo_runs_and_summarises(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    env.update(SIDECAR_DB_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
               SIDECAR_PORT=str(free_port()))
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "demo", "--runs", "80", "--users", "5"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
        stdin=subprocess.DEVNULL,  # not a terminal: the demo ends after its summary
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 lost by the client" in result.stdout
    for word in ("gpt-4o", "claude-sonnet-4-5", "web_search", "TTFT p50", "/metrics",
                 "Admission:", "denied", "answered from the cache"):
        assert word in result.stdout, word
    assert "80/80 runs" in result.stderr
