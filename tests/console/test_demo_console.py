"""``agent-sidecar demo`` ends by naming the console; in a terminal it keeps serving until
Ctrl-C, with ``--no-serve`` or without a terminal (CI, a pipe) it stops after the summary.

Paths covered: a real pseudo-terminal whose Ctrl-C (the byte 0x03 through the line discipline)
stops the demo; ``--no-serve`` in a terminal; standard input not a terminal.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import subprocess
import sys
import termios
import threading
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO, free_port

CONSOLE = re.compile(r"Console: (http://127\.0\.0\.1:\d+/ui/)")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    env.update(
        SIDECAR_DB_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", SIDECAR_PORT=str(free_port())
    )
    return env


def _take_terminal() -> None:  # in the child, after setsid: the pty becomes its terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The demo on a pseudo-terminal; ``output`` accumulates what it printed."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "demo", *args],
            cwd=REPO,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.output = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk.decode(errors="replace")

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output:
            assert self.proc.poll() is None or text in self.output, self.output[-3000:]
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output[-3000:]}"
            time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)


def test_in_a_terminal_the_demo_serves_the_console_until_ctrl_c(tmp_path: Path) -> None:
    term = Terminal(["--runs", "40", "--users", "4"], _env(tmp_path))
    try:
        term.wait_for("Ctrl-C to stop", timeout_s=180)
        found = CONSOLE.search(term.output)
        assert found is not None, term.output
        url = found.group(1)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"agent-sidecar console" in response.read()
        with urllib.request.urlopen(url.replace("/ui/", "/v1/runs?limit=5"), timeout=10) as r:
            assert len(json.load(r)["runs"]) == 5
        time.sleep(0.5)  # still serving a while later
        assert term.proc.poll() is None
        os.write(term.master, b"\x03")  # Ctrl-C
        assert term.proc.wait(30) == 0, term.output[-2000:]
    finally:
        term.close()


def test_no_serve_ends_after_the_summary_even_in_a_terminal(tmp_path: Path) -> None:
    term = Terminal(["--runs", "20", "--users", "3", "--no-serve"], _env(tmp_path))
    try:
        assert term.proc.wait(180) == 0, term.output[-2000:]
        time.sleep(0.2)
        assert CONSOLE.search(term.output) and "Ctrl-C" not in term.output
    finally:
        term.close()


def test_without_a_terminal_the_demo_ends_and_names_the_console(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "demo", "--runs", "20", "--users", "3"],
        cwd=REPO,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert CONSOLE.search(done.stdout) and "Ctrl-C" not in done.stderr
    assert done.stdout.rstrip().splitlines()[-1].endswith("/ui/")  # the URLs come last
    assert "server has stopped" in done.stdout
