"""Run every benchmark module and assemble docs/benchmarks.md.

Each ``bench/bench_<name>.py`` exposes ``run(quick: bool = False) -> str`` returning a markdown
section. ``python -m bench [--quick] [name ...]`` runs all (or the named) and rewrites the file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

from bench.harness import python_loop_seconds

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks.md"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="bench modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="short runs (CI smoke)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs/")
    args = parser.parse_args()
    names = args.names or sorted(p.stem[6:] for p in Path(__file__).parent.glob("bench_*.py"))
    sections = []
    for name in names:
        print(f"== bench {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.bench_{name}")
        sections.append(module.run(quick=args.quick).rstrip() + "\n")
        print(f"   done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    header = (
        "# Benchmarks\n\n"
        "Measured by `make bench` (`python -m bench`), all numbers from one run on the machine "
        "below; peers and baselines are measured in the same run, on the same machine. These "
        "machines are shared and noisy: read the medians and the ratios, not single figures.\n\n"
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}\n"
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
        f"- single-core speed: a pure-Python loop of 10^7 additions in "
        f"{python_loop_seconds():.2f} s (read absolute figures of two runs against it)\n\n"
    )
    text = header + "\n".join(sections)
    if args.no_write or (args.names and OUT.exists()):
        if args.names and OUT.exists() and not args.no_write:
            text = _replace_sections(OUT.read_text(), sections, header)
        else:
            print(text)
            return 0
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


def _replace_sections(existing: str, sections: list[str], header: str) -> str:
    """Running a subset updates those sections (a module may write several) and keeps the
    others in their places."""
    kept = _by_heading(existing)
    for section in sections:
        kept.update(_by_heading(section))
    return header + "\n".join(kept.values())


def _by_heading(text: str) -> dict[str, str]:
    """The ``## `` sections of ``text`` by their heading line, in order."""
    body = text.split("\n## ", 1) if not text.startswith("## ") else ["", text[3:]]
    chunks: dict[str, str] = {}
    if len(body) == 2:
        for chunk in body[1].split("\n## "):
            chunk = "## " + chunk
            chunks[chunk.splitlines()[0]] = chunk.rstrip() + "\n"
    return chunks


if __name__ == "__main__":
    sys.exit(main())
