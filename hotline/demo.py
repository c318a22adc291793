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
import re
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import structlog
from aiohttp import web

from dispatch.followups.cases import CaseSource, NewCase, Owner
from dispatch.web.keys import DISPATCH_CONFIG, FOLLOWUPS
from hotline.config import Config
from hotline.risk import RiskLevel
from hotline.twilio_sim import TwilioSimulator
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
    """Seed demo staff, serve with the traffic simulator, print the logins once listening.

    Without Twilio credentials the demo brings its own Twilio: the bundled simulator, on a
    port of its own, with throwaway credentials; calls and texts then arrive through the
    same signed webhooks and REST calls as in production.
    """
    simulator: TwilioSimulator | None = None
    if not config.telephony.enabled:
        config, simulator = _with_simulated_twilio(config)
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
        await _seed_follow_ups(app)
        yield

    def announce() -> None:
        base = f"http://{config.server.host}:{config.server.port}"
        print(
            "\nHotline demo is running / 演示系统已启动\n"
            f"  web chat 网页聊天:   {base}/chat\n"
            f"  console 工作台:      {base}/console\n"
            f"  dispatch 调度台:     {base}/dispatch\n"
            f"  follow-ups 随访:     {base}/followups\n"
            f"  statistics 统计:     {base}/stats\n"
            "  demo logins 演示账号 (role, username, password):\n" + "\n".join(logins) + "\n",
            flush=True,
        )

    if simulator is not None:
        sim = simulator
        paging_number = app[DISPATCH_CONFIG].paging.from_number
        public = config.telephony.public_url
        sim.add_number(paging_number, sms_url=f"{public}/twilio/paging/sms")

        async def simulator_ctx(app: web.Application) -> AsyncIterator[None]:
            # The port chosen when the config was made: the gateway already points there.
            port = int(str(sim.api_base_url).rsplit(":", 1)[1])
            sim.api_base_url = None
            await sim.start(port=port)
            app[SIMULATOR] = sim
            try:
                yield
            finally:
                await sim.close()

        app.cleanup_ctx.insert(0, simulator_ctx)
    app.cleanup_ctx.append(demo_staff_ctx)
    if traffic:
        app.cleanup_ctx.append(_traffic_ctx)
    if simulator is not None:
        app.cleanup_ctx.append(_responders_ctx)
    run(app, config, announce)


# Demo follow-up cases (invented people): (owner username or team id, risk, district, grade).
DEMO_CASES = [
    ("counsellor1", RiskLevel.HIGH, "jinghu", None),
    ("counsellor1", RiskLevel.MODERATE, "jiujiang", None),
    ("counsellor1", RiskLevel.LOW, "sanshan", 3),
    ("yijiang", RiskLevel.IMMINENT, "yijiang", None),
]


async def _seed_follow_ups(app: web.Application) -> None:
    """A few follow-up cases for the demo counsellor and a district team, once per data dir."""
    followups = app[FOLLOWUPS]
    if await followups.db.fetchval("SELECT COUNT(*) FROM followup_cases"):
        return
    users = app[keys.USERS]
    for index, (owner, risk, district, grade) in enumerate(DEMO_CASES):
        user = await users.by_username(owner)
        await followups.open_case(
            NewCase(
                source=CaseSource.MANUAL,
                risk=risk,
                lang="zh-CN",
                owner=Owner(user_id=user.id) if user else Owner(team_id=owner),
                opened_by="system",
                district=district,
                phone=f"+86139000000{index:02d}",
                grade=grade,
            )
        )


SIMULATOR = web.AppKey("demo_twilio_simulator", TwilioSimulator)
DEMO_ACCOUNT_SID = "AC" + "de" * 16


def _with_simulated_twilio(config: Config) -> tuple[Config, TwilioSimulator]:
    """The config pointed at a simulator with throwaway credentials, and that simulator."""
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::") else config.server.host  # noqa: S104
    public_url = f"http://{host}:{config.server.port}"
    token = secrets.token_urlsafe(24)
    with socket.socket() as probe:  # a free port for the simulator's REST side
        probe.bind((host, 0))
        sim_port = int(probe.getsockname()[1])
    simulator = TwilioSimulator(
        account_sid=DEMO_ACCOUNT_SID,
        auth_token=token,
        webhook_base=public_url,
        hotline_number=config.telephony.phone_number,
    )
    simulator.api_base_url = f"http://{host}:{sim_port}"
    telephony = replace(
        config.telephony,
        account_sid=DEMO_ACCOUNT_SID,
        auth_token=token,
        public_url=public_url,
        api_base_url=simulator.api_base_url,
    )
    return replace(config, telephony=telephony), simulator


