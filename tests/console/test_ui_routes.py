"""The console's static routes over real HTTP: ``/`` and ``/ui`` redirect, ``/ui/`` and its files.

Paths covered: redirects, the page and every file it loads (ES module imports followed), the
caching headers (ETag, 304, ``no-cache`` for the page, ``immutable`` under the build id), gzip,
the Content-Security-Policy, 404 for unknown files, paths that try to climb out, tokens (the
files need none; the API still does), and the wheel: every console file is packaged and none
names an address outside the sidecar.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from sidecar.ui import load_bundle
from tests.conftest import REPO, RunningSidecar
from tests.hardening.tenants import ADMIN, tenant_sidecar

UI = REPO / "sidecar" / "ui"
IMPORT = re.compile(r'^import .* from "(\./[^"]+|\.\./[^"]+)";$', re.MULTILINE)


async def test_root_and_ui_redirect_to_the_console(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    for path in ("/", "/ui"):
        async with http.get(sidecar.url + path, allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/ui/"
    async with http.get(sidecar.url + "/") as response:
        assert response.status == 200 and response.url.path == "/ui/"


async def test_page_headers_cache_and_compression(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    async with http.get(
        sidecar.url + "/ui/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Cache-Control"] == "no-cache"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        etag = response.headers["ETag"]
        html = gzip.decompress(await response.read()).decode()
    async with http.get(sidecar.url + "/ui/", headers={"If-None-Match": etag}) as response:
        assert response.status == 304 and not await response.read()
    async with http.get(
        sidecar.url + "/ui/", headers={"Accept-Encoding": "identity"}, auto_decompress=False
    ) as response:
        assert "Content-Encoding" not in response.headers
        assert (await response.text()) == html
    assert "{{build}}" not in html and "<script>" not in html  # no inline script (CSP)


async def test_every_file_the_page_loads_is_served_and_cached_for_good(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    async with http.get(sidecar.url + "/ui/") as response:
        html = await response.text()
    page = URL(sidecar.url + "/ui/")
    pending = [page.join(URL(ref)) for ref in re.findall(r'(?:href|src)="(\./[^"]+)"', html)]
    build = load_bundle().build
    assert all(url.path.startswith(f"/ui/{build}/") for url in pending)
    seen: set[URL] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        async with http.get(url) as response:
            assert response.status == 200, url
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            body = await response.text()
        if url.path.endswith(".js"):
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
            pending.extend(url.join(URL(ref)) for ref in IMPORT.findall(body))
    assert len(seen) >= 14  # the page's CSS and icon, the shell, helpers and seven views
    async with http.get(f"{sidecar.url}/ui/js/app.js") as response:  # without the build id
        assert response.status == 200 and response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nope.js",
        "/ui/../v1/events",
        "/ui/%2e%2e/v1/events",
        "/ui/js/../../v1/events",
        "/ui/%2F%2Fevil.example/x.js",
        "/ui/__init__.py",
        "/ui/js/%00.js",
    ],
)
async def test_unknown_or_climbing_paths_serve_nothing(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    path: str,
) -> None:
    async with tenant_sidecar(tmp_path) as sc:
        async with http.get(sc.url + path, allow_redirects=False) as response:
            body = await response.read()
            assert response.status in (401, 404), (path, response.status)
            assert b'"events"' not in body


async def test_files_need_no_token_but_the_api_still_does(
    tmp_path: Path,
    http: aiohttp.ClientSession,
) -> None:
    async with tenant_sidecar(tmp_path) as sc:
        async with http.get(sc.url + "/ui/") as response:
            assert response.status == 200
        for path in (
            "/v1/runs",
            "/v1/summary",
            "/v1/series",
            "/v1/budgets/denials",
            "/v1/stats/distribution",
            "/v1/aggregate",
        ):
            async with http.get(sc.url + path) as response:
                assert response.status == 401, path
            async with http.get(
                sc.url + path, headers={"Authorization": f"Bearer {ADMIN}"}
            ) as response:
                assert response.status == 200, path


def test_bundle_is_small_self_contained_and_names_no_outside_address() -> None:
    bundle = load_bundle()
    sent = sum(len(a.gzipped or a.body) for a in [bundle.index, *bundle.assets.values()])
    assert sent < 120_000, sent
    for asset_path in UI.rglob("*"):
        if asset_path.suffix in (".js", ".css", ".html", ".svg"):
            text = asset_path.read_text()
            assert "https://" not in text, asset_path
            assert set(re.findall(r"http://[^\s\"')]+", text)) <= {"http://www.w3.org/2000/svg"}
            assert "innerHTML" not in text and "eval(" not in text, asset_path


def test_the_wheel_carries_every_console_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    [wheel] = tmp_path.glob("agent_sidecar-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        f"sidecar/ui/{p.relative_to(UI)}"
        for p in UI.rglob("*")
        if p.is_file() and p.suffix in (".js", ".css", ".html", ".svg")
    }
    assert wanted and wanted <= packaged, wanted - packaged
