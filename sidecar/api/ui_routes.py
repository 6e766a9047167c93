"""The built-in console: ``GET /`` and ``GET /ui`` redirect to ``/ui/``, which serves it.

The files come from :mod:`sidecar.ui`, read into memory on the first request (no file system
path is ever built from a URL). ``index.html`` is revalidated on every load (``no-cache`` with
an ETag); assets under the current build id are cached for a year (``immutable``); all are sent
gzipped to clients that accept it. The page carries a strict Content-Security-Policy (only its
own scripts, styles and API; no inline script, no framing). These routes need no token: the
page holds no data, and every figure it shows comes from the ``/v1`` API with the user's token.
"""

from __future__ import annotations

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.ui import Asset, Bundle, load_bundle

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REVALIDATE = "no-cache"
FOREVER = "public, max-age=31536000, immutable"


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower()
            return not (
                quality.startswith("q=") and quality[2:].strip() in ("0", "0.0", "0.00", "0.000")
            )
    return False


def _serve(request: web.Request, asset: Asset, cache: str) -> web.Response:
    headers = {
        "Cache-Control": cache,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if asset.content_type.startswith("text/html"):
        headers.update(
            {
                "Content-Security-Policy": CSP,
                "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY",
            }
        )
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(request.headers.get("Accept-Encoding", "")):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = asset.content_type
    return web.Response(body=body, headers=headers)


def routes() -> list[web.RouteDef]:
    loaded: list[Bundle] = []

    def bundle() -> Bundle:
        if not loaded:
            loaded.append(load_bundle())
        return loaded[0]

    async def to_console(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/ui/")

    async def index(request: web.Request) -> web.Response:
        return _serve(request, bundle().index, REVALIDATE)

    async def asset(request: web.Request) -> web.Response:
        files = bundle()
        path = request.match_info["path"]
        build, _, rest = path.partition("/")
        if build == files.build and rest in files.assets:
            return _serve(request, files.assets[rest], FOREVER)
        if path in files.assets:  # a page of an earlier build, or a direct link
            return _serve(request, files.assets[path], REVALIDATE)
        if build != files.build and rest in files.assets:
            return _serve(request, files.assets[rest], REVALIDATE)
        raise ApiError(404, "not_found", "no such console file")

    return [
        web.get("/", to_console),
        web.get("/ui", to_console),
        web.get("/ui/", index),
        web.get("/ui/{path:.+}", asset),
    ]