async def _traffic_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_simulate(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _responders_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_responders(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _responders(app: web.Application) -> None:
    """Simulated on-call phones: a page's text is answered after a while, or not at all.

    Some accept, some give an arrival time, some decline and some stay silent, so a
    coordinator trying the board sees acceptance, a decline's reason and an escalation.
    """
    sim = app[SIMULATOR]
    paging_number = app[DISPATCH_CONFIG].paging.from_number
    seen = 0
    while True:
        await asyncio.sleep(2)
        pages = [m for m in sim.rest.sent_messages if m["from"] == paging_number]
        for message in pages[seen:]:
            code = re.search(r"调度(\d{4,6})", message["body"])
            if code is None:
                continue
            answer = random.choice(["1", "ETA 20", "2 在外地，无法赶到", None, None])
            if answer is not None:
                task = asyncio.create_task(
                    _reply_later(sim, message["to"], f"{code.group(1)} {answer}", paging_number)
                )
                _background.add(task)
                task.add_done_callback(_background.discard)
        seen = len(pages)


_background: set[asyncio.Task[None]] = set()


async def _reply_later(sim: TwilioSimulator, phone: str, body: str, to: str) -> None:
    await asyncio.sleep(random.uniform(8, 40))
    try:
        await sim.send_sms(phone, body, to=to)
    except Exception as exc:  # a demo responder failing must never stop the demo
        log.info("demo_responder_failed", error_type=type(exc).__name__)


async def _simulate(app: web.Application) -> None:
    """Start a simulated person every few seconds while the queue is short."""
    config = app[keys.CONFIG]
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::") else config.server.host  # noqa: S104
    base = f"http://{host}:{config.server.port}"
    people: set[asyncio.Task[None]] = set()
    people_started = 0
    await asyncio.sleep(2)
    async with aiohttp.ClientSession() as session:
        try:
            while True:
                waiting = await app[keys.CONVERSATIONS].queue_length()
                if waiting < MAX_WAITING and len(people) < MAX_SIMULATED:
                    sim = app.get(SIMULATOR)
                    # The first arrival is a web chat: until a counsellor is available,
                    # calls rightly go to the backup number and would leave the queue empty.
                    kinds = ["chat", "call", "text"] if sim and people_started else ["chat"]
                    kind = random.choice(kinds)
                    people_started += 1
                    if kind == "call" and sim is not None:
                        task = asyncio.create_task(_caller(sim))
                    elif kind == "text" and sim is not None:
                        task = asyncio.create_task(_texter(sim))
                    else:
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
            f"{base}/chat/api/conversations",
            json={"district": district, "lang": "zh-CN", "identity": _demo_identity()},
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


# Some simulated people come back, so the console shows repeat callers; the first returning
# number is a seeded follow-up case's, so its contacts link to that case.
RETURNING_NUMBERS = [f"+86139000000{i:02d}" for i in range(3)]
RETURNING_CHATS = [secrets.token_urlsafe(32) for _ in range(3)]


def _demo_number() -> str:
    if random.random() < 0.3:
        return random.choice(RETURNING_NUMBERS)
    return "+86139" + "".join(random.choice("0123456789") for _ in range(8))


def _demo_identity() -> str:
    """A browser's chat identity: a returning one now and then, else a new one."""
    if random.random() < 0.4:
        return random.choice(RETURNING_CHATS)
    return secrets.token_urlsafe(32)


async def _caller(sim: TwilioSimulator) -> None:
    """One simulated caller: through the IVR (sometimes pressing 9), holding until taken."""
    digits = [
        random.choice(["", "1", "9"] if random.random() < 0.15 else ["", "1"]),
        random.choice(["", "1", "2", "3", "4", "5", "6", "7", "8"]),
    ]
    try:
        call = await sim.place_call(_demo_number(), digits=digits)
        while call.state == "queued":
            await asyncio.sleep(15)
            sim.advance(15)
            if call.state == "queued":
                await call.poll_wait()
        # Answered (the simulator's counsellor endpoint picks up) or ended; the counsellor
        # hangs up from the console.
    except Exception as exc:  # a demo caller failing must never stop the demo
        log.info("demo_caller_failed", error_type=type(exc).__name__)


async def _texter(sim: TwilioSimulator) -> None:
    """One simulated texter: writes, and answers each reply a counsellor texts back."""
    number = _demo_number()
    try:
        await sim.send_sms(number, random.choice(OPENINGS))
        answered = 0
        for _ in range(120):  # about ten minutes
            await asyncio.sleep(5)
            replies = [m for m in sim.rest.sent_messages if m["to"] == number]
            if len(replies) > answered:
                answered = len(replies)
                await asyncio.sleep(random.uniform(2, 6))
                await sim.send_sms(number, random.choice(REPLIES))
            if answered >= 3:
                return
    except Exception as exc:  # a demo texter failing must never stop the demo
        log.info("demo_texter_failed", error_type=type(exc).__name__)
