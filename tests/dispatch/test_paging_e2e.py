"""Paging end to end: the real app and twilio client, the simulator as the responders' phones."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient

from dispatch.desk import DispatchDesk
from dispatch.rosters import on_call
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.logs import configure_logging
from hotline.risk import RiskLevel
from hotline.twilio_sim import TwilioSimulator
from hotline.web import keys
from tests.simulated_twilio import simulated_line

PAGING_NUMBER = "+865533110002"


@dataclass
class Paging:
    client: TestClient[Any, Any]
    sim: TwilioSimulator
    desk: DispatchDesk

    def phone(self, team_id: str, member_id: str) -> str:
        team = self.desk.teams.get(team_id)
        member = team.member(member_id) if team else None
        assert member is not None and member.phone
        return member.phone

    def on_call_phone(self, team_id: str) -> tuple[str, str]:
        team = self.desk.teams.get(team_id)
        assert team is not None
        primary = on_call(team.roster, self.desk.clock.now()).primary
        assert primary
        return primary, self.phone(team_id, primary)


@pytest.fixture
async def paging(
    aiohttp_client: Any, aiohttp_server: Any, config: Config, clock: ManualClock
) -> AsyncIterator[Paging]:
    async with simulated_line(aiohttp_server, aiohttp_client, config, clock) as served:
        served.sim.add_number(PAGING_NUMBER, sms_url=f"{served.public_url}/twilio/paging/sms")
        yield Paging(served.client, served.sim, served.app[dispatch_keys.DESK])


async def test_an_sms_page_carries_routing_facts_only_and_a_reply_accepts(
    paging: Paging,
) -> None:
    """The text names the code, team, district and risk; "<code> 1" from that phone accepts."""
    member, phone = paging.on_call_phone("jinghu")
    row = await paging.desk.request(
        actor="user:1", risk=RiskLevel.HIGH, district_id="jinghu", summary="独居老人，情绪激动"
    )
    (text,) = await paging.sim.wait_for_messages(1, from_=PAGING_NUMBER, to=phone)
    body = text["body"]
    assert f"调度{row.code}" in body and "镜湖区" in body and "风险高" in body
    assert f"“{row.code} 1”接受" in body
    assert "独居老人" not in body
    assert re.search(r"http://127\.0\.0\.1:\d+/p/\d+\.\d+\.[0-9a-f]{32}", body)

    replies = await paging.sim.send_sms(phone, f"{row.code} 1", to=PAGING_NUMBER)
    assert len(replies) == 1 and f"接受了调度{row.code}" in replies[0]
    view = await paging.desk.dispatch_view(row.id)
    assert view["state"] == "accepted"
    assert view["accepted"]["member"]["id"] == member and view["accepted"]["via"] == "sms"
    # A responder's text never becomes a crisis contact in the counsellors' queue.
    app = paging.client.server.app
    assert app is not None
    assert await app[keys.CONVERSATIONS].queue_length() == 0


async def test_a_keypress_on_the_paging_call_accepts(paging: Paging) -> None:
    """The call asks for 1 or 2; the responder presses 1."""
    member, phone = paging.on_call_phone("sanshan")
    paging.sim.outbound_digits[phone] = ["1"]
    row = await paging.desk.request(actor="user:1", risk=RiskLevel.IMMINENT, district_id="sanshan")
    (call,) = await paging.sim.wait_for_calls(1, to=phone)
    await paging.sim.settle()
    assert call.machine_detection == "Enable"
    assert any("接受请按1" in said for said in call.said)
    view = await paging.desk.dispatch_view(row.id)
    assert view["state"] == "accepted" and view["accepted"]["via"] == "voice"
    assert view["accepted"]["member"]["id"] == member
    voice = next(p for p in view["pages"] if p["channel"] == "voice")
    assert voice["response"] == "accepted" and voice["delivery"] == "completed"


async def test_pressing_2_declines_and_the_secondary_is_paged_at_once(paging: Paging) -> None:
    _, phone = paging.on_call_phone("fanchang")
    paging.sim.outbound_digits[phone] = ["2"]
    row = await paging.desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="fanchang")
    await paging.sim.wait_for_calls(1, to=phone)
    await paging.sim.settle()
    view = await paging.desk.dispatch_view(row.id)
    assert view["state"] == "paging" and view["step_index"] == 1
    assert view["responses"][0]["response"] == "declined"
    assert view["responses"][0]["via"] == "voice"


async def test_an_answering_machine_is_not_an_acceptance(
    paging: Paging, clock: ManualClock
) -> None:
    """A machine picks up: recorded, hung up on (no voicemail), and the escalation goes on."""
    _, phone = paging.on_call_phone("wuwei")
    paging.sim.answer_policy[phone] = "machine"
    paging.sim.outbound_digits[phone] = ["1"]  # a machine presses nothing, whatever it is told
    row = await paging.desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="wuwei")
    (call,) = await paging.sim.wait_for_calls(1, to=phone)
    await paging.sim.settle()
    assert call.answered_by_machine and call.said == []
    view = await paging.desk.dispatch_view(row.id)
    voice = next(p for p in view["pages"] if p["channel"] == "voice")
    assert view["state"] == "paging" and voice["response"] == "machine"
    clock.advance(minutes=3)
    assert await paging.desk.fire_due() == 1
    assert (await paging.desk.dispatch_view(row.id))["step_index"] == 1


async def test_delivery_callbacks_are_recorded_per_page(paging: Paging) -> None:
    _, phone = paging.on_call_phone("jiujiang")
    paging.sim.sms_delivery[phone] = "undelivered"
    paging.sim.answer_policy[phone] = "no-answer"
    row = await paging.desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="jiujiang")
    await paging.sim.wait_for_calls(1, to=phone)
    await paging.sim.settle()
    view = await paging.desk.dispatch_view(row.id)
    by_channel = {p["channel"]: p for p in view["pages"]}
    assert by_channel["sms"]["state"] == "sent" and by_channel["sms"]["delivery"] == "undelivered"
    assert by_channel["voice"]["delivery"] == "no-answer"
    assert view["state"] == "paging"


async def test_the_link_shows_without_changing_and_accepts_on_post(paging: Paging) -> None:
    """A link preview (GET) changes nothing; the page's own form (POST) accepts."""
    member, phone = paging.on_call_phone("yijiang")
    row = await paging.desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="yijiang")
    (text,) = await paging.sim.wait_for_messages(1, from_=PAGING_NUMBER, to=phone)
    match = re.search(r"/p/\S+$", text["body"])
    assert match
    path = match.group(0)
    shown = await paging.client.get(path)
    assert shown.status == 200
    page = await shown.text()
    assert "弋江区" in page and row.code in page
    assert (await paging.desk.dispatch_view(row.id))["state"] == "paging"
    forged = await paging.client.get(path[:-4] + "0000")
    assert forged.status == 404
    origin = str(paging.client.make_url("")).rstrip("/")
    answered = await paging.client.post(
        path, data={"action": "eta", "minutes": "25"}, headers={"Origin": origin}
    )
    assert answered.status == 200 and "25" in await answered.text()
    view = await paging.desk.dispatch_view(row.id)
    assert view["state"] == "accepted" and view["accepted"]["via"] == "link"
    assert view["accepted"]["eta_minutes"] == 25 and view["accepted"]["member"]["id"] == member


