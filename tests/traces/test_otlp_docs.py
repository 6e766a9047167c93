"""docs/traces.md stays true: its Python example runs, and every attribute its mapping table
names is one the OTLP mapping reads (``sidecar.events.otlp_map``)."""

from __future__ import annotations

import contextlib
import io
import re

from sidecar.events import otlp_map
from tests.conftest import REPO

DOC = (REPO / "docs" / "traces.md").read_text()


def test_the_python_example_runs_and_prints_what_it_says() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/traces.md", "exec"), {})
    expected = [
        line.split("# ", 1)[1].strip()
        for line in code.splitlines()
        if line.startswith("print(") and "# " in line
    ]
    assert printed.getvalue().split("\n")[: len(expected)] == expected


def test_every_attribute_in_the_mapping_table_is_read() -> None:
    table = DOC.split("### The mapping table", 1)[1].split("###", 1)[0]
    named = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([a-z_]+\.[a-z_.]+)`", row.split("|", 2)[2])
    }
    read = {name for names in otlp_map.SOURCES.values() for name in names}
    read |= otlp_map.CHUNK_EVENTS | otlp_map.KEPT_ATTRIBUTES | {"exception.type"}
    assert named and named <= read, sorted(named - read)
