"""Scale-out benchmarks for `hotline bench`: take-next through the shared Redis index, and
one event reaching consoles spread over two gateway processes.

* `take_next_p99_ms_redis`: `Conversations.take_next` with a `QueueIndex` on real Redis
  (the Lua pick plus the store's guarded claim), at least `QUEUE_BACKLOG` people waiting,
  measured like `take_next_p99_ms`, so the two read side by side.
* `fanout_p99_ms`: two real `hotline serve` processes joined through Redis, with the
  consoles' websockets spread over both (500 in a full run); a web chat starts through one
  of them and the time is taken until each console has a queue frame holding it. The p99
  is over every console and every round.

Redis is the one at `[redis] url`, else 127.0.0.1:6379; each run uses a key prefix of its
own and deletes its keys. Without a Redis that answers, these two metrics are reported as
not measured (never as a made-up number).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import itertools
import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from argon2 import PasswordHasher
from redis import asyncio as aioredis

from hotline.clock import SystemClock, to_iso
from hotline.cluster.connection import Cluster
from hotline.cluster.queue import QueueIndex
from hotline.config import Config
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors, Presence
from hotline.crypto import FieldCipher
from hotline.events import EventBus
from hotline.sessions import Sessions
from hotline.store.database import DB_FILE, Database
from hotline.users import Role, Users

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TAKE_NEXT_REDIS_P99_TARGET_MS = 10.0
FANOUT_P99_TARGET_MS = 200.0
START_SECONDS = 60.0
WARMUP_ROUNDS = 2  # one arrival through each gateway before timing


def redis_url(config: Config) -> str:
    return config.redis.url or DEFAULT_REDIS_URL


async def redis_answers(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(await client.ping())
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await client.aclose()


async def _drop_keys(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        found = [k async for k in client.scan_iter(match=prefix + "*")]
        if found:
            await client.delete(*found)
    finally:
        await client.aclose()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * pct / 100 + 0.999999) - 1)]


async def bench_take_next_redis(
    config: Config, takes: int, backlog: int, warmup: int
) -> tuple[float, dict[str, Any]]:
    """(p99 ms of take-next through the Redis index, context)."""
    from hotline.bench import _seed_queue

    url = redis_url(config)
    prefix = f"hotline-bench-{secrets.token_hex(4)}:"
    cluster = Cluster(url, prefix)
    db = await Database.open(config.data_dir / DB_FILE, SystemClock(), EventBus())
    try:
        cipher = FieldCipher(os.urandom(32))
        counsellors = Counsellors(db)
        conversations = Conversations(db, cipher, config, counsellors)
        index = QueueIndex(cluster, conversations, db.bus)
        conversations.queue_picker = index
        user = await Users(db, cipher).add("bench", "Bench", Role.COUNSELLOR, "bench-password-1")
        await counsellors.set_presence(user.id, Presence.AVAILABLE)
        await _seed_queue(db, config, backlog + warmup + takes)
        await index.reconcile()
        for _ in range(warmup):
            assert await conversations.take_next(user.id) is not None
        latencies = []
        for _ in range(takes):
            started = time.perf_counter()
            assert await conversations.take_next(user.id) is not None
            latencies.append((time.perf_counter() - started) * 1000)
        from_index = index.taken
    finally:
        await db.close()
        await cluster.close()
        await _drop_keys(url, prefix)
    p99 = _percentile(latencies, 99)
    return p99, {
        "takes": takes,
        "from_index": from_index,
        "p50_ms": round(_percentile(latencies, 50), 4),
        "p99_ms": round(p99, 4),
        "max_ms": round(max(latencies), 4),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - the hotline's own command
        [sys.executable, "-m", "hotline.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(START_SECONDS):
        for _ in itertools.count():
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as health:
                    if health.status == 200:
                        return
            if process.poll() is not None:
                raise RuntimeError(f"a gateway exited while starting ({process.returncode})")
            await asyncio.sleep(0.1)


async def bench_fanout(
    config: Config, data_dir: Path, consoles: int, rounds: int
) -> tuple[float, dict[str, Any]]:
    """(p99 ms for an arrival to reach every console over two gateways, context)."""
    url = redis_url(config)
    prefix = f"hotline-bench-{secrets.token_hex(4)}:"
    key = os.urandom(32)
    db = await Database.open(data_dir / DB_FILE, SystemClock())
    tokens = []
    try:
        sessions = Sessions(db, timedelta(hours=config.server.session_hours))
        for user_id in await _console_users(db, FieldCipher(key), consoles):
            token, _ = await sessions.create(user_id)
            tokens.append(token)
    finally:
        await db.close()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOTLINE_DATA_DIR": str(data_dir),
        "HOTLINE_DATA_KEY": base64.b64encode(key).decode(),
        "HOTLINE_REDIS__URL": url,
        "HOTLINE_REDIS__KEY_PREFIX": prefix,
        "HOTLINE_WEBCHAT__STARTS_PER_MINUTE": "100000",
    }
    if os.environ.get("HOTLINE_CONFIG"):
        env["HOTLINE_CONFIG"] = os.environ["HOTLINE_CONFIG"]
    ports = [_free_port(), _free_port()]
    processes = [_spawn(env, port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    latencies: list[float] = []
    try:
        for base, process in zip(bases, processes, strict=True):
            await _ready(base, process)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            sockets = []
            for n, token in enumerate(tokens):
                base = bases[n % 2]
                ws = await http.ws_connect(
                    f"{base}/console/ws",
                    headers={"Origin": base, "Cookie": f"hotline_session={token}"},
                    max_msg_size=0,
                )
                sockets.append(ws)
            await asyncio.gather(*(_first_queue(ws) for ws in sockets))
            # The load generator's own garbage collection (500 sockets' worth of objects)
            # would stall every console it reads at once: its pauses are not the gateways'.
            gc.collect()
            gc.disable()
            try:
                await _rounds(http, bases, sockets, rounds, latencies)
            finally:
                gc.enable()
            for ws in sockets:
                await ws.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        await _drop_keys(url, prefix)
    p99 = _percentile(latencies, 99)
    return p99, {
        "consoles": consoles,
        "gateways": 2,
        "rounds": rounds,
        "warmup_rounds": WARMUP_ROUNDS,
        "p50_ms": round(_percentile(latencies, 50), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(latencies), 2),
    }


async def _rounds(
    http: aiohttp.ClientSession,
    bases: list[str],
    sockets: list[aiohttp.ClientWebSocketResponse],
    rounds: int,
    latencies: list[float],
) -> None:
    """A chat started at each gateway in turn; when every console listed it (ms)."""
    for round_ in range(-WARMUP_ROUNDS, rounds):
        started = time.perf_counter()
        async with http.post(
            f"{bases[round_ % 2]}/chat/api/conversations", json={"district": None}
        ) as response:
            contact_id = int((await response.json())["contact_id"])
        arrived = await asyncio.gather(*(_until_listed(ws, contact_id) for ws in sockets))
        if round_ >= 0:  # the first arrival at each gateway runs code paths cold
            latencies += [(t - started) * 1000 for t in arrived]


async def _console_users(db: Database, cipher: FieldCipher, count: int) -> list[int]:
    """Counsellor rows written directly: one password hash shared by all (argon2 on each
    of hundreds would measure the hash, not the fan-out); they log in by session only."""
    shared_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
        secrets.token_urlsafe(16)
    )
    ids = []
    async with db.transaction() as tx:
        for n in range(count):
            user_id = int(
                await tx.fetchval(
                    "INSERT INTO users (username, display_name_enc, role, password_hash,"
                    " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (f"fan{n}", b"", Role.COUNSELLOR.value, shared_hash, to_iso(tx.clock.now())),
                )
            )
            sealed = cipher.seal(f"fan{n}", f"users.display_name:{user_id}")
            await tx.execute(
                "UPDATE users SET display_name_enc = ? WHERE id = ?", (sealed, user_id)
            )
            ids.append(user_id)
    return ids


async def _first_queue(ws: aiohttp.ClientWebSocketResponse) -> None:
    async with asyncio.timeout(START_SECONDS):
        while (await ws.receive_json())["type"] != "queue":
            pass


async def _until_listed(ws: aiohttp.ClientWebSocketResponse, contact_id: int) -> float:
    """When a queue frame listing the contact arrived. The frame's text is searched rather
    than parsed: the load generator shares the machine's cores with both gateways, and
    parsing 500 frames a round would be its time measured, not theirs."""
    marker = f'"id": {contact_id},'
    async with asyncio.timeout(30):
        while True:
            text = await ws.receive_str()
            if text.startswith('{"type": "queue"') and marker in text:
                return time.perf_counter()