async def test_forged_paging_webhooks_change_nothing(paging: Paging) -> None:
    """An unsigned "accept" is refused before anything is read."""
    _, phone = paging.on_call_phone("nanling")
    row = await paging.desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="nanling")
    forged = await paging.client.post(
        "/twilio/paging/sms",
        data={"From": phone, "Body": f"{row.code} 1"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert forged.status == 403
    assert (await paging.desk.dispatch_view(row.id))["state"] == "paging"


async def test_paging_logs_no_number_name_or_text(paging: Paging) -> None:
    """A full page-and-reply cycle leaves ids in the logs, never phones, names or texts."""
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        logged = await _page_and_reply(paging, stream)
    finally:
        structlog.reset_defaults()
    member, phone = paging.on_call_phone("jinghu")
    team = paging.desk.teams.get("jinghu")
    assert team is not None
    name = team.member(member).name  # type: ignore[union-attr]
    assert "pages_sent" in logged
    for secret in (phone, phone[3:], name, "独居老人", "家里有事", "乱七八糟"):
        assert secret not in logged, secret


async def _page_and_reply(paging: Paging, stream: io.StringIO) -> str:
    _, phone = paging.on_call_phone("jinghu")
    row = await paging.desk.request(
        actor="user:1", risk=RiskLevel.HIGH, district_id="jinghu", summary="独居老人，情绪激动"
    )
    await paging.sim.wait_for_messages(1, from_=PAGING_NUMBER, to=phone)
    await paging.sim.send_sms(phone, f"{row.code} 2 家里有事", to=PAGING_NUMBER)
    await paging.sim.send_sms(phone, "乱七八糟的回复", to=PAGING_NUMBER)
    await paging.sim.settle()
    return stream.getvalue()
