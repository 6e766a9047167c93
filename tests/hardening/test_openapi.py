"""The OpenAPI document matches the registered routes, and a live sidecar honours it.

schemathesis generates valid and invalid requests for every operation (a bounded number per
operation, fixed seed) against a real sidecar process over loopback and checks: no 500, every
status documented, every answer's body and content type as documented, and authentication not
ignored.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from sidecar.api.openapi import build_document
from tests.conftest import RunningSidecar, SidecarProcess

ADMIN = "fuzz-admin-token-1"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "ignored_auth",
    ]
)


def test_document_lists_exactly_the_registered_routes(sidecar: RunningSidecar) -> None:
    registered = {
        (route.method.lower(), route.resource.canonical)
        for route in sidecar.app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "*")
    }
    documented = {
        (method, path)
        for path, operations in build_document()["paths"].items()
        for method in operations
    }
    assert documented == registered


async def test_served_document_is_openapi_3_1(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    async with http.get(sidecar.url + "/openapi.json") as resp:
        assert resp.status == 200
        document = await resp.json()
    assert document["openapi"] == "3.1.0"
    assert document == build_document()
    admit = document["paths"]["/v1/admit"]["post"]
    schema = document["components"]["schemas"]["AdmitBody"]
    assert admit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AdmitBody"
    )
    assert {"request_id", "kind"} <= set(schema["properties"])


def test_schemathesis_finds_no_500_and_no_schema_violation(tmp_path: Path) -> None:
    db = tmp_path / "fuzz.db"
    proc = SidecarProcess(f"sqlite+aiosqlite:///{db}", env={"SIDECAR_API_TOKEN": ADMIN})
    proc.start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                proc.url + "/openapi.json",
                "-H",
                f"Authorization: Bearer {ADMIN}",
                "--checks",
                CHECKS,
                "--max-examples",
                "10",
                "--seed",
                "1",
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=tmp_path,
        )
    finally:
        proc.stop()
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout
    assert "Internal Server Error" not in proc.log and "unhandled error" not in proc.log, proc.log
