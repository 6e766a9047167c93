"""How a request is named in a log line: its route with every variable part pseudonymised.

``PUT /v1/budgets/tenant/ivan@example.com?model=gpt-4o`` is logged as
``PUT /v1/budgets/tenant/[ID:4be1c0d2a9f3]?model=[ID:77a0e1b2c3d4]``: path parameters and query
values become keyed pseudonyms (one value always gives one pseudonym, so lines of one caller
stay joinable), query names that are not plain words too. Only parameters whose value is one
of a fixed set of words (the budget ``scope``) are kept. A path no route matches is logged as
``/<unmatched:[ID:...]>``. No byte the client chose reaches the line unless it is one of those
fixed words, so neither PII nor control characters nor megabyte paths do.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

Pseudonym = Callable[[str], str]

# Path parameters whose values are words of the API, not the caller's data.
PUBLIC_VALUES: dict[str, frozenset[str]] = {"scope": frozenset({"user", "tenant", "global"})}
_WORD = re.compile(r"^[a-z_]{1,32}$")
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def request_line(request: web.BaseRequest, pseudonym: Pseudonym) -> str:
    """``METHOD /route/with/[ID:...]?name=[ID:...]`` (see the module docstring)."""
    method = request.method if _WORD.match(request.method.lower()) else "?"
    return f"{method} {safe_path(request, pseudonym)}"


def safe_path(request: web.BaseRequest, pseudonym: Pseudonym) -> str:
    match_info = getattr(request, "match_info", None)
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    canonical = getattr(resource, "canonical", None)
    if match_info is None or canonical is None or match_info.http_exception is not None:
        path = f"/<unmatched:{pseudonym(request.raw_path)}>"
    else:

        def value(found: re.Match[str]) -> str:
            name = found.group(1)
            given = match_info.get(name, "")
            return given if given in PUBLIC_VALUES.get(name, ()) else pseudonym(given)

        path = _PARAM.sub(value, canonical)
    if not request.query_string:
        return path
    pairs = [
        f"{name if _WORD.match(name) else pseudonym(name)}={pseudonym(given)}"
        for name, given in request.query.items()
    ]
    return f"{path}?{'&'.join(pairs)}"


class PseudonymisingAccessLogger(AbstractAccessLogger):
    """aiohttp's access log as ``request_line STATUS 12.3ms`` at INFO; ``pseudonym`` is set by
    :func:`access_logger` (aiohttp builds the logger itself, from the class)."""

    pseudonym: Pseudonym = staticmethod(lambda value: "[ID]")

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %d %.1fms", request_line(request, type(self).pseudonym),
                         response.status, time * 1000)  # fmt: skip

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(20)


def access_logger(pseudonym: Pseudonym) -> type[AbstractAccessLogger]:
    """The access logger class for an app whose pseudonyms come from ``pseudonym``."""
    return type("AppAccessLogger", (PseudonymisingAccessLogger,),
                {"pseudonym": staticmethod(pseudonym)})  # fmt: skip
