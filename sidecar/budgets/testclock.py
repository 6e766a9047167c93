"""A test-only clock for the budget ledger: its time read from a file, shared by processes.

Tests that drive real ``agent-sidecar serve`` processes through expiry and window resets set
``AGENT_SIDECAR_TEST_CLOCK_FILE`` to a file holding unix seconds (e.g. ``1741608000.0``); every
ledger clock reading then returns that number (re-read when the file changes). It exists only
for tests: the variable is deliberately outside the ``SIDECAR_`` configuration namespace, the
sidecar logs a warning when it is set, and refuses to start with it on a non-loopback address.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

ENV = "AGENT_SIDECAR_TEST_CLOCK_FILE"
log = logging.getLogger(__name__)


class FileClock:
    """Unix seconds from ``path`` (written whole, e.g. by rename), read at every call.

    Not cached by the file's inode, mtime and size: a file system reuses a freed inode and
    stamps mtime from a coarse clock (a few ms), so three writes within one tick can leave the
    stamp of the first with the time of the third, and a reader would keep the first."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> float:
        with open(self.path, encoding="ascii") as f:
            return float(f.read().strip())


def ledger_clock(env: Mapping[str, str] | None = None) -> Callable[[], float]:
    """The ledger's clock: ``time.time``, or the test file clock when ``ENV`` is set."""
    path = (os.environ if env is None else env).get(ENV)
    if not path:
        return time.time
    log.warning("TEST ONLY: the budget ledger's clock is read from %s (%s)", path, ENV)
    return FileClock(path)


def write_clock(path: str, now: float) -> None:
    """Set a :class:`FileClock`'s time (atomically, for readers in other processes)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(repr(float(now)))
    os.replace(tmp, path)
