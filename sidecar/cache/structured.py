"""Keys that are code, not prose: JSON sent as a string, and SQL.

Both only ever match *exactly*, on a canonical form that drops what does not change their
meaning and keeps everything that does:

- **JSON** (a string that parses as a JSON object or array): the same canonical form as a
  decoded JSON key, so key order and spacing do not matter; every value does (``10`` and
  ``"10"``, ``true`` and ``false`` and ``null`` differ).
- **SQL** (a string that starts like a statement: ``SELECT cols FROM t``, ``WITH x AS (``,
  ``INSERT INTO t``, ``UPDATE t SET c =``, ``DELETE FROM t``): keywords in one case,
  unquoted identifiers case-folded, whitespace collapsed, ``<>`` written ``!=``, and the
  conditions of a top-level ``WHERE a AND b`` in a canonical order (``a AND b`` is ``b AND a``).
  Operators, tables, columns, literals and every other token are kept: ``qty != 0`` is not
  ``qty = 0``, and ``FROM orders`` is not ``FROM invoices``.
"""

from __future__ import annotations

import json
import re
from typing import Any

JSON_PREFIX = "\x00json:"
SQL_PREFIX = "\x00sql:"
_COLUMN = r"(?:\*|[\w.()*'\"]+(?:\s+as\s+\w+)?)"
_SQL_START = re.compile(
    rf"\s*(?:select\s+(?:distinct\s+)?{_COLUMN}(?:\s*,\s*{_COLUMN})*\s+from\s+[\w.\"`]+"
    r"|insert\s+into\s+[\w.\"`]+|update\s+[\w.\"`]+\s+set\s+\w+\s*="
    r"|delete\s+from\s+[\w.\"`]+|with\s+(?:recursive\s+)?\w+\s+as\s*\()",
    re.IGNORECASE,
)
_SQL_TOKEN = re.compile(
    r"'(?:[^']|'')*'"  # string literal
    r'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]'  # quoted identifiers
    r"|\d+(?:\.\d+)?(?:e[-+]?\d+)?"
    r"|[A-Za-z_][\w$]*"
    r"|<>|!=|<=|>=|==|\|\||::|->>|->|[-+*/%=<>(),.;]"
    r"|\S",
    re.IGNORECASE,
)
_CLAUSE_END = frozenset(
    [
        "GROUP",
        "ORDER",
        "LIMIT",
        "HAVING",
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "OFFSET",
        "RETURNING",
        "WINDOW",
        "FETCH",
        "FOR",
    ]
)
_KEYWORDS = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "IS",
        "NULL",
        "LIKE",
        "ILIKE",
        "BETWEEN",
        "EXISTS",
        "AS",
        "ON",
        "JOIN",
        "LEFT",
        "RIGHT",
        "INNER",
        "OUTER",
        "FULL",
        "CROSS",
        "GROUP",
        "BY",
        "ORDER",
        "ASC",
        "DESC",
        "LIMIT",
        "OFFSET",
        "HAVING",
        "DISTINCT",
        "UNION",
        "ALL",
        "INTERSECT",
        "EXCEPT",
        "INSERT",
        "INTO",
        "VALUES",
        "UPDATE",
        "SET",
        "DELETE",
        "WITH",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "TRUE",
        "FALSE",
        "COUNT",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "RETURNING",
        "CAST",
        "COALESCE",
        "ANY",
        "SOME",
        "USING",
        "NULLS",
        "FIRST",
        "LAST",
        "WINDOW",
        "OVER",
        "PARTITION",
        "FETCH",
        "NEXT",
        "ROWS",
        "ONLY",
        "FOR",
        "LATERAL",
        "RECURSIVE",
        "DEFAULT",
    ]
)


def canonical_json(value: Any) -> str:
    """Key order and spacing removed; raises ``TypeError``/``ValueError`` for non-JSON."""
    return JSON_PREFIX + json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def structured_key(text: str) -> str | None:
    """The canonical key of a JSON or SQL string, or None when ``text`` is prose."""
    stripped = text.strip()
    if stripped[:1] in "{[" and stripped[-1:] in "}]":
        try:
            return canonical_json(json.loads(stripped))
        except (ValueError, RecursionError):
            return None
    if _SQL_START.match(stripped):
        return SQL_PREFIX + canonical_sql(stripped)
    return None


def canonical_sql(sql: str) -> str:
    tokens = [_sql_token(t) for t in _SQL_TOKEN.findall(sql.rstrip().rstrip(";"))]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        out.append(tokens[i])
        if tokens[i] == "WHERE" and _depth(out) == 0:
            end = _clause_end(tokens, i + 1)
            out.extend(_sorted_conjunction(tokens[i + 1 : end]))
            i = end
            continue
        i += 1
    return " ".join(out)


def _sql_token(token: str) -> str:
    upper = token.upper()
    if upper in _KEYWORDS:
        return upper
    if token == "<>":
        return "!="
    if token[0] in "'\"`[":
        return token
    if token[0].isalpha() or token[0] == "_":
        return token.lower()
    return token


def _depth(tokens: list[str]) -> int:
    return tokens.count("(") - tokens.count(")")


def _clause_end(tokens: list[str], start: int) -> int:
    depth = 0
    for j in range(start, len(tokens)):
        t = tokens[j]
        depth += (t == "(") - (t == ")")
        if depth < 0 or (depth == 0 and t in _CLAUSE_END):
            return j
    return len(tokens)


def _sorted_conjunction(tokens: list[str]) -> list[str]:
    """``a AND b`` in canonical order, unless the condition has a top-level OR."""
    parts: list[list[str]] = [[]]
    depth = 0
    between = False
    for t in tokens:
        depth += (t == "(") - (t == ")")
        if depth == 0 and t == "OR":
            return tokens
        if depth == 0 and t == "BETWEEN":
            between = True
        if depth == 0 and t == "AND":
            if between:
                between = False
            else:
                parts.append([])
                continue
        parts[-1].append(t)
    if len(parts) < 2 or any(not p for p in parts):
        return tokens
    ordered = sorted(parts, key=lambda p: " ".join(p))
    out: list[str] = []
    for k, part in enumerate(ordered):
        if k:
            out.append("AND")
        out.extend(part)
    return out
