"""Two real gateway processes (`hotline serve`) on one data dir, sharing the real Redis:
contacts entering through either, consoles on both, a race of take-next calls across the
processes, and one process killed with SIGKILL in the middle of a conversation. In the
PostgreSQL pass (`pytest --store=postgresql`) the processes share a throwaway PostgreSQL
database instead of the data dir's SQLite file."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hotline.clock import SystemClock
from hotline.crypto import FieldCipher
from hotline.store.database import DB_FILE, Database
from hotline.users import Role, Users
from tests.cluster.conftest import REDIS_URL, ThrowawayRedis
from tests.conftest import DEFAULT_CONFIG, store_engine
from tests.store.harness import PostgresStores

PASSWORD = "correct horse battery"
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Gateway:
    """One `hotline serve` process."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        """The end of what the process wrote to stderr (its log and any traceback)."""
        try:
            written = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(written.splitlines()[-lines:])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is withdrawn or flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Cluster:
    data_dir: Path
    env: dict[str, str]
    gateways: list[Gateway]

    def spawn(self) -> Gateway:
        """Start a `hotline serve` process on a free port (the tests' own command line)."""
        port = free_port()
        command = [sys.executable, "-m", "hotline.cli", "--config", str(DEFAULT_CONFIG)]
        log = self.data_dir.parent / f"gateway-{port}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, "serve", "--port", str(port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        return Gateway(port, process, log)

    async def start(self) -> Gateway:
        gateway = self.spawn()
        process = gateway.process
        self.gateways.append(gateway)
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(START_SECONDS):
                for _ in itertools.count():
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"{gateway.base}/healthz") as health:
                            if health.status == 200:
                                return gateway
                    if process.poll() is not None:
                        pytest.fail(
                            f"a gateway exited while starting ({process.returncode}):\n"
                            + gateway.log_tail()
                        )
                    await asyncio.sleep(0.1)
        raise AssertionError("unreachable")


@pytest.fixture
async def cluster(
    tmp_path: Path, redis_prefix: str, request: pytest.FixtureRequest
) -> AsyncIterator[Cluster]:
    """A data dir with its schema and staff, and the environment every gateway shares (in
    the PostgreSQL pass, the throwaway database standing in for the data dir's SQLite file:
    the one `Database.open` below opens, and every gateway process then uses)."""
    stores: PostgresStores | None = None
    if store_engine(request.config) == "postgresql":
        # Requested before the gateways start, so it is torn down (its databases dropped)
        # only after they are stopped.
        stores = request.getfixturevalue("postgres_stores")
    key = os.urandom(32)
    data = tmp_path / "var"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOTLINE_DATA_DIR": str(data),
        "HOTLINE_DATA_KEY": base64.b64encode(key).decode(),
        "HOTLINE_REDIS__URL": REDIS_URL,
        "HOTLINE_REDIS__KEY_PREFIX": redis_prefix,
        "HOTLINE_REDIS__LIVENESS_SECONDS": "2",
        # Counsellors racing over HTTP hold no console: a grace longer than the test keeps
        # them available (the killed-gateway test shortens it).
        "HOTLINE_CONSOLE__OFFLINE_GRACE_SECONDS": "60",
        # Every chat in the test comes from one address: lift the per-address start limit.
        "HOTLINE_WEBCHAT__STARTS_PER_MINUTE": "10000",
    }
    if stores is not None:
        env["HOTLINE_DATABASE__ENGINE"] = "postgresql"
        env["HOTLINE_DATABASE__URL"] = stores.url_for(data / DB_FILE)
    db = await Database.open(data / DB_FILE, SystemClock())
    try:
        users = Users(db, FieldCipher(key))
        for i in range(8):
            await users.add(f"c{i}", f"c{i}", Role.COUNSELLOR, PASSWORD)
    finally:
        await db.close()
    running = Cluster(data, env, [])
    yield running
    for gateway in running.gateways:
        if gateway.process.poll() is None:
            gateway.process.terminate()
            try:
                gateway.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                gateway.kill()


