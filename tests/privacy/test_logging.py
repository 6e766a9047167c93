"""The sidecar's log holds no SQL and no PII, at every level, DEBUG included.

Paths covered:
- ``agent-sidecar serve`` (the CLI's logging set-up) at DEBUG with the access log on, over
  SQLite and PostgreSQL: budget PUT/GET/DELETE with an e-mail in the path, ``/v1/events``,
  ``/v1/aggregate`` and ``/v1/usage`` with e-mails in the query, events carrying e-mails,
  ``/health``: no SQL statement, no raw address; access lines name the route with pseudonyms.
- ``logging.sql_echo`` (``SIDECAR_LOGGING__SQL_ECHO``): the one switch that turns SQL on; even
  then the parameters pass the redacting filter.
- A 500 (the error middleware's log line) on a path and query holding PII and U+001F, with an
  exception message holding PII: over real HTTP on loopback.
- :class:`RedactingFilter` over any message, arguments and exception (hypothesis).
- Request lines over real HTTP for any path segment and query value (hypothesis): exactly the
  route with pseudonyms, or ``/<unmatched:[ID:...]>``; no byte the client chose.
"""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.api.errors import unmasked
from sidecar.api.middlewares import error_middleware
from sidecar.logs import RedactingFilter
from sidecar.redact import Redactor
from tests.conftest import SidecarProcess, llm_event

SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT INTO|UPDATE\s\S+\sSET|BEGIN \(implicit\)|COMMIT)\b")


def _email() -> str:
    return f"lg{uuid.uuid4().hex[:10]}@example.com"


def _wait_for(process: SidecarProcess, needle: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in process.log:
        assert time.monotonic() < deadline, f"{needle!r} never logged:\n{process.log[-3000:]}"
        time.sleep(0.02)


async def _exercise(url: str, email: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.put(
            f"{url}/v1/budgets/tenant/{email}", json={"window": "1d", "max_tokens": 1000}
        ) as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{url}/v1/usage/tenant/{email}") as r:
            assert r.status == 200, await r.text()
        async with http.post(
            f"{url}/v1/events", json=[llm_event(tenant=email, user_id=email) for _ in range(20)]
        ) as r:
            assert r.status == 202, await r.text()
        for query in ({"tenant": email}, {"user_id": email}):
            async with http.get(f"{url}/v1/events", params=query) as r:
                assert r.status == 200, await r.text()
        async with http.get(
            f"{url}/v1/aggregate", params={"group_by": "model", "tenant": email}
        ) as r:
            assert r.status == 200, await r.text()
        for _ in range(5):
            async with http.get(f"{url}/health") as r:
                assert r.status == 200
        async with http.delete(f"{url}/v1/budgets/tenant/{email}") as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{url}/v1/budgets/done") as r:  # the end marker of the log
            assert r.status in (404, 405)


def _run(db_url: str, email: str, **env: str) -> str:
    process = SidecarProcess(
        db_url, env={"SIDECAR_LOG_LEVEL": "DEBUG", "SIDECAR_LOGGING__ACCESS_LOG": "true", **env}
    )
    process.start()
    try:
        import asyncio

        asyncio.run(_exercise(process.url, email))
        _wait_for(process, "<unmatched:")
    finally:
        process.stop()
    return process.log


def _assert_quiet(log: str, email: str) -> None:
    assert "DEBUG" in log, log[:2000]
    assert not SQL.search(log), SQL.search(log)
    local = email.split("@")[0]
    assert local not in log and local not in log.lower(), "the raw address reached the log"
    assert re.search(r"PUT /v1/budgets/tenant/\[ID:[0-9a-f]{12}\] 200", log), log[-3000:]
    assert re.search(r"GET /v1/events\?tenant=\[ID:[0-9a-f]{12}\] 200", log), log[-3000:]
    assert re.search(r"GET /v1/aggregate\?group_by=\[ID:[0-9a-f]{12}\]&tenant=\[ID:", log)


def test_debug_log_has_no_sql_and_no_pii_on_sqlite(tmp_path: Path) -> None:
    email = _email()
    _assert_quiet(_run(f"sqlite+aiosqlite:///{tmp_path / 's.db'}", email), email)


def test_debug_log_has_no_sql_and_no_pii_on_postgresql(pg_url: str) -> None:
    email = _email()
    log = _run(pg_url, email)
    _assert_quiet(log, email)
    assert log.count("GET /health") == 5  # one access line each, not 5 lines of SQL each


def test_sql_echo_is_the_one_switch_and_stays_redacted(tmp_path: Path) -> None:
    email = _email()
    log = _run(f"sqlite+aiosqlite:///{tmp_path / 's.db'}", email, SIDECAR_LOGGING__SQL_ECHO="true")
    assert SQL.search(log), "sql_echo on: statements are logged"
    assert email.split("@")[0] not in log, "even echoed parameters pass the redactor"


async def test_a_500_line_pseudonymises_path_query_and_exception() -> None:
    email = _email()
    redactor = Redactor()

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError(f"cannot handle {request.match_info['id']}")

    app = web.Application(middlewares=[error_middleware(unmasked, redactor.pseudonym)])
    app.router.add_put("/v1/budgets/{scope}/{id}", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redactor.redact_text))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sidecar.api.middlewares")
    logger.addHandler(handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/v1/budgets/tenant/{email}%1F?model={email}"
            async with http.put(url, json={}) as r:
                assert r.status == 500
    finally:
        logger.removeHandler(handler)
        await runner.cleanup()
    line = stream.getvalue()
    assert "unhandled error on PUT /v1/budgets/tenant/[ID:" in line, line
    assert "?model=[ID:" in line, line
    assert "RuntimeError: cannot handle [EMAIL]" in line, line  # the traceback, masked
    assert email.split("@")[0] not in line and "\x1f" not in line and "%1F" not in line


_REDACTOR = Redactor()
_words = st.text(st.characters(codec="utf-8"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(before=_words, after=_words, where=st.sampled_from(["msg", "args", "exc", "stack"]))
def test_the_filter_masks_message_arguments_and_tracebacks(
    before: str, after: str, where: str
) -> None:
    email = _email()
    secret = f"{before} {email} {after}"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "%s", ("plain",), None)
    if where == "msg":
        record.msg, record.args = f"oops {secret}", None
    elif where == "args":
        record.args = (secret,)
    elif where == "exc":
        try:
            raise ValueError(secret)
        except ValueError:
            import sys

            record.exc_info = sys.exc_info()
    else:
        record.stack_info = f"Stack:\n  {secret}"
    assert RedactingFilter(_REDACTOR.redact_text).filter(record) is True
    out = logging.Formatter().format(record)
    assert email.split("@")[0] not in out, out


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_sql_loggers_stay_quiet_at_every_level(level: str) -> None:
    from sidecar.logs import LoggingConfig
    from sidecar.logs.setup import SQL_LOGGERS, quiet_sql

    saved = {name: logging.getLogger(name).level for name in SQL_LOGGERS}
    try:
        quiet_sql(LoggingConfig())
        for name in SQL_LOGGERS:
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), (level, name)
        quiet_sql(LoggingConfig(sql_echo=True))
        assert logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)
    finally:
        for name, value in saved.items():
            logging.getLogger(name).setLevel(value)


_segment = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=4, max_size=40)


