"""Retention by age per event type: exactly the old events of configured types go, others stay;
with an archive directory they go to a restorable file first; the app runs it in the background."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from sidecar.config import ConfigError, load_settings
from sidecar.store import (
    EventFilter,
    StoreConfig,
    aggregate,
    event_row,
)
from sidecar.store.archive import restore_events
from sidecar.store.config import RetentionConfig
from sidecar.store.event_store import open_event_store
from sidecar.store.retention import DAY_S, Retention
from tests.conftest import make_settings, start_sidecar
from tests.ops.test_archive import CUTOFF, sample_events

NOW = CUTOFF + 10 * DAY_S


async def counts(engine: object, until: float | None = None) -> dict[str, int]:
    result = await aggregate(engine, EventFilter(until=until), ["type"])  # type: ignore[arg-type]
    return {g["type"]: g["count"] for g in result["groups"]}


async def test_only_old_events_of_configured_types_are_deleted(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    store = open_event_store(db_url, StoreConfig())
    async with store:
        await store.writer.write([event_row(e) for e in sample_events()])
    engine = store.engine  # disposed by the block; it reconnects on use
    try:
        assert await counts(engine) == {"llm_call": 100, "tool_call": 100, "run": 100}
        config = RetentionConfig(max_age_days={"tool_call": 10.0, "run": 30.0}, batch_rows=7)
        retention = Retention(engine, config, clock=lambda: NOW)
        assert await retention.run_once() == {"run": 0, "tool_call": 42}
        assert await counts(engine) == {"llm_call": 100, "tool_call": 58, "run": 100}
        assert await counts(engine, until=CUTOFF) == {"llm_call": 42, "run": 41}
        assert await retention.run_once() == {"run": 0, "tool_call": 0}
        assert retention.stats.passes == 2 and retention.stats.deleted["tool_call"] == 42

        archiving = Retention(
            engine,
            RetentionConfig(max_age_days={"llm_call": 10.0}, archive_dir=str(tmp_path / "arch")),
            clock=lambda: NOW,
        )
        assert await archiving.run_once() == {"llm_call": 42}
        files = list((tmp_path / "arch").iterdir())
        assert len(files) == 1 and files[0].name.endswith(".jsonl.gz")
        assert await counts(engine, until=CUTOFF) == {"run": 41}
        assert (await restore_events(engine, files[0])).restored == 42
        assert await counts(engine, until=CUTOFF) == {"llm_call": 42, "run": 41}
    finally:
        await engine.dispose()


async def test_the_app_runs_retention_at_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with open_event_store(settings.db_url, StoreConfig()) as store:
        await store.writer.write([event_row(e) for e in sample_events()])  # all from 1970: old
    settings = make_settings(tmp_path, store={"retention": {"max_age_days": {"run": 1}}})
    running, runner = await start_sidecar(settings)
    try:
        retention = running.parts.retention
        assert isinstance(retention, Retention)
        task = retention._task
        assert task is not None
        deadline = time.monotonic() + 20
        while retention.stats.passes == 0 and not task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # polling the first pass's completion, with a deadline
        assert retention.stats.deleted == {"run": 100}
        assert await counts(running.parts.engine) == {"llm_call": 100, "tool_call": 100}
    finally:
        await runner.cleanup()
    assert retention._task is None


def test_config_is_checked() -> None:
    assert not RetentionConfig().active  # default: nothing is ever deleted
    with pytest.raises(msgspec.ValidationError, match="unknown event type 'llm'"):
        msgspec.convert({"max_age_days": {"llm": 3}}, RetentionConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"max_age_days": {"run": 0}}, RetentionConfig)
    env = {"SIDECAR_STORE__RETENTION__MAX_AGE_DAYS": "{llm_call: 30, run: 7.5}"}
    settings = load_settings(env=env)
    assert settings.store.retention.max_age_days == {"llm_call": 30, "run": 7.5}
    with pytest.raises(ConfigError, match=r"store\.retention\.keep"):
        load_settings(env={"SIDECAR_STORE__RETENTION__KEEP": "1"})
