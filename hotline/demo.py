"""`hotline demo`: the embedded default with demo staff and simulated web-chat traffic.

A newcomer should see the whole path move within a minute: people arrive in the web chat
through the real HTTP and websocket endpoints (no back door into the store), wait in the
queue, and answer when a counsellor replies. Demo passwords are regenerated at every start
and printed once to the terminal (never to the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from hotline.config import Config
from hotline.users import Role, generate_password
from hotline.web import keys
from hotline.web.app import create_app
from hotline.web.serve import run

log = structlog.get_logger(__name__)

DEMO_STAFF = [
    ("counsellor1", "咨询员 王", Role.COUNSELLOR),
    ("counsellor2", "咨询员 李", Role.COUNSELLOR),
    ("supervisor", "督导 陈", Role.SUPERVISOR),
    ("coordinator", "协调员 赵", Role.COORDINATOR),
    ("admin", "管理员", Role.ADMIN),
]

# Everyday openings, deliberately not crisis statements: the demo shows the flow, not a drill.
OPENINGS = [
    "你好，最近睡不好，想找人聊聊。",
    "我最近压力很大，工作上的事情让我很焦虑。",
    "家里的事情让我很烦，不知道该怎么办。",
    "Hello, I have been feeling low lately and wanted to talk to someone.",
    "考试快到了，我很紧张，晚上总是失眠。",
    "我和朋友吵架了，心里很难受。",
]
REPLIES = [
    "嗯，谢谢你愿意听我说。",
    "是的，就是这种感觉。",
    "我试试看，谢谢。",
    "Thank you, that helps a little.",
]
MAX_WAITING = 5
MAX_SIMULATED = 8


def run_demo(config: Config, *, traffic: bool = True) -> None:
    """Seed demo staff, serve with the traffic simulator, print the logins once listening."""
    app = create_app(config)
    logins: list[str] = []

    async def demo_staff_ctx(app: web.Application) -> AsyncIterator[None]:
        users = app[keys.USERS]
        for username, display_name, role in DEMO_STAFF:
            password = generate_password()
            if await users.by_username(username) is None:
                await users.add(username, display_name, role, password)
            else:
                await users.set_password(username, password)
            logins.append(f"  {role.value:<12} {username:<12} {password}")
        yield

    def announce() -> None:
        base = f"http://{config.server.host}:{config.server.port}"
        print(
            "\nHotline demo is running / 演示系统已启动\n"
            f"  web chat 网页聊天:   {base}/chat\n"
            f"  console 工作台:      {base}/console\n"
            "  demo logins 演示账号 (role, username, password):\n" + "\n".join(logins) + "\n",
            flush=True,
        )

    app.cleanup_ctx.append(demo_staff_ctx)
    if traffic:
        app.cleanup_ctx.append(_traffic_ctx)
    run(app, config, announce)


async def _traffic_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_simulate(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _simulate(app: web.Application) -> None:
    """Start a simulated person every few seconds while the queue is short."""
    config = app[keys.CONFIG]
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::") else config.server.host  # noqa: S104
    base = f"http://{host}:{config.server.port}"
    people: set[asyncio.Task[None]] = set()
    await asyncio.sleep(2)
    async with aiohttp.ClientSession() as session:
        try:
            while True:
                waiting = await app[keys.CONVERSATIONS].queue_length()
                if waiting < MAX_WAITING and len(people) < MAX_SIMULATED:
                    task = asyncio.create_task(_person(session, base, config))
                    people.add(task)
                    task.add_done_callback(people.discard)
                await asyncio.sleep(random.uniform(8, 20))
        finally:
            for task in list(people):
                task.cancel()
            await asyncio.gather(*people, return_exceptions=True)


async def _person(session: aiohttp.ClientSession, base: str, config: Config) -> None:
    """One simulated person: start a chat, say something, answer replies, leave when done."""
    district = random.choice([*(d.id for d in config.districts), None])
    try:
        async with session.post(
            f"{base}/chat/api/conversations", json={"district": district, "lang": "zh-CN"}
        ) as response:
            if response.status != 201:
                return
            token = (await response.json())["token"]
        async with session.ws_connect(
            f"{base}/chat/ws?token={token}", headers={"Origin": base}
        ) as ws:
            await ws.send_json({"type": "message", "text": random.choice(OPENINGS)})
            async for frame in ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = frame.json()
                if data.get("type") == "ended":
                    break
                message = data.get("message") or {}
                if data.get("type") == "message" and message.get("from") == "counsellor":
                    await asyncio.sleep(random.uniform(2, 6))
                    await ws.send_json({"type": "message", "text": random.choice(REPLIES)})
    except (aiohttp.ClientError, OSError) as exc:
        log.info("demo_person_failed", error_type=type(exc).__name__)
