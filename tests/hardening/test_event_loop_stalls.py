"""No request holds the event loop: a steady admit client keeps its p99 within 100 ms while
3.9 MB bodies arrive.

Paths, each a real ``agent-sidecar serve`` process on SQLite with a budget policy (so every
admit goes through the ledger), over loopback HTTP:

- ``POST /v1/events`` with a 3.9 MB NDJSON batch (about 11k ``llm_call`` events, each through
  guard, redaction, pricing, the store and the sinks);
- ``POST /v1/events`` with the same events as one JSON array;
- ``POST /v1/traces`` with a 3.9 MB OTLP protobuf of 31.5k spans, and the same as OTLP JSON;
- ``POST /v1/cache/lookup`` and ``/v1/cache/store`` with a 3.9 MB key (refused with a 422
  naming ``key``: keys are at most 32 KB);
- ``POST /v1/redact`` with a 3.9 MB text, and ``POST /v1/admit`` with a 3.9 MB ``tool_result``
  screened by the injection guard in block mode.

A second process (``tests/hardening/stall_load.py``) admits every 20 ms throughout and records
each answer's latency; the p99 of the admits sent while the large bodies were in flight must
stay within 100 ms in the best of five passes (the figures are printed and quoted in
docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, SidecarProcess
from tests.hardening.stall_load import EXPECTED, P99_BOUND_S

ATTEMPTS = int(os.environ.get("STALL_ATTEMPTS", "5"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[SidecarProcess]:
    process = SidecarProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'stall.db'}",
        env={
            "SIDECAR_BUDGETS__POLICIES": "[{scope: user, id: '*', window: 1d, "
            "max_tokens: 1000000000000}]",
            "SIDECAR_GUARD__MODE": "block",
        },
    ).start(timeout=90)
    try:
        yield process
    finally:
        process.stop()


def test_admit_p99_stays_within_100_ms_while_large_bodies_arrive(
    served: SidecarProcess,
) -> None:
    """One warm-up pass over the bodies, then up to ``ATTEMPTS`` measured passes: the best
    pass's p99 must be within 100 ms (the machines are shared, so one pass can be starved of
    CPU by other processes; before the work moved off the loop every pass was over 300 ms)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.hardening.stall_load", served.url, str(ATTEMPTS)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.splitlines()[-1])
    if os.environ.get("STALL_LOG"):
        print(served.log)
    assert result["admit_statuses"] == [200]
    assert result["passes"] == [EXPECTED] * len(result["passes"])
    assert result["fields"] == ["key"] * (2 * len(result["passes"]))  # a cache key: 32 KB at most
    figures = result["figures"]
    for figure in figures:
        assert figure["n"] >= 50
        print(f"admit latency during large bodies: n={figure['n']} "
              f"p50={figure['p50'] * 1000:.1f} ms p99={figure['p99'] * 1000:.1f} ms "
              f"max={figure['max'] * 1000:.1f} ms")  # fmt: skip
    best = min(figure["p99"] for figure in figures)
    assert best <= P99_BOUND_S, f"admit p99 {[round(f['p99'] * 1000) for f in figures]} ms"
