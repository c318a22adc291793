"""Fixtures for several gateway processes sharing Redis: a key prefix of their own per test
(cleaned up after), and two real applications on one data dir (the same SQLite file)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis import asyncio as aioredis

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.web import keys
from hotline.web.app import create_app

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"hotline-test-{secrets.token_hex(4)}:"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys_left = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys_left:
            await client.delete(*keys_left)
    finally:
        await client.aclose()


def clustered(
    config: Config, prefix: str, url: str = REDIS_URL, grace: int | None = None, **redis: Any
) -> Config:
    """The config of a gateway joined to the others through Redis (`grace`: the console's
    offline grace, shortened for tests of a counsellor who vanishes)."""
    console = config.console
    if grace is not None:
        console = replace(console, offline_grace_seconds=grace)
    return replace(
        config, redis=replace(config.redis, url=url, key_prefix=prefix, **redis), console=console
    )


Gateways = Callable[..., Awaitable[list[TestClient[Any, Any]]]]


@pytest.fixture
def gateways(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
    config: Config,
    clock: ManualClock,
    redis_prefix: str,
) -> Gateways:
    """Start `n` gateway applications on one data dir, joined through Redis."""

    async def start(
        n: int = 2, url: str = REDIS_URL, grace: int | None = None, **redis: Any
    ) -> list[TestClient[Any, Any]]:
        shared = clustered(config, redis_prefix, url, grace, **redis)
        return [await aiohttp_client(create_app(shared, clock=clock)) for _ in range(n)]

    return start


def app_of(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def settle(*clients: TestClient[Any, Any]) -> None:
    """Wait until every gateway has indexed the contact events it committed."""
    for client in clients:
        index = app_of(client)[keys.QUEUE_INDEX]
        assert index is not None
        await index.settled()
