"""Glob patterns for tool names and paths, compiled once to regular expressions.

``*`` matches any run of characters except ``/``, ``?`` one such character, ``[abc]`` a class,
``**`` any run including ``/``; ``**/`` at the start or after a ``/`` matches zero or more
whole directories and a trailing ``/**`` matches the directory itself too. So ``**/.env``
matches ``.env``, ``/srv/app/.env`` and ``a/b/.env``; ``/work/**`` matches ``/work`` and
``/work/a/b``. In tool-name and command-word globs (:func:`name_match`) ``/`` is an ordinary
character: ``fs.*`` matches ``fs.read``, ``mcp/*`` matches ``mcp/fs/read``.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: str, paths: bool = True) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if not paths and c in "*?":
            out.append(".*" if c == "*" else ".")
            i += 1
        elif pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == n:
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append(f"[{'^' if negate else ''}{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_glob(pattern: str, *, ignore_case: bool = False, paths: bool = True) -> re.Pattern[str]:
    """The regular expression matching exactly what ``pattern`` matches (whole string)."""
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(f"(?s:{_translate(pattern, paths)})\\Z", flags)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """A path glob: ``*`` stops at ``/``, ``**`` crosses it."""
    return compile_glob(pattern, ignore_case=ignore_case).match(value) is not None


def name_match(pattern: str, value: str) -> bool:
    """A tool-name glob: ``/`` is an ordinary character (``mcp/*`` matches ``mcp/fs/read``)."""
    return compile_glob(pattern, paths=False).match(value) is not None
