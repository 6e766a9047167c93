"""The floor: a bare aiohttp endpoint that only parses the JSON body and answers.

Used as the same-run baseline for ingest and admit: whatever the sidecar does beyond parsing
shows up as the gap to this server, measured with the same client. With ``--pg DSN`` each
request also runs one prepared ``SELECT 1`` on PostgreSQL (asyncpg pool, statement cache):
the floor of anything that needs one round trip to the database per request. asyncpg's pool
also sends its reset query when a connection is released, a second round trip per request;
``--pg DSN --no-reset`` leaves it out (one round trip).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import msgspec
from aiohttp import web

_decode = msgspec.json.decode


POOL = web.AppKey("pool", object)


async def handle(request: web.Request) -> web.Response:
    body = await request.read()
    pool = request.app.get(POOL)
    if pool is not None:
        await pool.fetchval("SELECT 1")  # type: ignore[attr-defined]
    if request.content_type == "application/x-ndjson":
        count = sum(1 for line in body.split(b"\n") if line.strip() and _decode(line))
    else:
        parsed = _decode(body)
        count = len(parsed) if isinstance(parsed, list) else 1
    return web.json_response({"accepted": count, "duplicates": 0}, status=202)


async def _nothing(conn: object) -> None:
    """A pool reset that sends nothing (asyncpg still rolls back an open transaction)."""


def main() -> None:
    port = int(sys.argv[1])
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/{tail:.*}", handle)
    if len(sys.argv) > 3 and sys.argv[2] == "--pg":
        dsn = sys.argv[3].replace("postgresql+asyncpg://", "postgresql://")
        reset = _nothing if "--no-reset" in sys.argv[4:] else None  # None: asyncpg's reset

        async def pool(app: web.Application) -> AsyncIterator[None]:
            import asyncpg

            app[POOL] = await asyncpg.create_pool(dsn, min_size=2, max_size=10, reset=reset)
            yield
            await app[POOL].close()  # type: ignore[attr-defined]

        app.cleanup_ctx.append(pool)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=lambda _m: print("listening on", port, flush=True),
    )


if __name__ == "__main__":
    main()
