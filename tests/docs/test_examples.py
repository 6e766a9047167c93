"""Every example of README.md and docs/*.md runs, as written, against a live sidecar.

Paths: each ``bash``/``sh`` block runs in bash (``curl`` to a sidecar on loopback, its answers
checked against the JSON comments of the block), each ``python`` block in a fresh interpreter
(the SDK, the library APIs, ``openai`` against a fake OpenAI-compatible provider on loopback);
one sidecar per document, the blocks in document order, so a document reads as a session
(a shell variable set in one block is set in the next ones). Blocks
marked ``<!-- not-run: reason -->`` (see CONTRIBUTING.md) are counted, and each needs a reason.
Documents added later are discovered by the glob, so their examples are covered too.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, make_settings, start_sidecar
from tests.docs.examples import Example, documents, examples
from tests.runtime.fake_openai import FakeOpenAI

_LOCAL = re.compile(r"(?:https?://)?(?:localhost|127\.0\.0\.1):8787")
_CURL = r"""
set -eo pipefail
echo 0 > "$DOCS_CALLS/n"
[ -f "$DOCS_CALLS/vars" ] && source "$DOCS_CALLS/vars"
__before=$(compgen -v | sort)
__keep() {  # the variables this block set, for the document's next blocks
  comm -13 <(echo "$__before") <(compgen -v | sort) \
    | grep -Ev '^(__|_$|FUNCNAME$|PIPESTATUS$|BASH|COMP)' \
    | while read -r name; do declare -p "$name"; done >> "$DOCS_CALLS/vars" || true
}
trap __keep EXIT
curl() {
  local n
  n=$(( $(cat "$DOCS_CALLS/n") + 1 )); echo "$n" > "$DOCS_CALLS/n"
  command curl -sS -o "$DOCS_CALLS/$n.body" -w '%{http_code}' "$@" > "$DOCS_CALLS/$n.status"
  cat "$DOCS_CALLS/$n.body"; echo
}
"""
DOCUMENTS = documents()


async def run_example(
    example: Example, sidecar_url: str, env: dict[str, str], cwd: Path
) -> tuple[int, str]:
    code = _LOCAL.sub(sidecar_url, example.code)
    if example.kind == "python":
        argv = [sys.executable, "-c", code]
    else:
        argv = ["bash", "-c", _CURL + code]
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 180)
    except TimeoutError:  # an example that never ends: stop it and whatever it started
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise AssertionError(f"{example.where} did not end within 180 s") from None
    return int(proc.returncode or 0), out.decode(errors="replace")


def _refusal(answer: str) -> bool:
    try:
        shown = json.loads(answer)
    except ValueError:
        return answer.lstrip().startswith('{"error"')
    return isinstance(shown, dict) and ("error" in shown or shown.get("allowed") is False)


def check_answers(example: Example, calls: Path, output: str) -> None:
    count = int((calls / "n").read_text().strip() or 0)
    answers = [(int((calls / f"{n}.status").read_text() or 0),
                (calls / f"{n}.body").read_text()) for n in range(1, count + 1)]  # fmt: skip
    where = f"{example.where}\n{example.code}\n{output}"
    assert max(example.expected, default=-1) < len(answers), f"fewer calls than shown: {where}"
    for index, (status, body) in enumerate(answers):
        want = example.expected.get(index)
        shown_status = re.match(r"([1-5][0-9][0-9])\s+", want or "")
        if shown_status:
            assert status == int(shown_status.group(1)), f"call {index + 1}: {status}: {where}"
            want = (want or "")[shown_status.end() :]
        elif want is not None and _refusal(want):
            assert 400 <= status < 500, f"call {index + 1} answered {status}: {where}"
            continue
        if not shown_status:
            assert 200 <= status < 400, f"call {index + 1} answered {status} {body[:500]}: {where}"
        if want is None:
            continue
        try:
            shown, got = json.loads(want), json.loads(body)
        except ValueError:
            continue
        if isinstance(shown, dict) and isinstance(got, dict):
            missing = set(shown) - set(got)
            assert not missing, f"call {index + 1} lacks {missing}: {where}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
async def test_every_example_of_the_document_runs(document: Path, tmp_path: Path) -> None:
    found = [e for e in examples(document) if e.not_run is None]
    if not found:
        pytest.skip(f"{document.name} has no example to run")
    provider = await FakeOpenAI().start()
    work = tmp_path / "work"  # the examples' directory: ./data/sidecar.db is the live store
    (work / "data").mkdir(parents=True)
    store = f"sqlite+aiosqlite:///{work / 'data' / 'sidecar.db'}"
    running, runner = await start_sidecar(make_settings(tmp_path, db_url=store))
    calls = tmp_path / "calls"
    calls.mkdir()
    env: dict[str, Any] = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SIDECAR_", "OPENAI_"))},
        "SIDECAR_URL": running.url,
        "OPENAI_BASE_URL": provider.url,
        "OPENAI_API_KEY": "sk-test-not-a-key",
        "PYTHONPATH": str(REPO),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DOCS_CALLS": str(calls),
    }
    try:
        for example in found:
            status, output = await run_example(example, running.url, env, work)
            assert status == 0, f"{example.where} exited {status}:\n{example.code}\n{output}"
            assert "Traceback" not in output, f"{example.where}:\n{output}"
            if example.kind == "shell":
                check_answers(example, calls, output)
    finally:
        await runner.cleanup()
        await provider.close()


def test_examples_not_run_are_marked_with_a_reason_and_counted() -> None:
    every = [e for path in DOCUMENTS for e in examples(path)]
    skipped = [e for e in every if e.not_run is not None]
    assert len(every) - len(skipped) >= 35, "fewer runnable examples than the docs had"
    for example in skipped:
        assert len(example.not_run or "") >= 10, f"{example.where}: say why it is not run"
    assert "not-run:" in (REPO / "CONTRIBUTING.md").read_text()
    print(f"\n{len(every)} examples: {len(every) - len(skipped)} run, {len(skipped)} not run:")
    for example in skipped:
        print(f"  {example.where}: {example.not_run}")
