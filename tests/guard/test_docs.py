"""docs/redaction.md's injection-guard part is right: its example runs, its YAML loads, and its
quality table is the one the shipped model gives on the shipped corpus."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import yaml

from sidecar.guard import GuardConfig
from sidecar.guard.training.__main__ import CORPUS
from sidecar.guard.training.quality import load, quality_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "redaction.md"
GUARD_PART = DOC.read_text(encoding="utf-8").split("## Prompt-injection detection", 1)[1]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUARD_PART, flags=re.DOTALL)


def test_the_python_example_runs() -> None:
    [example] = _blocks("python")
    exec(compile(example, str(DOC), "exec"), {})


def test_the_yaml_example_is_a_valid_guard_section() -> None:
    [block] = _blocks("yaml")
    section = yaml.safe_load(block)["guard"]
    config = msgspec.convert(section, GuardConfig)
    assert config == GuardConfig()


def test_the_quality_table_is_current() -> None:
    table = quality_table(load(CORPUS))
    assert table in GUARD_PART, "paste quality_table() output into docs/redaction.md"