class Console:
    """A counsellor logged in on one gateway, through the real login form."""

    def __init__(self, http: aiohttp.ClientSession, gateway: Gateway, csrf: str) -> None:
        self.http = http
        self.gateway = gateway
        self.csrf = csrf

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.post(
            self.gateway.base + path, json=body or {}, headers={"X-CSRF-Token": self.csrf}
        ) as response:
            return response.status, await response.json()


async def log_in(gateway: Gateway, username: str) -> Console:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{gateway.base}/login") as form:
        found = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
    assert found
    async with http.post(
        f"{gateway.base}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": found[1]},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
    async with http.get(f"{gateway.base}/console") as page:
        token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert token
    console = Console(http, gateway, token[1])
    status, _ = await console.post("/console/api/presence", {"status": "available"})
    assert status == 200
    return console


async def start_chat(gateway: Gateway) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{gateway.base}/chat/api/conversations", json={"district": None}) as response,
    ):
        assert response.status == 201
        return int((await response.json())["contact_id"])


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse,
    test: Callable[[dict[str, Any]], bool],
    seconds: float = 10.0,
) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            frame: dict[str, Any] = await ws.receive_json()
            if test(frame):
                return frame


async def wait_for(test: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            if await test():
                return
            await asyncio.sleep(0.2)


async def test_two_gateway_processes_are_one_hotline(cluster: Cluster) -> None:
    """Chats enter through both processes; a console on each sees the other's arrivals; 8
    counsellors on the two processes race take-next for 40 contacts: each given once."""
    a, b = await cluster.start(), await cluster.start()
    consoles = [await log_in(a if i % 2 else b, f"c{i}") for i in range(8)]
    try:
        watcher = consoles[1]  # on a
        async with watcher.http.ws_connect(
            f"{a.base}/console/ws", headers={"Origin": a.base}
        ) as ws:
            await frames_until(ws, lambda f: f["type"] == "queue")
            from_b = await start_chat(b)
            await frames_until(
                ws, lambda f: f["type"] == "queue" and any(q["id"] == from_b for q in f["queue"])
            )
        sent = [from_b] + [await start_chat(a if i % 2 else b) for i in range(39)]

        async def take_all(console: Console) -> list[int]:
            got: list[int] = []
            while True:
                status, body = await console.post("/console/api/take-next")
                if status == 409 and body["error"] == "queue_empty":
                    return got
                assert status == 200, body
                got.append(int(body["contact"]["id"]))
                status, _ = await console.post(f"/console/api/contacts/{got[-1]}/end")

        results = await asyncio.gather(*(take_all(c) for c in consoles))
        given = [cid for got in results for cid in got]
        assert len(given) == len(set(given)), "a contact was given to two counsellors"
        assert sorted(given) == sorted(sent), "a contact was lost"
    finally:
        for console in consoles:
            await console.http.close()


async def test_a_gateway_killed_mid_conversation_loses_nothing(cluster: Cluster) -> None:
    """c1 talks with a person through gateway A; A is killed with SIGKILL and c1 never comes
    back. The person returns to the head of the queue (not left with a counsellor who is
    gone), the others waiting are all still there, and c2 on gateway B takes the person."""
    cluster.env["HOTLINE_CONSOLE__OFFLINE_GRACE_SECONDS"] = "2"
    a, b = await cluster.start(), await cluster.start()
    first = await start_chat(b)
    waiting = [await start_chat(a if i % 2 else b) for i in range(5)]
    gone = await log_in(a, "c1")
    other = await log_in(b, "c2")
    try:
        async with gone.http.ws_connect(f"{a.base}/console/ws", headers={"Origin": a.base}) as ws:
            await frames_until(ws, lambda f: f["type"] == "queue")
            status, body = await gone.post("/console/api/take-next")
            assert status == 200 and body["contact"]["id"] == first
            assert body["contact"]["state"] == "active"
            a.kill()
        async with other.http.ws_connect(f"{b.base}/console/ws", headers={"Origin": b.base}) as ws:

            async def back_in_queue() -> bool:
                frame = await ws.receive_json()
                return frame["type"] == "queue" and any(q["id"] == first for q in frame["queue"])

            await wait_for(back_in_queue)
        status, body = await other.post("/console/api/take-next")
        assert status == 200 and body["contact"]["id"] == first  # at the head of its level
        taken = [first]
        for _ in waiting:
            await other.post(f"/console/api/contacts/{taken[-1]}/end")
            status, body = await other.post("/console/api/take-next")
            taken.append(int(body["contact"]["id"]))
        assert taken[1:] == waiting, "a waiting contact was lost or reordered"
        async with aiohttp.ClientSession() as http, http.get(f"{b.base}/healthz") as health:
            assert (await health.json())["status"] == "ok"
    finally:
        await gone.http.close()
        await other.http.close()


async def test_redis_restarted_during_traffic_loses_nothing(
    throwaway_redis: ThrowawayRedis, cluster: Cluster
) -> None:
    """Both processes on a Redis of the test's own, killed (SIGKILL) mid-traffic: chats
    through both are still accepted and kept (/healthz degraded), counsellors on both still
    take them through the store; once it is back (empty, on the same port) both say so, the
    relay resumes (a console on A sees B's arrivals) and every contact is given exactly once."""
    # Requested before `cluster`: this Redis outlives the gateways (torn down after them).
    cluster.env["HOTLINE_REDIS__URL"] = throwaway_redis.url
    a, b = await cluster.start(), await cluster.start()
    both = (a, b)
    consoles = [await log_in(a if i % 2 else b, f"c{i}") for i in range(4)]
    http = aiohttp.ClientSession()
    try:
        sent = [await start_chat(a if i % 2 else b) for i in range(6)]
        given: list[int] = []

        async def take_one(console: Console) -> bool:
            status, body = await console.post("/console/api/take-next")
            if status == 409 and body["error"] == "queue_empty":
                return False
            assert status == 200, body
            contact_id = int(body["contact"]["id"])
            given.append(contact_id)
            status, _ = await console.post(f"/console/api/contacts/{contact_id}/end")
            assert status == 200
            return True

        async def health(gateway: Gateway) -> dict[str, Any]:
            async with http.get(f"{gateway.base}/healthz") as response:
                assert response.status == 200
                body: dict[str, Any] = await response.json()
                return body

        await asyncio.gather(*(take_one(c) for c in consoles[:2]))
        assert len(given) == 2
        throwaway_redis.stop()  # SIGKILL
        # Traffic while Redis is down: chats through both, takes on both, at once.
        for round_ in range(3):
            chats = asyncio.gather(*(start_chat(g) for g in both for _ in range(2)))
            takes = asyncio.gather(*(take_one(c) for c in consoles if round_ % 2 == 0))
            started, _ = await asyncio.gather(chats, takes)
            sent += started
        assert len(given) == 2 + 2 * len(consoles), "no take while Redis was down"
        for gateway in both:
            body = await health(gateway)
            assert body["status"] == "degraded" and body["redis"] == "unavailable", body
        throwaway_redis.start()  # the same port, empty

        async def redis_back() -> bool:
            return [(await health(g))["redis"] for g in both] == ["ok", "ok"]

        await wait_for(redis_back)
        for gateway in both:
            assert (await health(gateway))["status"] == "ok"

        watcher = consoles[1]  # on a
        async with watcher.http.ws_connect(
            f"{a.base}/console/ws", headers={"Origin": a.base}
        ) as ws:
            await frames_until(ws, lambda f: f["type"] == "queue")

            async def seen_on_a() -> bool:
                from_b = await start_chat(b)
                sent.append(from_b)
                with contextlib.suppress(TimeoutError):
                    await frames_until(
                        ws,
                        lambda f: (
                            f["type"] == "queue" and any(q["id"] == from_b for q in f["queue"])
                        ),
                        seconds=2.0,
                    )
                    return True
                return False

            await wait_for(seen_on_a, seconds=15.0)
            # Relayed steadily now, not only by the resync on resubscribing.
            assert await seen_on_a(), "B's arrival did not reach a console on A"

        async def take_all(console: Console) -> None:
            while await take_one(console):
                pass

        await asyncio.gather(*(take_all(c) for c in consoles))
        assert len(given) == len(set(given)), "a contact was given to two counsellors"
        assert sorted(given) == sorted(sent), "a contact was lost"
    finally:
        await http.close()
        for console in consoles:
            await console.http.close()
