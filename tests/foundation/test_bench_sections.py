"""``python -m bench <name>`` rewrites the sections its module writes, in their places."""

from __future__ import annotations

from bench.__main__ import _replace_sections

EXISTING = "# B\n\nold header\n\n## One\n\nold 1\n\n## Two\n\nold 2\n\n## Three\n\nold 3\n"


def test_a_module_writing_two_sections_replaces_both_in_place() -> None:
    out = _replace_sections(EXISTING, ["## One\n\nnew 1\n\n## Three\n\nnew 3\n"], "# B\n\nnew\n\n")
    assert out == "# B\n\nnew\n\n## One\n\nnew 1\n\n## Two\n\nold 2\n\n## Three\n\nnew 3\n"


def test_a_new_section_goes_last() -> None:
    out = _replace_sections(EXISTING, ["## Four\n\n4\n"], "# B\n\n")
    assert out.endswith("## Three\n\nold 3\n\n## Four\n\n4\n")
    assert out.count("## ") == 4
