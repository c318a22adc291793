"""Fixtures of the store's own tests: the store of this pass, and both engines side by side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.store.database import Database
from hotline.store.engine import open_database
from hotline.store.postgres import PostgresDatabase
from tests.conftest import store_engine
from tests.store.harness import PostgresStores, open_real_sqlite

NEEDS_POSTGRES = "needs PostgreSQL: runs in the PostgreSQL pass (--store=postgresql)"


@pytest.fixture
async def store(config: Config, clock: ManualClock) -> AsyncIterator[Database]:
    """The store this pass tests, opened as the application opens it (from the config)."""
    db = await open_database(config, clock)
    yield db
    await db.close()


@pytest.fixture
async def sqlite_db(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Database]:
    """A real SQLite store, in either pass."""
    db = await open_real_sqlite(tmp_path / "parity.sqlite3", clock)
    yield db
    await db.close()


@pytest.fixture
def postgres_stores_or_skip(request: pytest.FixtureRequest) -> PostgresStores:
    """The PostgreSQL pass's throwaway databases; the SQLite pass skips the test."""
    if store_engine(request.config) != "postgresql":
        pytest.skip(NEEDS_POSTGRES)
    stores: PostgresStores = request.getfixturevalue("postgres_stores")
    return stores


@pytest.fixture
async def postgres_db(
    postgres_stores_or_skip: PostgresStores, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Database]:
    """A real PostgreSQL store, migrated from nothing (PostgreSQL pass only)."""
    db = await PostgresDatabase.open_url(postgres_stores_or_skip.empty_url(), clock)
    yield db
    await db.close()
