"""Surge mode on the contact side: the chat's question, the SMS reply, the counsellor's tag,
and a surge that outlives a restart (the real app, real SQLite, the Twilio simulator)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.risk import RiskLevel
from hotline.surge import SurgeMode, end_surge, start_surge
from hotline.web import keys
from hotline.web.app import create_app
from tests.conftest import StaffFactory
from tests.simulated_twilio import simulated_line

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
INCIDENT = 3
ACCIDENT = SurgeMode(
    incident_id=INCIDENT,
    ivr_announcement_zh="针对近日发生的重大事故，本热线已启动应急心理援助。",
    ivr_announcement_en="After the recent major accident, this line runs its emergency service.",
    chat_announcement_zh="本热线已针对近日重大事故启动应急心理援助。",
    chat_announcement_en="This line runs its emergency service after the accident.",
    affected_question_zh="如果您本人或家人受到这次事故影响，请按1；否则请按2。",
    affected_question_en="If you or your family were affected by the accident, press 1.",
    affected_min_risk=RiskLevel.HIGH,
)


async def _start_surge(app: web.Application, mode: SurgeMode = ACCIDENT) -> None:
    async with app[keys.DATABASE].transaction() as tx:
        await start_surge(tx, mode)


async def _end_surge(app: web.Application) -> None:
    async with app[keys.DATABASE].transaction() as tx:
        assert await end_surge(tx, INCIDENT)


async def _chat(client: TestClient[Any, Any], **body: Any) -> int:
    response = await client.post("/chat/api/conversations", json=body)
    assert response.status == 201, await response.text()
    return int((await response.json())["contact_id"])


def _app(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def _tags(app: web.Application, contact_id: int) -> list[Any]:
    events = await app[keys.DATABASE].events_for(f"contact:{contact_id}")
    return [e for e in events if e.kind == "contact.incident_tagged"]


# -- the chat ---------------------------------------------------------------------------


async def test_surge_endpoint_says_whether_an_incident_is_live_in_the_page_language(
    client: TestClient[Any, Any],
) -> None:
    """Off: inactive with nothing to show. On: the chat announcement and a yes/no question."""
    off = await client.get("/chat/api/surge")
    assert off.status == 200 and off.headers["Cache-Control"] == "no-store"
    assert await off.json() == {"active": False, "announcement": None, "question": None}

    await _start_surge(_app(client))
    zh = await (await client.get("/chat/api/surge")).json()
    assert zh["active"] is True
    assert zh["announcement"] == ACCIDENT.chat_announcement_zh
    assert "影响" in zh["question"] and "按" not in zh["question"]  # no keypad words on a page
    en = await (await client.get("/chat/api/surge?lang=en")).json()
    assert en["announcement"] == ACCIDENT.chat_announcement_en
    assert en["question"].endswith("?") and "press" not in en["question"]

    await _end_surge(_app(client))
    assert (await (await client.get("/chat/api/surge?lang=en")).json())["active"] is False


async def test_chat_yes_during_a_surge_tags_and_raises_no_does_not(
    client: TestClient[Any, Any],
) -> None:
    """affected: true → tagged and at least the surge's level, with the events; false → nothing."""
    app = _app(client)
    await _start_surge(app)
    yes = await _chat(client, affected=True, district="wuwei")
    no = await _chat(client, affected=False)
    silent = await _chat(client)
    conversations = app[keys.CONVERSATIONS]

    tagged = await conversations.get(yes)
    assert (tagged.incident_id, tagged.risk) == (INCIDENT, RiskLevel.HIGH)
    [tag] = await _tags(app, yes)
    assert (tag.actor, tag.data) == ("caller", {"incident_id": INCIDENT, "via": "chat"})
    events = await app[keys.DATABASE].events_for(f"contact:{yes}")
    [rise] = [e for e in events if e.kind == "contact.risk_changed"]
    assert rise.data["source"] == "incident" and rise.data["reasons"] == ["incident.affected"]
    for other in (no, silent):
        contact = await conversations.get(other)
        assert (contact.incident_id, contact.risk) == (None, RiskLevel.NONE)
        assert await _tags(app, other) == []
    assert [c.id for c in await conversations.queue()] == [yes, no, silent]


async def test_chat_yes_keeps_a_higher_screener_level(client: TestClient[Any, Any]) -> None:
    """The surge's level is a floor: someone the screener found in danger stays imminent."""
    app = _app(client)
    await _start_surge(app)
    contact_id = await _chat(client, affected=True, screener={"safe_now": False})
    contact = await app[keys.CONVERSATIONS].get(contact_id)
    assert (contact.incident_id, contact.risk) == (INCIDENT, RiskLevel.IMMINENT)


async def test_chat_affected_is_ignored_without_a_surge_and_must_be_boolean(
    client: TestClient[Any, Any],
) -> None:
    """A page left open after the stand-down says yes: queued, untagged. "yes" as text: 400."""
    app = _app(client)
    contact_id = await _chat(client, affected=True)
    contact = await app[keys.CONVERSATIONS].get(contact_id)
    assert (contact.incident_id, contact.risk) == (None, RiskLevel.NONE)
    assert await _tags(app, contact_id) == []
    bad = await client.post("/chat/api/conversations", json={"affected": "yes"})
    assert bad.status == 400 and (await bad.json())["error"] == "bad_request"
    assert await app[keys.CONVERSATIONS].queue_length() == 1  # nothing stored for the bad one


