"""Command rules for shell tools: denied patterns, found through the shell's quoting tricks.

A command line is split the way a POSIX shell reads it, then every simple command in it is
checked on its own:

- lists and pipelines: ``;``, ``&&``, ``||``, ``|``, ``&``, newlines, ``( ... )``, ``{ ...; }``;
- substitutions, wherever they appear (quoted too, to be safe): ``$(...)``, backticks,
  ``<(...)``, ``>(...)``;
- words as the shell sees them after quote removal (``shlex``, POSIX mode): ``'r''m'``,
  ``"rm"``, ``r\\m`` are all ``rm``; ``${IFS}`` is a space;
- leading ``VAR=value`` assignments and wrappers (``sudo``, ``env``, ``command``, ``exec``,
  ``nohup``, ``nice``, ``timeout``, ``xargs``, ``busybox``, ...) with their options are skipped
  (``sudo -u root rm``); ``/bin/rm`` is ``rm``; ``find ... -exec CMD`` runs ``CMD``;
- ``sh -c '...'`` (bash, zsh, dash, ksh too) and ``eval ...`` are parsed again, recursively.

A pattern is a command the same way: ``rm -rf`` matches a command named ``rm`` whose flags
include ``-r`` and ``-f`` in any spelling (``-fr``, ``-r -f``, ``-R``, ``--recursive --force``);
further words must appear in order among the arguments, as globs (``git push * --force``
matches ``git push origin main --force``). A pattern starting ``re:`` is a regular expression
searched in each simple command's normalised text (words joined by one space) and in the
whole line after quote removal (``re:curl .*\\| *sh`` sees a pipeline).

Conservative by design: a command that cannot be parsed (an unclosed quote), a command whose
name is itself an expansion (``$CMD -rf /``) and nesting deeper than 8 levels are refused when
the rule has any deny pattern. Not seen through: other interpreters' code (``python -c``),
files the command runs, aliases and functions defined elsewhere.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sidecar.tools.globs import name_match
from sidecar.tools.paths import values_under
from sidecar.tools.policy import CommandRules

COMMAND_KEYS = frozenset({"command", "cmd", "commands", "script", "shell", "argv", "line"})
_OPERATORS = set(";&|()")
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "busybox-sh"}
_WRAPPERS = {"sudo", "doas", "env", "command", "builtin", "exec", "nohup", "nice", "time",
             "timeout", "xargs", "stdbuf", "setsid", "busybox", "strace", "ionice", "chrt",
             "unbuffer", "caffeinate", "then", "do", "else", "elif", "if", "while", "until",
             "!", "{", "}"}  # fmt: skip
# Options of a wrapper that take the next word as their value (``sudo -u root rm``).
_VALUED: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-U", "-r", "-t", "-D"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "--unset", "--chdir"}),
    "nice": frozenset({"-n"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "xargs": frozenset({"-I", "-n", "-P", "-d", "-E", "-L", "-s", "-a"}),
}
_EXEC_OPTIONS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_NUMBER = re.compile(r"^[0-9.]+[smhd]?$")
# Long options that mean a short flag, per command.
_ALIASES: dict[str, dict[str, str]] = {
    "rm": {"-R": "-r", "--recursive": "-r", "--force": "-f", "--dir": "-d"},
    "git": {"--force": "-f", "--force-with-lease": "-f"},
    "chmod": {"--recursive": "-R"},
    "chown": {"--recursive": "-R"},
}
MAX_DEPTH = 8


class Unparseable(ValueError):
    """The text cannot be read as a shell command (refused: we cannot tell what it runs)."""


@dataclass(frozen=True)
class SimpleCommand:
    name: str
    flags: frozenset[str]
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join((self.name, *self.words_and_flags))

    words_and_flags: tuple[str, ...] = ()


def _substitutions(text: str) -> Iterator[str]:
    """The bodies of ``$(...)``, ``<(...)``, ``>(...)`` and backtick substitutions."""
    i, n = 0, len(text)
    while i < n:
        if text[i] == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise Unparseable("unclosed backtick")
            yield text[i + 1 : end]
            i = end + 1
        elif text[i] in "$<>" and i + 1 < n and text[i + 1] == "(":
            depth, j = 1, i + 2
            while j < n and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise Unparseable("unclosed $(")
            yield text[i + 2 : j - 1]
            i = j
        else:
            i += 1


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise Unparseable(str(exc)) from None


def _segments(tokens: list[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for tok in tokens:
        if tok and set(tok) <= _OPERATORS:
            if current:
                yield current
            current = []
        else:
            current.append(tok)
    if current:
        yield current


def _strip_wrappers(words: list[str]) -> list[str]:
    i = 0
    while i < len(words):
        word = words[i]
        if _ASSIGNMENT.match(word):
            i += 1
        elif (wrapper := posixpath.basename(word)) in _WRAPPERS:
            i += 1
            valued = _VALUED.get(wrapper, frozenset())
            while i < len(words) and (words[i].startswith("-") or _NUMBER.match(words[i])):
                i += 2 if words[i] in valued else 1
        else:
            break
    return words[i:]


def _flags(name: str, args: list[str]) -> frozenset[str]:
    aliases = _ALIASES.get(name, {})
    out: set[str] = set()
    for arg in args:
        if arg == "--" or not arg.startswith("-") or arg == "-":
            continue
        if arg.startswith("--"):
            long = arg.split("=", 1)[0]
            out.add(aliases.get(long, long))
        else:
            for letter in arg[1:]:
                flag = f"-{letter}"
                out.add(aliases.get(flag, flag))
    return frozenset(out)


def simple_commands(text: str, depth: int = 0) -> list[SimpleCommand]:
    """Every simple command ``text`` would run (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise Unparseable("commands nest too deeply")
    text = text.replace("${IFS}", " ").replace("$IFS", " ").replace("\n", " ; ")
    found: list[SimpleCommand] = []
    for inner in _substitutions(text):
        found.extend(simple_commands(inner, depth + 1))
    for segment in _segments(_tokens(text)):
        found.extend(_command(segment, depth))
    return found


def argv_commands(argv: list[str], depth: int = 0) -> list[SimpleCommand]:
    """The commands an exec-style argument vector runs (no shell, but ``sh -c`` recurses)."""
    return _command([str(a) for a in argv], depth)


def _command(segment: list[str], depth: int) -> list[SimpleCommand]:
    words = _strip_wrappers(segment)
    if not words:
        return []
    name = posixpath.basename(words[0]) or words[0]
    args = words[1:]
    if name in _SHELLS:
        for i, arg in enumerate(args):
            is_c = arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]
            if is_c and i + 1 < len(args):
                return simple_commands(args[i + 1], depth + 1)
    if name == "eval":
        return simple_commands(" ".join(args), depth + 1)
    found: list[SimpleCommand] = []
    if name == "find":  # find ... -exec CMD ... ; runs CMD
        for i, arg in enumerate(args):
            if arg in _EXEC_OPTIONS:
                found.extend(_command(args[i + 1 :], depth + 1))
    positional = tuple(a for a in args if not a.startswith("-") or a == "-")
    return [*found, SimpleCommand(name, _flags(name, args), positional, tuple(args))]


