"""The console's API tests run on both stores: SQLite (a file) and PostgreSQL (a fresh db)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None: the test's own SQLite file; else a fresh PostgreSQL database's URL."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return None
