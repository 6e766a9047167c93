"""docs/tools.md is true: every curl example runs against a real ``agent-sidecar serve`` (in
order, in one shell) and answers what the JSON block after it shows; the Python example runs
as a user would run it and prints what its comments say; the YAML block loads and sets the
ladder and the expensive tag it describes; the reason table lists the reasons the gate has."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sidecar.config import load_settings
from sidecar.tools import REASONS
from tests.conftest import REPO, SidecarProcess

DOC = (REPO / "docs" / "tools.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)
MARK = "@@next-block@@"


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC)]


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a part of ``actual``: keys of objects, leading items of lists."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) >= len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=False))
        )
    return bool(actual == expected)


def test_curl_examples_answer_what_the_doc_shows(tmp_path: Path) -> None:
    found = blocks()
    pairs: list[tuple[str, Any]] = []
    for i, (language, body) in enumerate(found):
        if language == "bash":
            after = found[i + 1] if i + 1 < len(found) else ("", "")
            pairs.append((body, json.loads(after[1]) if after[0] == "json" else None))
    assert len(pairs) >= 8
    sidecar = SidecarProcess(f"sqlite+aiosqlite:///{tmp_path / 'docs.db'}").start()
    try:
        script = f"\necho {MARK}\n".join(body.replace("http://127.0.0.1:8787", sidecar.url)
                                         for body, _ in pairs)  # fmt: skip
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                             text=True, timeout=120, check=False)  # fmt: skip
        assert run.returncode == 0, run.stderr
        outputs = run.stdout.split(MARK + "\n")
        assert len(outputs) == len(pairs)
        for (body, expected), output in zip(pairs, outputs, strict=True):
            if expected is not None:
                assert contains(json.loads(output), expected), (body, output)

        (code,) = [body for language, body in found if language == "python"]
        ran = subprocess.run([sys.executable, "-c", code.replace("http://127.0.0.1:8787",
                                                                 sidecar.url)],
                             capture_output=True, text=True, timeout=120, cwd=REPO,
                             check=False)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.split() == ["path_denied", "args.path", "True"]
    finally:
        sidecar.stop()


def test_yaml_block_loads(tmp_path: Path) -> None:
    (block,) = [body for language, body in blocks() if language == "yaml"]
    path = tmp_path / "sidecar.yaml"
    path.write_text(block)
    settings = load_settings(path, env={})
    [policy] = settings.budgets.policies
    assert (policy.warn_at, policy.suggest_at, policy.restrict_at) == (0.5, 0.7, 0.9)
    assert settings.budgets.cheaper_models["gpt-4o"] == "gpt-4o-mini"
    assert settings.tools.policies[0].rules[0].expensive is True


def test_reason_table_is_complete() -> None:
    listed = set(re.findall(r"^\| `([a-z_]+)` \| (?:403|429) \|", DOC, re.M))
    assert listed == {*REASONS, "expensive_tool_refused"}
