"""End-to-end privacy acceptance: a canary of every type in every field never leaves ingest.

A unique canary of each redaction type (valid checksums, fresh per run) is planted in every
free-text and identifier field of llm_call, tool_call and run events, sent as JSON, NDJSON and
OTLP spans to a real ``agent-sidecar serve`` child process (DEBUG logs, span export to a real
OTLP receiver that refuses the first request with 503 so the exporter retries). Then the raw
bytes of the SQLite files, every row of every table, every OTLP body received (refused ones
too), the process's whole log output, every HTTP answer (/v1/events, /v1/aggregate, /v1/stats,
/metrics, the error answers to bad bodies carrying canaries, another user's cache lookups) are
searched for every canary. Markers planted beside each canary must be present where the field
is kept, so the test fails if a field is simply dropped. The same with PostgreSQL.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import SidecarProcess, make_settings, start_sidecar
from tests.traces.receivers import HttpOtlpReceiver

from .canaries import Canary, find_leaks, make_canaries
from .drive import Seen, exercise_cache, read_back, send_bad_bodies, send_planted
from .plant import IDENTIFIERS, Planter
from .stores import postgres_rows, sqlite_files, sqlite_rows

MAX_BODY = 65_536
QUEUE_MAX = 150  # a bigger batch is answered 503 (overloaded) after redaction ran on it


def _config(tmp_path: Path, capture: bool, receiver: HttpOtlpReceiver) -> Path:
    path = tmp_path / "sidecar.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "capture_content": capture,
                "log_level": "DEBUG",
                "max_body_bytes": MAX_BODY,
                "store": {"queue_max_events": QUEUE_MAX},
                "traces": {
                    "enabled": True,
                    "protocol": "http/protobuf",
                    "endpoint": receiver.endpoint,
                    "schedule_delay_ms": 50,
                    "timeout_s": 20,
                },
                "cache": {"namespaces": {"faq": {"shared_across_users": True}}},
            }
        )
    )
    return path


def _assert_clean(where: str, data: bytes | str, canaries: list[Canary]) -> None:
    leaks = find_leaks(data, canaries)
    assert not leaks, f"canaries reached {where}: {leaks}"


def _assert_fields_kept(stored: str, planter: Planter, capture: bool) -> None:
    """The markers prove each field was stored (so absence of canaries means something)."""
    missing = [m for m in planter.kept_markers if m not in stored]
    assert not missing, f"error_message/attribute markers not stored: {missing[:5]}"
    content = [m for m in planter.content_markers if m in stored]
    if capture:
        assert len(content) == len(planter.content_markers), "content markers not stored"
    else:
        assert not content, f"content kept with capture_content off: {content[:5]}"


def _assert_pseudonymised(events: list[dict[str, Any]], expected: int) -> None:
    assert len(events) == expected
    for event in events:
        names: tuple[str, ...] = ("user_id", "session_id", "agent", "error_type")
        if not event["id"].startswith("otlp-"):
            names = IDENTIFIERS[event["type"]]
        for name in names:
            assert str(event[name]).startswith("[ID:"), (name, event[name])


async def _drive(
    url: str,
    canaries: list[Canary],
    cache_canaries: list[Canary],
    planter: Planter,
    overload: int | None = None,
) -> tuple[Seen, int]:
    seen = Seen()
    async with aiohttp.ClientSession() as http:
        stored = await send_planted(http, url, canaries, planter, seen)
        await send_bad_bodies(
            http, url, canaries, Planter(), seen, oversize=MAX_BODY, overload=overload
        )
        await exercise_cache(http, url, cache_canaries, seen)
        await read_back(http, url, seen)
    return seen, stored


@pytest.mark.parametrize("capture", [True, False], ids=["capture_on", "capture_off"])
async def test_no_canary_reaches_store_spans_logs_or_answers(
    tmp_path: Path, capture: bool, http_receiver: HttpOtlpReceiver
) -> None:
    canaries, cache_canaries = make_canaries(), make_canaries()
    planter = Planter()
    http_receiver.fail_next = 1
    db = tmp_path / "sidecar.db"
    process = SidecarProcess(
        f"sqlite+aiosqlite:///{db}",
        env={"SIDECAR_CONFIG": str(_config(tmp_path, capture, http_receiver))},
    )
    process.start()
    try:
        seen, stored = await _drive(
            process.url, canaries, cache_canaries, planter, overload=QUEUE_MAX
        )
        http_receiver.wait_for(lambda spans: len(spans) >= stored, timeout=30)
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.send_signal(signal.SIGTERM)
            process.proc.wait(15)
        process.stop()
    everything = canaries + cache_canaries

    assert http_receiver.refused_bodies, "the receiver never refused a request"
    for body in http_receiver.refused_bodies + http_receiver.raw_bodies:
        _assert_clean("an OTLP payload", body, everything)
    exported = b"".join(http_receiver.raw_bodies).decode("utf-8", "replace")
    content_exported = [m for m in planter.content_markers if m in exported]
    assert len(content_exported) == (len(planter.content_markers) if capture else 0)

    assert "DEBUG" in process.log and "listening on" in process.log, process.log[:2000]
    _assert_clean("the log output", process.log, everything)
    _assert_clean("an HTTP answer", seen.text, everything)
    _assert_pseudonymised(seen.events, stored)

    rows = sqlite_rows(db)
    _assert_clean("the SQLite rows", rows, canaries)
    _assert_clean("the SQLite files", sqlite_files(db), canaries)
    _assert_fields_kept(rows, planter, capture)


async def test_no_canary_reaches_postgresql(tmp_path: Path, pg_url: str) -> None:
    canaries, cache_canaries = make_canaries(), make_canaries()
    planter = Planter()
    settings = make_settings(
        tmp_path,
        db_url=pg_url,
        capture_content=True,
        max_body_bytes=MAX_BODY,
        cache={"namespaces": {"faq": {"shared_across_users": True}}},
    )
    running, runner = await start_sidecar(settings)
    try:
        seen, stored = await _drive(running.url, canaries, cache_canaries, planter)
    finally:
        await runner.cleanup()
    _assert_clean("an HTTP answer", seen.text, canaries + cache_canaries)
    _assert_pseudonymised(seen.events, stored)
    rows = await postgres_rows(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    assert "budget" in rows or "events" in rows
    _assert_clean("the PostgreSQL tables", rows, canaries + cache_canaries)
    _assert_fields_kept(rows, planter, capture=True)
