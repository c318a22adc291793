"""Shared fixtures: a real config in a temporary data dir, the real app, real SQLite."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.clock import Clock, ManualClock
from hotline.config import Config, load_config
from hotline.events import EventBus
from hotline.store.database import Database
from hotline.store.postgres import PostgresDatabase
from hotline.store.sqlite import SqliteDatabase
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from tests.store.harness import TEST_ENVIRONMENT, PostgresServer, PostgresStores, server_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "default.toml"
PASSWORD = "correct horse battery"


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """The shipped default config, with its data dir in a fresh temporary folder (and, in
    the PostgreSQL pass, a throwaway PostgreSQL database as its store)."""
    loaded = load_config(DEFAULT_CONFIG, environ={"HOTLINE_DATA_DIR": str(tmp_path / "var")})
    if store_engine(request.config) == "postgresql":
        stores: PostgresStores = request.getfixturevalue("postgres_stores")
        configured = stores.config_for(loaded)
        # The CLI, run by a test in-process or as a subprocess, reads the same database.
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("HOTLINE_DATABASE__ENGINE", "postgresql")
        monkeypatch.setenv("HOTLINE_DATABASE__URL", configured.database.url)
        return configured
    return loaded


@pytest.fixture
def clock() -> ManualClock:
    """A clock tests move by hand."""
    return ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))


@pytest.fixture
def app(config: Config, clock: ManualClock) -> web.Application:
    """The real application, built by the real factory."""
    return create_app(config, clock=clock)


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
    app: web.Application,
) -> TestClient[Any, Any]:
    """A client of the real app served on a real local port."""
    return await aiohttp_client(app)


class Staff:
    """A logged-in staff member's own client (own cookie jar) and CSRF token."""

    def __init__(self, client: TestClient[Any, Any], user_id: int, csrf: str) -> None:
        self.client = client
        self.user_id = user_id
        self.csrf = csrf

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.client.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})

    async def get(self, path: str) -> Any:
        return await self.client.get(path)


StaffFactory = Callable[..., Awaitable[Staff]]


async def submit_login(
    client: TestClient[Any, Any], username: str, password: str = PASSWORD, **extra: str
) -> Any:
    """Fetch the login form (for its CSRF token and cookie) and submit it; no redirect."""
    form = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
    assert csrf, "login form has no CSRF token"
    data = {"username": username, "password": password, "csrf_token": csrf.group(1), **extra}
    return await client.post("/login", data=data, allow_redirects=False)


async def console_csrf(client: TestClient[Any, Any]) -> str:
    """The CSRF token the console page gives a logged-in client."""
    page = await client.get("/console")
    token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert token, "the console page has no CSRF token"
    return token.group(1)


def login_factory(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    client: TestClient[Any, Any],
) -> StaffFactory:
    """Make staff accounts on `client`'s app and log each in through the real form."""
    app = client.server.app
    assert app is not None

    async def make(username: str, role: Role = Role.COUNSELLOR, *, available: bool = True) -> Staff:
        user = await app[keys.USERS].add(username, f"{username} 老师", role, PASSWORD)
        own = await aiohttp_client(client.server)
        response = await submit_login(own, username)
        assert response.status == 303, await response.text()
        page = await own.get("/console")
        token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
        staff = Staff(own, user.id, token.group(1) if token else "")
        if available and role in (Role.COUNSELLOR, Role.SUPERVISOR):
            presence = await staff.post("/console/api/presence", {"status": "available"})
            assert presence.status == 200
        return staff

    return make


@pytest.fixture
def login(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    client: TestClient[Any, Any],
) -> StaffFactory:
    """Create a staff account and log it in through the real form, in a client of its own."""
    return login_factory(aiohttp_client, client)


def with_data_dir(config: Config, data_dir: Path) -> Config:
    """The same config pointing at another data dir."""
    return replace(config, data_dir=data_dir)


# -- the PostgreSQL pass (docs/storage.md) ---------------------------------------------------
# `pytest --store=postgresql` (or HOTLINE_TEST_STORE=postgresql) runs the tests on throwaway
# PostgreSQL databases instead of SQLite files: the `config` fixture names one, and every
# SQLite file a test opens by path (`Database.open(tmp_path / ...)`) is a database of its
# own (tests/store/harness.py). `-m store_repository` selects the repository-level tests,
# the ones that pass on both engines; scripts/test runs them on PostgreSQL too.

# Repository-level test files and folders: the store's behaviour seen through its callers.
STORE_REPOSITORY_TESTS = (
    "tests/store/",
    "tests/test_contacts.py",
    "tests/test_queue.py",
    "tests/test_intake.py",
    "tests/test_restart.py",
    "tests/test_audit.py",
    "tests/test_retention.py",
    "tests/dispatch/",
    "tests/followups/",
    "tests/incidents/",
    "tests/stats/",
    "tests/cluster/",
)

