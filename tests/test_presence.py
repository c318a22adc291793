"""Presence: available and on break, offline when the console goes, and no person left alone."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from tests.conftest import StaffFactory, login_factory


async def test_counsellor_who_vanishes_hands_the_person_back(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """A console that closes and does not return: offline, and the person is re-queued first."""
    quick = replace(config, console=replace(config.console, offline_grace_seconds=0.3))
    client: TestClient[Any, Any] = await aiohttp_client(create_app(quick, clock=clock))
    login: StaffFactory = login_factory(aiohttp_client, client)
    wang = await login("wang")
    app = client.server.app
    assert app is not None
    conversations = app[keys.CONVERSATIONS]
    talking, _ = await conversations.start_webchat(None, "zh-CN")
    clock.advance(minutes=3)
    later, _ = await conversations.start_webchat(None, "zh-CN")
    origin = str(client.make_url("")).rstrip("/")
    async with wang.client.ws_connect("/console/ws", headers={"Origin": origin}) as ws:
        await ws.receive_json(timeout=5)
        assert (await wang.post("/console/api/take-next")).status == 200
    async with app[keys.BUS].subscribe() as events:
        # A reload inside the grace keeps everything as it was.
        async with wang.client.ws_connect("/console/ws", headers={"Origin": origin}) as ws:
            await ws.receive_json(timeout=5)
            await asyncio.sleep(0.5)
            assert (await conversations.get(talking.id)).counsellor_id == wang.user_id
        async with asyncio.timeout(5):
            while (await events.get()).kind != "contact.queued":
                pass
    assert [c.id for c in await conversations.queue()] == [talking.id, later.id]
    me = (await (await wang.get("/console/api/state")).json())["me"]
    assert me["presence"] == "offline"
    events = await app[keys.DATABASE].events_for(f"contact:{talking.id}")
    assert events[-1].data["reason"] == "counsellor_offline"


async def test_break_and_back(login: StaffFactory, client: TestClient[Any, Any]) -> None:
    """A counsellor on break is shown so to the supervisor and cannot take; back, they can."""
    wang = await login("wang")
    chen = await login("chen", role=Role.SUPERVISOR)
    await client.post("/chat/api/conversations", json={})
    assert (await wang.post("/console/api/presence", {"status": "on_break"})).status == 200
    refused = await wang.post("/console/api/take-next")
    assert refused.status == 409 and (await refused.json())["error"] == "not_available"
    floor = (await (await chen.get("/console/api/state")).json())["floor"]
    assert {c["id"]: c["presence"] for c in floor["counsellors"]}[wang.user_id] == "on_break"
    bad = await wang.post("/console/api/presence", {"status": "asleep"})
    assert bad.status == 400 and (await bad.json())["field"] == "status"
    assert (await wang.post("/console/api/presence", {"status": "available"})).status == 200
    assert (await wang.post("/console/api/take-next")).status == 200
