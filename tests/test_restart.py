"""A restart loses nothing: the next process on the same data dir finds the same queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from tests.conftest import PASSWORD, console_csrf, submit_login

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


async def _staff_client(client: TestClient[Any, Any], username: str) -> str:
    """Log in through the form; returns the console's CSRF token."""
    assert (await submit_login(client, username)).status == 303
    return await console_csrf(client)


async def test_queue_and_conversations_survive_a_restart(
    aiohttp_client: ClientFactory, config: Config, clock: ManualClock
) -> None:
    """Contacts queued and talking before a stop are all there after it, with their words."""
    first = await aiohttp_client(create_app(config, clock=clock))
    app = first.server.app
    assert app is not None
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    csrf = await _staff_client(first, "wang")
    headers = {"X-CSRF-Token": csrf}
    assert (
        await first.post("/console/api/presence", json={"status": "available"}, headers=headers)
    ).status == 200
    origin = str(first.make_url("")).rstrip("/")
    tokens = []
    for text, district in (("第一位的话", "jinghu"), ("第二位的话", None), ("第三位的话", "wuwei")):
        started = await (
            await first.post("/chat/api/conversations", json={"district": district})
        ).json()
        tokens.append(started["token"])
        async with first.ws_connect(
            f"/chat/ws?token={started['token']}", headers={"Origin": origin}
        ) as ws:
            await ws.send_json({"type": "message", "text": text})
            while (await ws.receive_json(timeout=5))["type"] != "message":
                pass
        clock.advance(seconds=10)
    taken = (await (await first.post("/console/api/take-next", headers=headers)).json())["contact"]
    await first.post(
        f"/console/api/contacts/{taken['id']}/messages", json={"text": "我在听"}, headers=headers
    )
    queue_before = [
        (c["id"], c["waiting_since"])
        for c in (await (await first.get("/console/api/state")).json())["queue"]
    ]
    await first.close()  # the process stops: every connection and in-memory state is gone

    second = await aiohttp_client(create_app(config, clock=clock))
    state = await (await second.get("/healthz")).json()
    assert state["queue_length"] == 2
    await _staff_client(second, "wang")
    after = await (await second.get("/console/api/state")).json()
    assert [(c["id"], c["waiting_since"]) for c in after["queue"]] == queue_before
    assert [c["id"] for c in after["my_contacts"]] == [taken["id"]]
    detail = await (await second.get(f"/console/api/contacts/{taken['id']}")).json()
    assert [(m["from"], m["text"]) for m in detail["messages"]] == [
        ("caller", "第一位的话"),
        ("counsellor", "我在听"),
    ]

    origin = str(second.make_url("")).rstrip("/")
    async with second.ws_connect(f"/chat/ws?token={tokens[1]}", headers={"Origin": origin}) as ws:
        history = await ws.receive_json(timeout=5)
        assert [m["text"] for m in history["messages"]] == ["第二位的话"]
        status = await ws.receive_json(timeout=5)
        assert status["state"] == "queued" and status["position"] == 1


async def test_offered_contact_returns_to_head_after_restart(
    aiohttp_client: ClientFactory, config: Config, clock: ManualClock
) -> None:
    """A contact caught between offer and answer by a crash goes back to the queue's head."""
    first = await aiohttp_client(create_app(config, clock=clock))
    app = first.server.app
    assert app is not None
    conversations = app[keys.CONVERSATIONS]
    older, _ = await conversations.start_webchat(None, "zh-CN")
    clock.advance(minutes=1)
    caught, _ = await conversations.start_webchat(None, "zh-CN")
    async with app[keys.DATABASE].transaction() as tx:  # as if the process died mid-offer
        await tx.execute("UPDATE contacts SET state = 'offered' WHERE id = ?", (caught.id,))
    await first.close()

    second = await aiohttp_client(create_app(config, clock=clock))
    app = second.server.app
    assert app is not None
    queue = await app[keys.CONVERSATIONS].queue()
    assert [c.id for c in queue] == [caught.id, older.id]
    events = await app[keys.DATABASE].events_for(f"contact:{caught.id}")
    assert events[-1].kind == "contact.queued" and events[-1].data["reason"] == "restart"
