"""Redis behind Sentinel: the gateways find the master by asking the sentinels, and follow
a failover without a config change or a restart.

Real servers of the test's own: a master, its replica and a sentinel watching them
(redis-server --sentinel). The master is killed during traffic; the sentinel promotes the
replica; the gateways, given only the sentinel's address, reach the new master, and every
contact that arrived meanwhile is kept and taken once.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis import asyncio as aioredis

from hotline.cluster.address import AddressError, parse_sentinel
from hotline.web import keys
from tests.cluster.conftest import (
    Gateways,
    ThrowawayRedis,
    app_of,
    free_port,
    settle,
    wait_for_port,
)
from tests.cluster.test_cluster import relay_carries, take_each_once, wait_for
from tests.conftest import login_factory

SERVICE = "hotline"


class ThrowawaySentinel:
    """One redis-server in sentinel mode watching the test's master, quick to fail over."""

    def __init__(self, folder: Path, master_port: int) -> None:
        self.port = free_port()
        self.config = folder / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            f"dir {folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n",
            encoding="utf-8",
        )
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [server, str(self.config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, "the throwaway sentinel")

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.port}/{SERVICE}/0"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def sentinel_set(
    tmp_path: Path,
) -> Iterator[tuple[ThrowawayRedis, ThrowawayRedis, ThrowawaySentinel]]:
    """A master, its replica and a sentinel, all of the test's own."""
    (tmp_path / "master").mkdir()
    (tmp_path / "replica").mkdir()
    master = ThrowawayRedis(tmp_path / "master")
    master.start()
    replica = ThrowawayRedis(tmp_path / "replica", "--replicaof", "127.0.0.1", str(master.port))
    replica.start()
    sentinel = ThrowawaySentinel(tmp_path, master.port)
    yield master, replica, sentinel
    sentinel.stop()
    replica.stop()
    master.stop()


async def role(port: int) -> str:
    client = aioredis.Redis(port=port)
    try:
        info = await client.info("replication")
        return str(info["role"])
    finally:
        await client.aclose()


async def test_the_gateways_follow_a_sentinel_failover_and_lose_nothing(
    gateways: Gateways,
    aiohttp_client: Any,
    sentinel_set: tuple[ThrowawayRedis, ThrowawayRedis, ThrowawaySentinel],
) -> None:
    master, replica, sentinel = sentinel_set

    async def replicating() -> bool:
        client = aioredis.Redis(port=replica.port)
        try:
            info = await client.info("replication")
            return info.get("master_link_status") == "up"
        finally:
            await client.aclose()

    await wait_for(replicating)
    a, b = await gateways(2, url=sentinel.url)
    wang = await login_factory(aiohttp_client, a)("wang")
    sent: list[int] = []

    async def chat(via: TestClient[Any, Any]) -> None:
        started = await via.post("/chat/api/conversations", json={"district": None})
        assert started.status == 201
        sent.append((await started.json())["contact_id"])

    for gateway in (a, b):
        assert (await (await gateway.get("/healthz")).json())["redis"] == "ok"
    for i in range(4):
        await chat(a if i % 2 else b)
    await settle(a, b)

    master.stop()  # SIGKILL: the sentinel sees it down after 1 s and promotes the replica
    for i in range(4):
        await chat(a if i % 2 else b)  # accepted and kept in the store meanwhile

    async def promoted() -> bool:
        return await role(replica.port) == "master"

    await wait_for(promoted, seconds=30)

    async def both_healthy() -> bool:
        for gateway in (a, b):
            body = await (await gateway.get("/healthz")).json()
            if body["redis"] != "ok":
                return False
        return True

    await wait_for(both_healthy, seconds=30)
    # The relay resubscribed on the new master: a console on A sees B's arrivals again.
    await relay_carries(wang, a, lambda: chat(b), sent)
    await settle(a, b)
    # The new master holds the index: every waiting contact, rebuilt from the store.
    queue_index = app_of(a)[keys.QUEUE_INDEX]
    assert queue_index is not None
    await queue_index.reconcile()
    assert await queue_index.length() == len(sent)

    await take_each_once(wang, sent)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel:///hotline",
        "redis+sentinel://a:26379",
        "redis+sentinel://a/hotline",
        "redis+sentinel://a:26379/hotline/x",
    ],
)
def test_a_malformed_sentinel_address_is_refused_with_its_reason(url: str) -> None:
    with pytest.raises(AddressError):
        parse_sentinel(url)
