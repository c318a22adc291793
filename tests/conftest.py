"""Shared fixtures: a real config in a temporary data dir, the real app, real SQLite."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config, load_config
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "default.toml"
PASSWORD = "correct horse battery"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The shipped default config, with its data dir in a fresh temporary folder."""
    return load_config(DEFAULT_CONFIG, environ={"HOTLINE_DATA_DIR": str(tmp_path / "var")})


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