@dataclass(frozen=True)
class Pattern:
    source: str
    regex: re.Pattern[str] | None = None
    command: SimpleCommand | None = None

    def matches(self, cmd: SimpleCommand) -> bool:
        if self.regex is not None:
            return self.regex.search(cmd.text) is not None
        want = self.command
        assert want is not None
        if not name_match(want.name, cmd.name) or not want.flags <= cmd.flags:
            return False
        it = iter(cmd.words)
        return all(any(name_match(w, have) for have in it) for w in want.words)


@lru_cache(maxsize=4096)
def compile_pattern(source: str) -> Pattern:
    """A deny pattern; ValueError when it is not one command (or not a valid ``re:``)."""
    if source.startswith("re:"):
        try:
            return Pattern(source, regex=re.compile(source[3:]))
        except re.error as exc:
            raise ValueError(f"bad regular expression in command pattern: {exc}") from None
    try:
        commands = simple_commands(source)
    except Unparseable as exc:
        raise ValueError(f"command pattern cannot be parsed: {exc}") from None
    if len(commands) != 1:
        raise ValueError("a command pattern is one simple command (or re:<regex>)")
    return Pattern(source, command=commands[0])


def command_problem(value: Any, rules: CommandRules) -> str | None:
    """Why a command value (a string, or an argv list) breaks ``rules``, or None."""
    if not rules.deny:
        return None
    try:
        is_argv = isinstance(value, list)
        commands = argv_commands(value) if is_argv else simple_commands(str(value))
    except Unparseable as exc:
        return f"command cannot be parsed ({exc}): refused"
    patterns = [compile_pattern(p) for p in rules.deny]
    if isinstance(value, str):
        line = " ".join(_tokens(value.replace("${IFS}", " ").replace("$IFS", " ")))
        for pattern in patterns:
            if pattern.regex is not None and pattern.regex.search(line):
                return f"command matches denied {pattern.source!r}"
    for cmd in commands:
        if "$" in cmd.name or "`" in cmd.name:
            return "a command named by an expansion is refused"
        for pattern in patterns:
            if pattern.matches(cmd):
                return f"command matches denied {pattern.source!r}"
    return None


def first_command_problem(args: Any, rules: CommandRules) -> tuple[str, str] | None:
    """``(field, why)`` of the first command in ``args`` that breaks ``rules``."""
    keys = frozenset(k.lower() for k in rules.keys) if rules.keys is not None else COMMAND_KEYS
    if isinstance(args, str):
        problem = command_problem(args, rules)
        return ("args", problem) if problem else None
    for field, value in _command_values(args, keys):
        problem = command_problem(value, rules)
        if problem is not None:
            return field, problem
    return None


def _command_values(args: Any, keys: frozenset[str]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(args, dict):
        for key in sorted(args, key=str):
            value = args[key]
            if (
                str(key).lower() in keys
                and isinstance(value, list)
                and all(isinstance(v, str) for v in value)
            ):
                out.append((f"args.{key}", value))
    out.extend(values_under(args, keys))
    return out