# -- SMS --------------------------------------------------------------------------------


async def test_sms_first_reply_carries_the_announcement_only_during_a_surge(
    aiohttp_server: Any, aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """The automatic reply to a new text adds the chat announcement while a surge is on."""
    async with simulated_line(aiohttp_server, aiohttp_client, config, clock) as served:
        received = served.config.telephony.texts["sms_received"]
        assert await served.sim.send_sms("+8613900000001", "睡不着") == [received]

        await _start_surge(served.app)
        [reply] = await served.sim.send_sms("+8613900000002", "家被淹了")
        assert reply == received + ACCIDENT.chat_announcement_zh
        assert await served.sim.send_sms("+8613900000002", "还在吗") == []  # same thread
        conversations = served.app[keys.CONVERSATIONS]
        for contact in await conversations.queue():
            assert contact.incident_id is None  # texts are never tagged automatically

        await _end_surge(served.app)
        assert await served.sim.send_sms("+8613900000003", "你好") == [received]


# -- the console ------------------------------------------------------------------------


async def test_counsellor_tags_the_contact_they_hold(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Only during a surge (409), only the holder (403), with CSRF; one event, no rise."""
    app = _app(client)
    wang = await login("wang")
    li = await login("li")
    contact_id = await _chat(client)
    taken = await (await wang.post("/console/api/take-next")).json()
    assert taken["contact"]["id"] == contact_id and taken["contact"]["incident_id"] is None
    path = f"/console/api/contacts/{contact_id}/affected"

    no_surge = await wang.post(path)
    assert no_surge.status == 409 and (await no_surge.json())["error"] == "no_surge"
    state = await (await wang.get("/console/api/state")).json()
    assert state["surge"] is None

    await _start_surge(app)
    not_holder = await li.post(path)
    assert not_holder.status == 403 and (await not_holder.json())["error"] == "not_yours"
    no_csrf = await wang.client.post(path, json={})
    assert no_csrf.status == 403 and (await no_csrf.json())["error"] == "csrf"
    assert await _tags(app, contact_id) == []

    tagged = await wang.post(path)
    assert tagged.status == 200, await tagged.text()
    detail = await tagged.json()
    assert (detail["id"], detail["incident_id"], detail["risk"]) == (contact_id, INCIDENT, "none")
    [tag] = await _tags(app, contact_id)
    assert (tag.actor, tag.data) == (
        f"user:{wang.user_id}",
        {"incident_id": INCIDENT, "via": "counsellor"},
    )
    again = await wang.post(path)
    assert again.status == 200 and len(await _tags(app, contact_id)) == 1
    state = await (await wang.get("/console/api/state")).json()
    assert [c["incident_id"] for c in state["my_contacts"]] == [INCIDENT]
    assert state["surge"]["incident_id"] == INCIDENT


async def test_console_socket_hears_the_surge_start_and_end(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A `surge` frame on connect and on every start and stand-down, so the button follows."""
    app = _app(client)
    wang = await login("wang")
    origin = str(client.make_url("")).rstrip("/")

    async def next_surge(ws: Any) -> Any:
        while True:
            frame = await ws.receive_json(timeout=5)
            if frame["type"] == "surge":
                return frame["surge"]

    async with wang.client.ws_connect("/console/ws", headers={"Origin": origin}) as ws:
        assert await next_surge(ws) is None
        await _start_surge(app)
        assert await next_surge(ws) == {"incident_id": INCIDENT, "affected_min_risk": "high"}
        await _end_surge(app)
        assert await next_surge(ws) is None


# -- restart ----------------------------------------------------------------------------


async def test_surge_outlives_a_restart(
    aiohttp_client: ClientFactory, config: Config, clock: ManualClock
) -> None:
    """Closing and reopening the app on the same data dir keeps the surge, and its tagging."""
    first = await aiohttp_client(create_app(config, clock=clock))
    await _start_surge(_app(first))
    await first.close()

    second = await aiohttp_client(create_app(config, clock=clock))
    surge = await (await second.get("/chat/api/surge")).json()
    assert surge["active"] is True and surge["announcement"] == ACCIDENT.chat_announcement_zh
    contact_id = await _chat(second, affected=True)
    contact = await _app(second)[keys.CONVERSATIONS].get(contact_id)
    assert (contact.incident_id, contact.risk) == (INCIDENT, RiskLevel.HIGH)


@pytest.mark.parametrize("min_risk", [RiskLevel.LOW, RiskLevel.HIGH])
async def test_affected_start_at_least_at_the_plans_level(
    client: TestClient[Any, Any], min_risk: RiskLevel
) -> None:
    """The plan's `affected_min_risk` is the level an affected person starts at."""
    app = _app(client)
    await _start_surge(app, replace(ACCIDENT, affected_min_risk=min_risk))
    contact = await app[keys.CONVERSATIONS].get(await _chat(client, affected=True))
    assert contact.risk is min_risk
