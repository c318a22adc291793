"""Surge mode on the phone, end to end: the real app, the real twilio client and validator,
and the simulator placing calls with signed webhooks while a mass incident is live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.contacts import Contact, ContactState
from hotline.risk import RiskLevel
from hotline.surge import SurgeMode, end_surge, start_surge
from hotline.twilio_sim import TwilioSimulator
from hotline.twilio_sim.twiml import Gather, Say
from hotline.web import keys
from tests.conftest import Staff, login_factory
from tests.simulated_twilio import SimulatedLine, simulated_line

AFFECTED = "+8613912340001"
EARLIER = "+8613912340002"
INCIDENT = 7
FLOOD = SurgeMode(
    incident_id=INCIDENT,
    ivr_announcement_zh="受近期洪涝灾害影响，本热线已启动应急服务，我们会优先接听受灾群众的来电。",
    ivr_announcement_en="Because of the flood, this line answers people affected first.",
    chat_announcement_zh="本热线已启动洪涝灾害应急心理援助服务。",
    chat_announcement_en="This line is running its flood emergency service.",
    affected_question_zh="如果您本人或家人受到这次洪涝灾害影响，请按1；否则请按2。",
    affected_question_en="If you or your family were affected by the flood, press 1; otherwise 2.",
    affected_min_risk=RiskLevel.MODERATE,
)


@dataclass
class Surge:
    """The served line, a counsellor on duty (so calls queue instead of overflowing)."""

    served: SimulatedLine
    counsellor: Staff

    @property
    def sim(self) -> TwilioSimulator:
        return self.served.sim

    @property
    def texts(self) -> Any:
        return self.served.config.telephony.texts

    async def start(self, mode: SurgeMode = FLOOD) -> None:
        async with self.served.app[keys.DATABASE].transaction() as tx:
            await start_surge(tx, mode)

    async def end(self, incident_id: int = INCIDENT) -> None:
        async with self.served.app[keys.DATABASE].transaction() as tx:
            assert await end_surge(tx, incident_id)

    async def contact_of(self, call_sid: str) -> Contact:
        contact = await self.served.app[keys.CONVERSATIONS].by_call_sid(call_sid)
        assert contact is not None, "the call never reached the queue"
        return contact

    async def events(self, contact: Contact, kind: str) -> list[Any]:
        events = await self.served.app[keys.DATABASE].events_for(f"contact:{contact.id}")
        return [e for e in events if e.kind == kind]


@pytest.fixture
async def surge(
    aiohttp_server: Any, aiohttp_client: Any, config: Config, clock: ManualClock
) -> AsyncIterator[Surge]:
    async with simulated_line(aiohttp_server, aiohttp_client, config, clock) as served:
        counsellor = await login_factory(aiohttp_client, served.client)("wang")
        yield Surge(served, counsellor)


def _gathers(call: Any) -> list[Gather]:
    return [verb for verb in call.verbs if isinstance(verb, Gather)]


def _spoken(gather: Gather) -> list[str]:
    """What a Gather says while it listens for a key."""
    return [verb.text for verb in gather.children if isinstance(verb, Say)]


async def test_affected_caller_is_tagged_raised_and_answered_before_an_earlier_caller(
    surge: Surge, clock: ManualClock
) -> None:
    """Announcement and question after the greeting; 1 tags, raises to the floor, and the
    affected caller is taken before someone who has waited longer."""
    await surge.start()
    earlier = await surge.sim.place_call(EARLIER, digits=["2", "", "1"])
    clock.advance(minutes=2)
    call = await surge.sim.place_call(AFFECTED, digits=["1", "", "3"])

    assert call.said[:3] == [
        surge.texts["greeting"],
        FLOOD.ivr_announcement_zh,
        surge.texts["confidentiality"],
    ]
    question, danger, district = _gathers(call)
    assert _spoken(question) == [FLOOD.affected_question_zh]
    assert question.num_digits == 1 and question.action is not None
    assert question.action.endswith(f"/twilio/voice/affected?incident={INCIDENT}")
    assert _spoken(danger) == [surge.texts["danger_prompt"]]
    assert danger.action is not None and danger.action.endswith(f"affected={INCIDENT}")
    assert district.action is not None and f"affected={INCIDENT}" in district.action
    assert call.state == "queued" and earlier.state == "queued"

    contact = await surge.contact_of(call.sid)
    assert (contact.incident_id, contact.risk, contact.district) == (
        INCIDENT,
        RiskLevel.MODERATE,
        "jiujiang",
    )
    [tagged] = await surge.events(contact, "contact.incident_tagged")
    assert tagged.data == {"incident_id": INCIDENT, "via": "ivr"}
    [rise] = await surge.events(contact, "contact.risk_changed")
    assert (rise.actor, rise.data["source"], rise.data["reasons"]) == (
        "incident",
        "incident",
        ["incident.affected"],
    )
    assert (rise.data["from"], rise.data["to"]) == ("none", "moderate")

    other = await surge.contact_of(earlier.sid)
    assert other.incident_id is None and other.risk is RiskLevel.NONE
    queue = await surge.served.app[keys.CONVERSATIONS].queue()
    assert [c.call_sid for c in queue] == [call.sid, earlier.sid]
    state = await (await surge.counsellor.get("/console/api/state")).json()
    assert [(q["id"], q["incident_id"]) for q in state["queue"]] == [
        (contact.id, INCIDENT),
        (other.id, None),
    ]
    assert state["surge"] == {"incident_id": INCIDENT, "affected_min_risk": "moderate"}
    taken = await (await surge.counsellor.post("/console/api/take-next")).json()
    assert taken["contact"]["id"] == contact.id
    assert taken["contact"]["incident_id"] == INCIDENT
    await surge.sim.settle()
    assert call.state == "connected" and earlier.state == "queued"


@pytest.mark.parametrize(
    ("key", "why"), [("2", "pressed 2"), ("", "pressed nothing"), ("5", "another key")]
)
async def test_not_affected_or_no_answer_is_not_tagged_and_goes_on(
    surge: Surge, key: str, why: str
) -> None:
    """2, no key or any other key: not tagged, not raised, and the call still reaches the queue."""
    await surge.start()
    call = await surge.sim.place_call(AFFECTED, digits=[key, "", "2"])
    assert FLOOD.affected_question_zh in call.said, why
    assert surge.texts["danger_prompt"] in call.said, "the question is never a dead end"
    assert call.state == "queued"
    contact = await surge.contact_of(call.sid)
    assert (contact.incident_id, contact.risk, contact.district) == (
        None,
        RiskLevel.NONE,
        "yijiang",
    )
    assert await surge.events(contact, "contact.incident_tagged") == []
    for gather in _gathers(call)[1:]:
        assert gather.action is not None and "affected=" not in gather.action


async def test_danger_key_at_the_surge_question_means_danger(surge: Surge) -> None:
    """9 pressed at the affected question is the danger key, as everywhere: imminent, untagged."""
    await surge.start()
    call = await surge.sim.place_call(AFFECTED, digits=["9", "1"])
    contact = await surge.contact_of(call.sid)
    assert (contact.risk, contact.incident_id) == (RiskLevel.IMMINENT, None)
    assert surge.texts["danger_prompt"] not in call.said  # not asked again
    assert contact.district == "jinghu"


async def test_after_stand_down_calls_hear_no_announcement_and_no_question(
    surge: Surge,
) -> None:
    """Once the surge ends, a new call is the ordinary IVR: no announcement, no question."""
    await surge.start()
    during = await surge.sim.place_call(AFFECTED, digits=["1", "", ""])
    assert FLOOD.ivr_announcement_zh in during.said
    await surge.end()

    after = await surge.sim.place_call(EARLIER, digits=["1", "", ""])
    assert after.said[:2] == [surge.texts["greeting"], surge.texts["confidentiality"]]
    assert FLOOD.ivr_announcement_zh not in after.said
    assert FLOOD.affected_question_zh not in after.said
    danger, _district = _gathers(after)
    assert danger.action is not None and danger.action.endswith("/twilio/voice/danger")
    contact = await surge.contact_of(after.sid)
    assert (contact.incident_id, contact.risk) == (None, RiskLevel.NONE)
    assert len(surge.sim.webhooks_to("/twilio/voice/affected")) == 1  # the first call's only


async def test_retried_webhook_does_not_tag_twice(surge: Surge) -> None:
    """Twilio retrying the step that creates the contact finds it tagged: one tag, one rise."""
    await surge.start()
    call = await surge.sim.place_call(AFFECTED, digits=["1", "", "1"])
    [created] = surge.sim.webhooks_to("/twilio/voice/district")
    retried = await surge.sim.webhook(created.url, created.params)
    assert retried.ok and "<Enqueue" in retried.text
    contact = await surge.contact_of(call.sid)
    assert contact.state is ContactState.QUEUED and contact.incident_id == INCIDENT
    assert len(await surge.events(contact, "contact.incident_tagged")) == 1
    assert len(await surge.events(contact, "contact.risk_changed")) == 1
    assert len(await surge.served.app[keys.CONVERSATIONS].queue()) == 1


async def test_surge_ending_mid_ivr_tags_nobody(surge: Surge) -> None:
    """A caller who pressed 1 just before the stand-down is not tagged with an incident that
    is no longer live (the signed URL still says which incident they were asked about)."""
    await surge.start()
    await surge.end()
    exchange = await surge.sim.webhook(
        f"{surge.served.public_url}/twilio/voice/district?danger=0&affected={INCIDENT}",
        {
            "CallSid": "CA" + "1" * 32,
            "AccountSid": surge.sim.account_sid,
            "From": AFFECTED,
            "To": surge.sim.hotline_number,
            "CallStatus": "in-progress",
            "Digits": "1",
        },
    )
    assert exchange.ok and "<Enqueue" in exchange.text
    contact = await surge.contact_of("CA" + "1" * 32)
    assert (contact.incident_id, contact.risk) == (None, RiskLevel.NONE)


async def test_affected_step_refuses_an_unsigned_request(surge: Surge) -> None:
    """The affected step checks Twilio's signature like every webhook."""
    await surge.start()
    response = await surge.served.client.post(
        f"/twilio/voice/affected?incident={INCIDENT}",
        data={"CallSid": "CA" + "2" * 32, "From": AFFECTED, "Digits": "1"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert response.status == 403