# Tests about SQLite's own files (the WAL, the bytes on disk, a second raw sqlite3 connection
# tampering behind the application's back): they say nothing about PostgreSQL and are
# skipped in its pass. tests/store/ covers the PostgreSQL side of the same promises.
SQLITE_FILE_TESTS: dict[str, str] = {
    "tests/test_audit.py::test_tampering_with_the_file_is_found": (
        "edits the file through a raw sqlite3 connection"
    ),
    "tests/test_audit.py::test_the_verify_command_exits_non_zero_on_tampering": (
        "runs the CLI with an environment of its own and edits the file through sqlite3"
    ),
    "tests/test_retention.py::test_purged_bytes_are_gone_from_the_database_file_and_its_wal": (
        "reads the bytes of the SQLite file and its WAL"
    ),
    "tests/followups/test_service.py::test_numbers_names_and_notes_are_never_stored_in_clear": (
        "reads the bytes of the SQLite file and its WAL"
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("sqlite", "postgresql"),
        default=None,
        help="the store the tests use (default: $HOTLINE_TEST_STORE or sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Read once and removed: the hotline's config refuses HOTLINE_* variables that are not
    # config keys, and the tests run its CLI (in-process and as subprocesses).
    for name in ("HOTLINE_TEST_STORE", "HOTLINE_TEST_POSTGRES_URL"):
        if name in os.environ:
            TEST_ENVIRONMENT[name] = os.environ.pop(name)
    config.addinivalue_line(
        "markers", "store_repository: repository-level test, run on SQLite and PostgreSQL"
    )
    config.addinivalue_line(
        "markers", "sqlite_only: about SQLite's own files; skipped in the PostgreSQL pass"
    )


def store_engine(config: pytest.Config) -> str:
    """The engine this run's stores use."""
    chosen = config.getoption("--store") or TEST_ENVIRONMENT.get("HOTLINE_TEST_STORE")
    return str(chosen or "sqlite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    postgres = store_engine(config) == "postgresql"
    for item in items:
        if _is_store_repository_test(Path(str(item.path))):
            item.add_marker(pytest.mark.store_repository)
        test = item.nodeid.split("[", 1)[0]
        reason = SQLITE_FILE_TESTS.get(test)
        if reason is not None:
            item.add_marker(pytest.mark.sqlite_only)
            if postgres:
                item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


def _is_store_repository_test(path: Path) -> bool:
    where = path.resolve().relative_to(ROOT).as_posix()
    return any(
        where == listed or (listed.endswith("/") and where.startswith(listed))
        for listed in STORE_REPOSITORY_TESTS
    )


@pytest.fixture(scope="session")
def postgres_server(pytestconfig: pytest.Config) -> Iterator[PostgresServer]:
    """The PostgreSQL test server with a migrated template database (PostgreSQL pass)."""
    server = PostgresServer(server_url())
    try:
        server.start()
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.exit(
            f"--store=postgresql: no PostgreSQL answers at {server_url()} ({exc});"
            " run the tests under scripts/postgres-for-tests, or set HOTLINE_TEST_POSTGRES_URL",
            returncode=3,
        )
    yield server
    server.stop()


@pytest.fixture
def postgres_stores(postgres_server: PostgresServer) -> Iterator[PostgresStores]:
    """This test's throwaway databases, one per SQLite path it opens; dropped after it."""
    stores = PostgresStores(postgres_server)
    yield stores
    stores.drop_all()


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


@pytest.fixture
async def _postgres_cleanup(postgres_stores: PostgresStores) -> AsyncIterator[None]:
    """Closes, on the test's loop, the stores a failing test left open."""
    yield
    await postgres_stores.terminate_open()


@pytest.fixture(autouse=True)
def _store_on_postgres(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the PostgreSQL pass, opening a SQLite file opens its stand-in database instead."""
    if store_engine(request.config) != "postgresql":
        return
    stores: PostgresStores = request.getfixturevalue("postgres_stores")
    request.getfixturevalue("_postgres_cleanup")
    open_url = PostgresDatabase.open_url

    async def open_tracked(
        cls: type[PostgresDatabase], url: str, clock: Clock, bus: EventBus | None = None
    ) -> Database:
        await stores.make(url)
        db = await open_url(url, clock, bus)
        assert isinstance(db, PostgresDatabase)
        stores.opened.append(db)
        return db

    async def open_stand_in(
        cls: type[SqliteDatabase], path: Path, clock: Clock, bus: EventBus | None = None
    ) -> Database:
        db = await PostgresDatabase.open_url(stores.url_for(path), clock, bus)
        # An empty file where the SQLite file would be, so code that asks whether the store
        # exists yet (the data key's first-start rule, `hotline stats`) sees what it would.
        await asyncio.to_thread(_touch, path)
        return db

    monkeypatch.setattr(PostgresDatabase, "open_url", classmethod(open_tracked))
    monkeypatch.setattr(SqliteDatabase, "open_file", classmethod(open_stand_in))
