"""Fixtures for several gateway processes sharing Redis: a key prefix of their own per test
(cleaned up after), and two real applications on one data dir (the same SQLite file); and a
throwaway redis-server of a test's own, to kill and restart."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, what: str) -> None:
    """Return once something listens on the local port; fail the test after 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not start")


class ThrowawayRedis:
    """A redis-server of this test's own on a free port, to stop and start at will."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.extra = extra  # more redis-server arguments (e.g. --replicaof host port)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, "the throwaway redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()
