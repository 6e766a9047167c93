"""The short form of ``make soak`` (tests/hardening/soak.py): a few seconds of 4 agents on
SQLite and on PostgreSQL. No errors, nothing lost or duplicated, the global budget grants
exactly its cap, and RSS stays flat after warm-up (within 64 MB)."""

from __future__ import annotations

from pathlib import Path

from tests.hardening.soak import BUDGET_ADMITS, TOKENS_PER_ADMIT, SoakResult, soak

SECONDS = 8.0


def check(result: SoakResult) -> None:
    report = result.report
    assert report.server_errors() == 0 and report.transport_errors == 0, result.markdown()
    statuses = {status for (_, status) in report.statuses}
    assert statuses <= {200, 202, 429}, result.markdown()
    assert len(report.acked) > 0 and result.lost_or_duplicated == 0, result.markdown()
    assert result.stored == len(report.acked), result.markdown()
    assert result.granted == BUDGET_ADMITS, result.markdown()
    assert result.reserved_tokens == BUDGET_ADMITS * TOKENS_PER_ADMIT, result.markdown()
    assert result.memory_growth_mb() < 64, result.markdown()


async def test_soak_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'soak.db'}"
    check(await soak(url, url, seconds=SECONDS, clients=4, backend="SQLite"))


async def test_soak_postgres(pg_url: str) -> None:
    check(await soak(pg_url, pg_url, seconds=SECONDS, clients=4, backend="PostgreSQL"))
