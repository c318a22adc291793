"""The deploy tests choose their engine themselves: the SQLite tests are about the SQLite file
deploy/backup copies, the PostgreSQL tests make throwaway databases of their own. So in the
suite's PostgreSQL pass (`--store=postgresql`) they stay as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import Config, load_config
from tests.conftest import DEFAULT_CONFIG


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The shipped default config on the embedded store, data dir in a fresh folder."""
    return load_config(DEFAULT_CONFIG, environ={"HOTLINE_DATA_DIR": str(tmp_path / "var")})


@pytest.fixture(autouse=True)
def _store_on_postgres() -> None:
    """Opening a SQLite file opens that file here, whichever pass the suite runs."""
