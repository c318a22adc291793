"""Throwaway PostgreSQL databases for the PostgreSQL pass of the test suite.

`pytest --store=postgresql` (or HOTLINE_TEST_STORE=postgresql) runs tests against the
server at HOTLINE_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432, trust auth;
`scripts/postgres-for-tests` starts one when none answers). Once per session a template
database is created with every migration applied; each test then gets fresh databases
copied from it (`CREATE DATABASE ... TEMPLATE`, a few tens of milliseconds), one for each
SQLite path the test opens, all dropped when the test ends.

Mapping paths to databases lets the existing tests, written against files in `tmp_path`,
run unchanged: opening the same path again (a restart) finds the same data, and two data
directories are two stores.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import secrets
import threading
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from hotline.clock import SystemClock
from hotline.config import Config, DatabaseConfig
from hotline.store.database import DB_FILE
from hotline.store.postgres import PostgresDatabase
from hotline.store.sqlite import SqliteDatabase

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The real SQLite opener, taken before the PostgreSQL pass replaces it with stand-ins: the
# schema parity test needs a real SQLite file in that pass too.
open_real_sqlite = SqliteDatabase.open_file
ENGINES = ("sqlite", "postgresql")
T = TypeVar("T")


# HOTLINE_TEST_* variables, taken out of the environment when the session starts (see
# tests/conftest.py: the hotline's config refuses unknown HOTLINE_* variables).
TEST_ENVIRONMENT: dict[str, str] = {}


def server_url() -> str:
    """The admin URL of the test server (a database it may connect to, to create others)."""
    return TEST_ENVIRONMENT.get("HOTLINE_TEST_POSTGRES_URL") or DEFAULT_URL


def with_database(url: str, name: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _drop(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


class PostgresServer:
    """The test server: a template database with the schema, and copies of it.

    Creating a database from the template takes a tenth of a second or more and dropping
    one a little less; a worker thread with its own event loop and a few admin connections
    keeps copies ready ahead of the tests and drops used ones behind them, so the tests
    rarely wait for either.
    """

    READY_AHEAD = 6
    WORKERS = 4

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"hotline_test_{secrets.token_hex(4)}"
        self.template = f"{self.prefix}_template"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="postgres-test-databases", daemon=True
        )
        self._admin: asyncpg.Pool | None = None
        self._ready: collections.deque[concurrent.futures.Future[str]] = collections.deque()
        self._dropping: list[concurrent.futures.Future[None]] = []

    def _submit(self, make: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(make, self._loop)

    async def _execute(self, statement: str) -> None:
        assert self._admin is not None
        await self._admin.execute(statement)

    def start(self) -> None:
        """Connect, create the template database (C collation, like SQLite's BINARY) with
        every migration applied, and start preparing copies."""
        self._thread.start()

        async def create() -> None:
            self._admin = await asyncpg.create_pool(
                self.url, min_size=self.WORKERS, max_size=self.WORKERS
            )
            await self._execute(
                f'CREATE DATABASE "{self.template}" TEMPLATE template0 ENCODING \'UTF8\''
                " LC_COLLATE 'C' LC_CTYPE 'C'"
            )
            db = await PostgresDatabase.open_url(
                with_database(self.url, self.template), SystemClock()
            )
            await db.close()

        try:
            self._submit(create()).result()
        except BaseException:
            self._shut_down()
            raise
        for _ in range(self.READY_AHEAD):
            self._prepare()

    def _prepare(self) -> None:
        async def copy() -> str:
            name = f"{self.prefix}_{secrets.token_hex(6)}"
            await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            return name

        self._ready.append(self._submit(copy()))

    def create(self) -> str:
        """A new database holding the migrated, empty schema; returns its URL."""
        name = self._ready.popleft().result()
        self._prepare()
        return with_database(self.url, name)

    def reserve(self) -> str:
        """The URL of a database made only when `claim` is awaited (many tests take a
        config and never open its store)."""
        return with_database(self.url, f"{self.prefix}_{secrets.token_hex(6)}")

    def create_empty(self) -> str:
        """A new database with no schema at all (for migrating from nothing)."""
        name = f"{self.prefix}_{secrets.token_hex(6)}"
        self._submit(
            self._execute(
                f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''
                " LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        ).result()
        return with_database(self.url, name)

    async def claim(self, url: str) -> None:
        """Make the reserved database: a ready copy, renamed (catalog only, at once)."""
        ready = await asyncio.wrap_future(self._ready.popleft())
        self._prepare()
        name = urlsplit(url).path.lstrip("/")
        await asyncio.wrap_future(
            self._submit(self._execute(f'ALTER DATABASE "{ready}" RENAME TO "{name}"'))
        )

    def drop(self, urls: list[str]) -> None:
        """Drop databases, behind the tests (connections still open to them are ended)."""
        for url in urls:
            name = urlsplit(url).path.lstrip("/")
            self._dropping.append(self._submit(self._execute(_drop(name))))

    def stop(self) -> None:
        """Drop every database made (the ready copies and the template) and disconnect;
        each drop is tried even when another failed."""
        failures: list[BaseException] = []

        def settle(future: concurrent.futures.Future[Any]) -> Any:
            try:
                return future.result()
            except Exception as exc:
                failures.append(exc)
                return None

        try:
            for dropping in self._dropping:
                settle(dropping)
            while self._ready:
                name = settle(self._ready.popleft())
                if name is not None:
                    settle(self._submit(self._execute(_drop(name))))
            if self._admin is not None:
                settle(self._submit(self._execute(_drop(self.template))))
        finally:
            self._shut_down()
        if failures:
            raise failures[0]

    def _shut_down(self) -> None:
        if self._admin is not None:
            self._submit(self._admin.close()).result()
            self._admin = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()


class PostgresStores:
    """The databases of one test: one per SQLite path it opens, made on first use."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.by_path: dict[Path, str] = {}
        self.made: set[str] = set()
        # Every store the test opened, so one a failing test left open is closed before
        # its loop ends (an unclosed connection is a warning, and warnings are errors).
        self.opened: list[PostgresDatabase] = []

    def url_for(self, path: Path) -> str:
        """The database standing in for the SQLite file at `path`."""
        key = path.resolve()
        if key not in self.by_path:
            self.by_path[key] = self.server.reserve()
        return self.by_path[key]

    def empty_url(self) -> str:
        """A database with no schema, dropped after the test like the others."""
        url = self.server.create_empty()
        self.made.add(url)
        return url

    async def make(self, url: str) -> None:
        """Make a database of this test before its first connection."""
        if url in self.by_path.values() and url not in self.made:
            await self.server.claim(url)
            self.made.add(url)

    def config_for(self, config: Config) -> Config:
        """The config using the database that stands in for its data dir's SQLite file."""
        url = self.url_for(config.data_dir / DB_FILE)
        return replace(config, database=DatabaseConfig(engine="postgresql", url=url))

    async def terminate_open(self) -> None:
        """Close at once whatever store the test left open (on the test's own loop)."""
        for db in self.opened:
            db.terminate()
        self.opened.clear()
        for _ in range(3):  # let the aborted transports call connection_lost
            await asyncio.sleep(0)

    def drop_all(self) -> None:
        """Drop every database the test used."""
        self.server.drop(sorted(self.made))
        self.by_path.clear()
        self.made.clear()
