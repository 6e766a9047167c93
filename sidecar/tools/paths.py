"""Path rules for file tools, judged on the text of the arguments only.

The sidecar cannot see the agent's filesystem: it never resolves a symlink, never checks that a
file exists, and cannot know the agent's working directory. What it checks, on every string
under a path key (``path``, ``file``, ``src``, ``dst``, ``target``, ... or the rule's ``keys``,
at any depth of the arguments, in lists too):

- control characters (U+0000 included) are refused;
- ``file://`` is stripped, ``%xx`` escapes are decoded (up to three times) and ``\\`` is read as
  ``/``: every form must pass;
- relative paths are joined to ``paths.base`` when set; ``.`` and ``..`` are normalised
  lexically (``/work/a/../../etc`` is ``/etc``);
- with allowed roots, any ``..`` component is refused outright (a symlink before it would make
  the kernel resolve it elsewhere than the text says), as is a leading ``~`` (the home
  directory is unknown) and a relative path without ``base``;
- text that aliases the whole filesystem through a link (``/proc/<pid>/root``, ``/proc/*/cwd``,
  ``/proc/*/fd``, ``/dev/fd``) is refused, and ``link -> target`` text has both sides checked;
- ``deny`` globs are matched case-insensitively (``.ENV`` on a case-insensitive volume),
  against the path and each of its parent directories (``deny: ["/etc"]`` covers
  ``/etc/passwd``); ``allow`` globs exactly, against the path; deny wins.

A symlink that already exists inside an allowed root and points outside it passes: confine the
tool with the operating system too (a container, a read-only mount, a chroot).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from sidecar.tools.args_schema import field_path
from sidecar.tools.globs import glob_match
from sidecar.tools.policy import PathRules

PATH_KEYS = frozenset({
    "path", "paths", "file", "files", "file_path", "filepath", "filename", "dir", "directory",
    "cwd", "workdir", "src", "dst", "source", "destination", "dest", "target", "link",
    "old_path", "new_path", "from", "to",
})  # fmt: skip
_ALIASES = re.compile(r"^/proc/[^/]+/(root|cwd|fd|map_files)(/|$)|^/dev/fd(/|$)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_DEPTH = 32


def values_under(args: Any, keys: frozenset[str]) -> Iterator[tuple[str, str]]:
    """``(field, text)`` of every string under one of ``keys``, at any depth."""
    stack: list[tuple[Any, list[Any], bool]] = [(args, [], False)]
    while stack:
        value, parts, wanted = stack.pop()
        if len(parts) > _MAX_DEPTH:
            continue
        if isinstance(value, str):
            if wanted:
                yield field_path(parts), value
        elif isinstance(value, dict):
            for k, v in value.items():
                stack.append((v, [*parts, k], str(k).lower() in keys))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                stack.append((v, [*parts, i], wanted))


def _forms(text: str) -> list[str]:
    """The spellings of one path the checks must all accept."""
    forms = [text]
    decoded = text
    for _ in range(3):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
        forms.append(decoded)
    out: list[str] = []
    for form in forms:
        for side in form.split(" -> ") if " -> " in form else [form]:
            side = side.strip()
            if side.lower().startswith("file://"):
                side = side[7:]
            out.append(side.replace("\\", "/"))
    return out


def path_problem(text: str, rules: PathRules) -> str | None:
    """Why ``text`` breaks ``rules``, or None when it passes."""
    if _CONTROL.search(text):
        return "control characters in a path"
    for form in _forms(text):
        problem = _form_problem(form, rules)
        if problem is not None:
            return problem
    return None


def _form_problem(form: str, rules: PathRules) -> str | None:
    confined = bool(rules.allow)
    parts = form.split("/")
    if confined and ".." in parts:
        return "'..' in a path is refused within allowed roots"
    if confined and form.startswith("~"):
        return "'~' paths are refused: the home directory is unknown"
    joined = form
    if not form.startswith("/") and rules.base is not None:
        joined = posixpath.join(rules.base, form)
    normal = posixpath.normpath(joined) if joined else joined
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if _ALIASES.search(normal) or _ALIASES.search(joined):
        return "paths through /proc/*/root, cwd, fd or /dev/fd are refused"
    candidates = {prefix for c in {joined, normal} for prefix in _prefixes(c)}
    for glob in rules.deny:
        if any(glob_match(glob, c, ignore_case=True) for c in candidates):
            return f"path matches denied {glob!r}"
    if confined:
        if (
            not normal.startswith("/")
            and rules.base is None
            and any(g.startswith("/") for g in rules.allow)
        ):
            return "relative path with no paths.base cannot be placed in an allowed root"
        if not any(glob_match(glob, normal) for glob in rules.allow):
            return "path is outside the allowed roots"
    return None


def _prefixes(path: str) -> list[str]:
    """``/a/b/c`` → ``/a``, ``/a/b``, ``/a/b/c``: what is under a denied path is denied."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1) if "/".join(parts[:i])]


def first_path_problem(args: Any, rules: PathRules) -> tuple[str, str] | None:
    """``(field, why)`` of the first path in ``args`` that breaks ``rules``."""
    keys = frozenset(k.lower() for k in rules.keys) if rules.keys is not None else PATH_KEYS
    for field, text in sorted(values_under(args, keys)):
        problem = path_problem(text, rules)
        if problem is not None:
            return field, problem
    return None
