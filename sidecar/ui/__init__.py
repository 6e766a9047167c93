"""The console's static files: HTML, CSS and plain ES modules, packaged with the sidecar.

:func:`load_bundle` reads them once into memory with a gzip copy of each and a content-hash
build id; ``index.html`` names its assets under that id (``/ui/<build>/js/app.js``), so they
can be cached for good while an upgrade is seen at the next page load. Nothing is fetched from
anywhere else and nothing is built at run time.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
INDEX = "index.html"
BUILD_MARK = "{{build}}"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None  # None when compression does not pay
    content_type: str
    etag: str


@dataclass(frozen=True)
class Bundle:
    build: str
    index: Asset
    assets: dict[str, Asset]  # relative path (``js/app.js``) → asset


def _asset(path: str, body: bytes) -> Asset:
    suffix = path[path.rfind(".") :]
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(
        body, packed if len(packed) < len(body) * 0.9 else None, CONTENT_TYPES[suffix], etag
    )


def _files() -> dict[str, bytes]:
    root = resources.files(__name__)
    out: dict[str, bytes] = {}
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                if not entry.name.startswith(("_", ".")):
                    pending.append((name + "/", entry))
            elif entry.name[entry.name.rfind(".") :] in CONTENT_TYPES:
                out[name] = entry.read_bytes()
    return out


def load_bundle() -> Bundle:
    """Every console file, compressed, with the build id (done once)."""
    files = _files()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    build = digest.hexdigest()[:12]
    index = files.pop(INDEX).replace(BUILD_MARK.encode(), build.encode())
    return Bundle(
        build, _asset(INDEX, index), {name: _asset(name, body) for name, body in files.items()}
    )
