"""Dispatch fixtures: a desk on a real SQLite file, driven by a manual clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch.config import DispatchConfig, load_dispatch_config
from dispatch.desk import DispatchDesk
from dispatch.paging import PageGateway
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.crypto import FieldCipher
from hotline.store.database import Database


@pytest.fixture
def dispatch_config(config: Config) -> DispatchConfig:
    return load_dispatch_config(config)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


class DeskFactory:
    """Opens desks on one database file, as a process (re)start would."""

    def __init__(
        self,
        path: Path,
        clock: ManualClock,
        cipher: FieldCipher,
        config: Config,
        dispatch_config: DispatchConfig,
    ) -> None:
        self.path = path
        self.clock = clock
        self.cipher = cipher
        self.config = config
        self.dispatch_config = dispatch_config
        self.open: list[Database] = []

    async def __call__(self, gateway: PageGateway | None = None) -> DispatchDesk:
        db = await Database.open(self.path, self.clock)
        self.open.append(db)
        desk = DispatchDesk(db, self.cipher, self.config, self.dispatch_config, gateway)
        await desk.start()
        return desk

    async def close(self) -> None:
        for db in self.open:
            await db.close()
        self.open.clear()


@pytest.fixture
async def desks(
    tmp_path: Path,
    clock: ManualClock,
    cipher: FieldCipher,
    config: Config,
    dispatch_config: DispatchConfig,
) -> AsyncIterator[DeskFactory]:
    factory = DeskFactory(tmp_path / "dispatch.sqlite3", clock, cipher, config, dispatch_config)
    yield factory
    await factory.close()


@pytest.fixture
async def desk(desks: DeskFactory) -> DispatchDesk:
    return await desks()