@settings(max_examples=60, deadline=None)
@given(value=_segment, query_value=_segment)
def test_no_client_chosen_byte_reaches_a_request_line(value: str, query_value: str) -> None:
    """Whatever path segment and query value a client sends to a route (any Unicode, control
    characters, percent signs), the access and 500 lines hold neither: only pseudonyms."""
    from urllib.parse import quote

    from yarl import URL

    from sidecar.api.log_lines import request_line

    lines: list[str] = []
    redactor = Redactor()

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({})

    @web.middleware
    async def log_line(request: web.Request, handler: Any) -> web.StreamResponse:
        lines.append(request_line(request, redactor.pseudonym))
        return await handler(request)

    async def run() -> None:
        app = web.Application(middlewares=[log_line])
        app.router.add_get("/v1/usage/{scope}/{id}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = URL(
            f"http://127.0.0.1:{port}/v1/usage/tenant/{quote(value, safe='')}"
            f"?model={quote(query_value, safe='')}",
            encoded=True,
        )
        try:
            async with aiohttp.ClientSession() as http, http.get(url) as r:
                assert r.status in (200, 404)
        finally:
            await runner.cleanup()

    import asyncio

    asyncio.run(run())
    pseudonym = redactor.pseudonym
    [line] = lines
    query = f"?model={pseudonym(query_value)}"
    matched = f"GET /v1/usage/tenant/{pseudonym(value)}{query}"
    assert line == matched or re.fullmatch(
        r"GET /<unmatched:\[ID:[0-9a-f]{12}\]>" + re.escape(query), line
    ), (value, line)
