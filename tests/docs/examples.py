"""The example blocks of README.md and docs/*.md, as the documentation test runs them.

A fenced block in ``bash``, ``sh``, ``shell`` or ``python`` is an example. Each one runs, in
document order, unless the line before its fence is the marker ``<!-- not-run: reason -->``
(a Kubernetes manifest, ``docker compose up``, a command that serves forever): those are listed
and counted. In a shell example, a comment line holding JSON (``# {"accepted":1,...}``) is the
expected answer of the last ``curl`` written above it, optionally after its status (``# 429
{...}``); a ``json`` block right after the shell block is the answer of its last ``curl``. A
status shown must be the status answered; without one, an error or a denial (``{"error": ...}``,
``{"allowed": false, ...}``) must come with a 4xx and any other answer with a 2xx; an expected
object's keys must all be in the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO

LANGUAGES = {"bash": "shell", "sh": "shell", "shell": "shell", "python": "python"}
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(\S.*?)\s*-->\s*$")
_FENCE = re.compile(r"^```([\w+-]*)\s*$")
_CURL_CALL = re.compile(r"(?:^|[\s|(;&])curl\s")
_EXPECTED = re.compile(r"^\s*#\s*((?:[1-5][0-9][0-9]\s+)?[{\[].*)$")


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    kind: str  # "shell" or "python"
    code: str
    not_run: str | None = None
    expected: dict[int, str] = field(default_factory=dict)  # 0-based curl call -> answer

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def documents() -> list[Path]:
    """README.md and every Markdown file of docs/, whoever added it."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def examples(path: Path) -> list[Example]:
    lines = path.read_text().splitlines()
    name = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
    found: list[Example] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        kind = LANGUAGES.get(opening.group(1).lower())
        if kind is not None:
            before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            marker = NOT_RUN.match(before.strip())
            body = lines[index + 1 : end]
            expected = _expected_answers(body) if kind == "shell" else {}
            following = _following_json(lines, end + 1)
            if kind == "shell" and following is not None:
                calls = _count_calls(body)
                if calls and calls - 1 not in expected:
                    expected[calls - 1] = following
            found.append(Example(name, index + 1, kind, "\n".join(body) + "\n",
                                 marker.group(1) if marker else None, expected))  # fmt: skip
        index = end + 1
    return found


def _count_calls(body: list[str]) -> int:
    return sum(len(_CURL_CALL.findall(line)) for line in body if not line.lstrip().startswith("#"))


def _following_json(lines: list[str], start: int) -> str | None:
    """The body of a ``json`` block right after a shell block (blank lines between), if any."""
    at = start
    while at < len(lines) and not lines[at].strip():
        at += 1
    if at >= len(lines) or lines[at].strip() != "```json":
        return None
    end = at + 1
    while end < len(lines) and not lines[end].startswith("```"):
        end += 1
    return " ".join(line.strip() for line in lines[at + 1 : end])


def _expected_answers(body: list[str]) -> dict[int, str]:
    """The JSON comments of a shell block, each the answer of the ``curl`` written before it."""
    answers: dict[int, str] = {}
    calls = 0
    for line in body:
        shown = _EXPECTED.match(line)
        if shown and calls:
            answers[calls - 1] = shown.group(1)
        elif not line.lstrip().startswith("#"):
            calls += len(_CURL_CALL.findall(line))
    return answers
