"""Risk from automatic sources: only ever raised, always an event, re-orders the queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.test_queue import Line, open_line


@pytest.fixture
async def line(config: Config, clock: ManualClock) -> AsyncIterator[Line]:
    opened = await open_line(config, clock)
    yield opened
    await opened.db.close()


async def test_a_rise_reorders_the_queue_and_is_traced_to_its_evidence(
    line: Line, clock: ManualClock
) -> None:
    """A later contact raised to high is answered first; the event names source and reasons."""
    first, _ = await line.conversations.start_webchat(None, "zh-CN")
    clock.advance(minutes=5)
    second, _ = await line.conversations.start_webchat(None, "zh-CN")
    assert [c.id for c in await line.conversations.queue()] == [first.id, second.id]
    raised = await line.conversations.raise_risk(
        second.id, RiskLevel.HIGH, "text_scanner", ["zh.plan.method"]
    )
    assert raised.risk is RiskLevel.HIGH
    assert [c.id for c in await line.conversations.queue()] == [second.id, first.id]
    [event] = [
        e
        for e in await line.db.events_for(f"contact:{second.id}")
        if e.kind == "contact.risk_changed"
    ]
    assert event.actor == "text_scanner"
    assert event.data == {
        "from": "none",
        "to": "high",
        "source": "text_scanner",
        "reasons": ["zh.plan.method"],
    }


async def test_automatic_sources_never_lower_the_level(line: Line) -> None:
    """A calmer message after an alarming one leaves the level where it was, with no event."""
    contact, _ = await line.conversations.start_webchat(None, "zh-CN")
    await line.conversations.raise_risk(contact.id, RiskLevel.IMMINENT, "ivr", ["key_9"])
    after = await line.conversations.raise_risk(contact.id, RiskLevel.LOW, "text_scanner")
    assert after.risk is RiskLevel.IMMINENT
    kinds = [e.kind for e in await line.db.events_for(f"contact:{contact.id}")]
    assert kinds.count("contact.risk_changed") == 1


async def test_a_closed_contact_is_not_raised(line: Line) -> None:
    """Risk rises only while the person may still be waiting or talking."""
    contact, _ = await line.conversations.start_webchat(None, "zh-CN")
    await line.conversations.caller_end(contact.id)
    after = await line.conversations.raise_risk(contact.id, RiskLevel.HIGH, "text_scanner")
    assert after.risk is RiskLevel.NONE


async def test_wait_alarm_at_chosen_instants(
    line: Line, clock: ManualClock, config: Config
) -> None:
    """An alarm when, and only when, a contact has waited past its level's target; once."""
    target_high = config.wait_targets_seconds[RiskLevel.HIGH]
    target_none = config.wait_targets_seconds[RiskLevel.NONE]
    calm, _ = await line.conversations.start_webchat(None, "zh-CN")
    urgent, _ = await line.conversations.start_webchat(None, "zh-CN")
    await line.conversations.raise_risk(urgent.id, RiskLevel.HIGH, "text_scanner")
    clock.advance(seconds=target_high - 1)
    assert await line.conversations.raise_wait_alarms() == []
    clock.advance(seconds=1)
    [(alarmed, waited)] = await line.conversations.raise_wait_alarms()
    assert (alarmed.id, waited) == (urgent.id, target_high)
    assert await line.conversations.raise_wait_alarms() == [], "one alarm per contact and level"
    clock.advance(seconds=target_none - target_high)
    assert [c.id for c, _ in await line.conversations.raise_wait_alarms()] == [calm.id]
    [event] = [
        e
        for e in await line.db.events_for(f"contact:{urgent.id}")
        if e.kind == "contact.wait_breached"
    ]
    assert event.data == {
        "risk": "high",
        "waited_seconds": target_high,
        "target_seconds": target_high,
    }
    # A rise in risk brings a tighter target, and a new alarm.
    await line.conversations.raise_risk(calm.id, RiskLevel.IMMINENT, "text_scanner")
    assert [c.id for c, _ in await line.conversations.raise_wait_alarms()] == [calm.id]


async def test_supervisor_console_is_alarmed(
    client: Any, login: Any, clock: ManualClock, config: Config
) -> None:
    """The supervisors' live console gets an alarm frame when someone waits too long."""
    chen = await login("chen", Role.SUPERVISOR)
    app = client.server.app
    started = await (await client.post("/chat/api/conversations", json={})).json()
    await app[keys.CONVERSATIONS].raise_risk(started["contact_id"], RiskLevel.HIGH, "screener")
    origin = str(client.make_url("")).rstrip("/")
    async with chen.client.ws_connect("/console/ws", headers={"Origin": origin}) as ws:
        clock.advance(seconds=config.wait_targets_seconds[RiskLevel.HIGH] + 1)
        async with asyncio.timeout(5):
            while (frame := await ws.receive_json())["type"] != "alarm":
                pass
    assert frame["contact"]["id"] == started["contact_id"]
    assert frame["risk"] == "high" and frame["waited_seconds"] > frame["target_seconds"]


async def test_a_waiting_chatters_message_reorders_the_live_queue(
    client: Any, login: Any, clock: ManualClock
) -> None:
    """The real scanner reads a waiting person's message; the console's queue re-orders."""
    wang = await login("wang")
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    first = await (await client.post("/chat/api/conversations", json={})).json()
    clock.advance(minutes=3)
    second = await (await client.post("/chat/api/conversations", json={})).json()
    chat_url = f"/chat/ws?token={second['token']}"
    async with (
        wang.client.ws_connect("/console/ws", headers=origin) as console,
        client.ws_connect(chat_url, headers=origin) as chat,
    ):
        await chat.send_json({"type": "message", "text": "我已经把药都吃了，现在肚子好痛"})
        async with asyncio.timeout(5):
            while True:
                frame = await console.receive_json()
                if frame["type"] == "queue" and frame["queue"][0]["id"] == second["contact_id"]:
                    break
    assert frame["queue"][0]["risk"] == "imminent"
    assert [q["id"] for q in frame["queue"]] == [second["contact_id"], first["contact_id"]]
    app = client.server.app
    [event] = [
        e
        for e in await app[keys.DATABASE].events_for(f"contact:{second['contact_id']}")
        if e.kind == "contact.risk_changed"
    ]
    assert event.actor == "text_scanner" and event.data["reasons"]
    assert "药" not in str(event.data), "the event names rules, never the person's words"


async def test_someone_in_danger_is_offered_to_every_console_and_taken_once(
    client: Any, login: Any
) -> None:
    """An imminent chat reaches every console at once; the first to take it gets it."""
    wang, li = await login("wang"), await login("li")
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    async with (
        wang.client.ws_connect("/console/ws", headers=origin) as first,
        li.client.ws_connect("/console/ws", headers=origin) as second,
    ):
        started = await (
            await client.post("/chat/api/conversations", json={"screener": {"acted": "now"}})
        ).json()
        offers = []
        for console in (first, second):
            async with asyncio.timeout(5):
                while (frame := await console.receive_json())["type"] != "urgent":
                    pass
            offers.append(frame["contact"]["id"])
    assert offers == [started["contact_id"]] * 2
    path = f"/console/api/contacts/{started['contact_id']}/take"
    taken, late = await asyncio.gather(wang.post(path), li.post(path))
    assert sorted([taken.status, late.status]) == [200, 409]
    loser = late if late.status == 409 else taken
    assert (await loser.json())["error"] == "taken"
