"""The floor: a bare aiohttp endpoint that only parses the JSON body and answers.

Used as the same-run baseline for ingest and admit: whatever the sidecar does beyond parsing
shows up as the gap to this server, measured with the same client.
"""

from __future__ import annotations

import sys

import msgspec
from aiohttp import web

_decode = msgspec.json.decode


async def handle(request: web.Request) -> web.Response:
    body = await request.read()
    if request.content_type == "application/x-ndjson":
        count = sum(1 for line in body.split(b"\n") if line.strip() and _decode(line))
    else:
        parsed = _decode(body)
        count = len(parsed) if isinstance(parsed, list) else 1
    return web.json_response({"accepted": count, "duplicates": 0}, status=202)


def main() -> None:
    port = int(sys.argv[1])
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None,
                print=lambda _m: print("listening on", port, flush=True))


if __name__ == "__main__":
    main()
