"""Phone calls and texts end to end: the real app, the real twilio client and validator,
and the local Twilio simulator placing calls and texts with signed webhooks."""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.contacts import ContactState
from hotline.logs import configure_logging
from hotline.twilio_sim import TwilioSimulator
from hotline.web import keys
from hotline.web.app import create_app
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.conftest import Staff, login_factory

CALLER = "+8613912340001"
OTHER_CALLER = "+8613912340002"


@dataclass
class Line:
    """The hotline served on a real port, a counsellor logged in, and the simulated Twilio."""

    client: TestClient[Any, Any]
    sim: TwilioSimulator
    counsellor: Staff
    config: Config

    @property
    def conversations(self) -> Any:
        app = self.client.server.app
        assert app is not None
        return app[keys.CONVERSATIONS]

    async def contact_of(self, call_sid: str) -> Any:
        contact = await self.conversations.by_call_sid(call_sid)
        assert contact is not None, "the call never reached the queue"
        return contact


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def line(
    aiohttp_client: Any, aiohttp_server: Any, config: Config, clock: ManualClock
) -> AsyncIterator[Line]:
    port = _free_port()
    public_url = f"http://127.0.0.1:{port}"
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, webhook_base=public_url
    ) as sim:
        api = sim.api_base_url
        telephony = replace(
            config.telephony,
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            public_url=public_url,
            api_base_url=api,
        )
        configured = replace(config, telephony=telephony)
        server = await aiohttp_server(create_app(configured, clock=clock), port=port)
        client = await aiohttp_client(server)
        counsellor = await login_factory(aiohttp_client, client)("wang")
        yield Line(client, sim, counsellor, configured)
        sim.raise_for_errors()


async def test_call_through_ivr_queue_counsellor_and_wrap_up(line: Line) -> None:
    """IVR → holds hearing its place → taken → the counsellor's browser answers → ends → wrap-up."""
    call = await line.sim.place_call(CALLER, digits=["1", "3"])  # not in danger; 鸠江区
    assert call.state == "queued"
    texts = line.config.telephony.texts
    assert call.said[:2] == [texts["greeting"], texts["confidentiality"]]
    await call.poll_wait(queue_time=15)
    assert texts["next_in_line"] in call.said
    contact = await line.contact_of(call.sid)
    assert (contact.state, contact.district) == (ContactState.QUEUED, "jiujiang")

    taken = await line.counsellor.post("/console/api/take-next")
    assert taken.status == 200, await taken.text()
    assert (await taken.json())["contact"]["state"] == "offered"  # ringing
    await line.sim.settle()
    assert call.dial_target == f"counsellor-{line.counsellor.user_id}"
    assert call.state == "connected"
    contact = await line.contact_of(call.sid)
    assert contact.state is ContactState.ACTIVE and contact.answered_at is not None
    # The REST request that moved the call carried a Dial to the counsellor's identity.
    [update] = line.sim.rest.requests_to(f"/Calls/{call.sid}.json")
    assert "<Client" in update.form["Twiml"] and "dial-result" in update.form["Twiml"]

    ended = await line.counsellor.post(f"/console/api/contacts/{contact.id}/end")
    assert (await ended.json())["state"] == "wrap_up"
    await line.sim.settle()
    assert call.state == "completed"
    wrap = await line.counsellor.post(
        f"/console/api/contacts/{contact.id}/wrap-up",
        {
            "category": "emotional_distress",
            "outcome": "supported",
            "referral": "none",
            "follow_up_wanted": False,
            "key_groups": [],
            "summary": "",
        },
    )
    assert (await wrap.json())["state"] == "closed"


async def test_caller_hangs_up_first_while_talking(line: Line) -> None:
    """When the caller hangs up mid-conversation, the contact goes to wrap-up, ended by caller."""
    call = await line.sim.place_call(CALLER, digits=["", ""])
    await line.counsellor.post("/console/api/take-next")
    await line.sim.settle()
    await call.hangup()
    await line.sim.settle()
    contact = await line.contact_of(call.sid)
    assert (contact.state, contact.ended_by) == (ContactState.WRAP_UP, "caller")


async def test_press_9_is_answered_before_earlier_callers(line: Line, clock: ManualClock) -> None:
    """A later caller in danger is taken first."""
    calm = await line.sim.place_call(CALLER, digits=["1", "1"])
    clock.advance(minutes=2)
    urgent = await line.sim.place_call(OTHER_CALLER, digits=["9", "2"])
    taken = await (await line.counsellor.post("/console/api/take-next")).json()
    await line.sim.settle()
    assert taken["contact"]["risk"] == "imminent"
    assert urgent.state == "connected" and calm.state == "queued"


async def test_caller_who_gives_up_is_abandoned(line: Line) -> None:
    """Hanging up while holding: abandoned, with the time waited."""
    call = await line.sim.place_call(CALLER, digits=["", ""])
    await call.poll_wait(queue_time=40)
    await call.hangup()
    await line.sim.settle()
    contact = await line.contact_of(call.sid)
    assert contact.state is ContactState.ABANDONED
    app = line.client.server.app
    assert app is not None
    events = await app[keys.DATABASE].events_for(f"contact:{contact.id}")
    assert [e.kind for e in events][-1] == "contact.abandoned"
    assert events[-1].data["waited_seconds"] >= 0


async def test_counsellor_who_does_not_answer_puts_the_call_back_first(
    line: Line, clock: ManualClock
) -> None:
    """No answer from the counsellor's phone: the caller holds again, at the head of the queue."""
    first = await line.sim.place_call(CALLER, digits=["", ""])
    clock.advance(minutes=1)
    second = await line.sim.place_call(OTHER_CALLER, digits=["", ""])
    line.sim.answer_policy[f"counsellor-{line.counsellor.user_id}"] = "no-answer"
    await line.counsellor.post("/console/api/take-next")
    await line.sim.settle()
    assert first.state == "queued", "the caller is holding again, not hung up on"
    queue = await line.conversations.queue()
    assert [c.call_sid for c in queue] == [first.sid, second.sid]
    assert queue[0].requeued
    assert await line.counsellor.get("/console/api/state") is not None


async def test_text_conversation_both_ways_with_delivery_and_stop(line: Line) -> None:
    """A text reaches the console; the reply goes out as SMS and is delivered; STOP ends texts."""
    acknowledgement = await line.sim.send_sms(CALLER, "我想找人聊聊，晚上睡不着")
    assert acknowledgement == [line.config.telephony.texts["sms_received"]]
    taken = await (await line.counsellor.post("/console/api/take-next")).json()
    contact_id = taken["contact"]["id"]
    assert taken["contact"]["channel"] == "sms" and taken["contact"]["state"] == "active"
    reply = await line.counsellor.post(
        f"/console/api/contacts/{contact_id}/messages", {"text": "你好，我在，慢慢说。"}
    )
    assert reply.status == 201
    await line.sim.settle()
    [sent] = line.sim.rest.sent_messages
    assert (sent["to"], sent["body"]) == (CALLER, "你好，我在，慢慢说。")
    messages = await line.conversations.messages(contact_id)
    assert messages[-1].delivery_status == "delivered"
    assert await line.sim.send_sms(CALLER, "谢谢") == []  # the same thread, no second ack
    assert [m.text for m in await line.conversations.messages(contact_id)][-1] == "谢谢"

    await line.sim.send_sms(CALLER, "STOP")
    refused = await line.counsellor.post(
        f"/console/api/contacts/{contact_id}/messages", {"text": "还在吗？"}
    )
    assert refused.status == 409 and (await refused.json())["error"] == "opted_out"
    assert len(line.sim.rest.sent_messages) == 1, "nothing is texted after STOP"


async def test_calls_and_texts_leave_no_numbers_or_words_in_logs(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    """A call and an SMS exchange log ids only: no caller number, no message text."""
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        call = await line.sim.place_call(CALLER, digits=["9", "1"])
        await line.counsellor.post("/console/api/take-next")
        await line.sim.settle()
        await call.hangup()
        await line.sim.send_sms(OTHER_CALLER, "我叫李秀兰，住在镜湖区")
        taken = await (await line.counsellor.post("/console/api/take-next")).json()
        await line.counsellor.post(
            f"/console/api/contacts/{taken['contact']['id']}/messages", {"text": "李女士你好"}
        )
        await line.sim.settle()
    finally:
        structlog.reset_defaults()
    logged = stream.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert '"event": "sms_received"' in logged and '"event": "call_ringing"' in logged
    for secret in (CALLER, CALLER[1:], OTHER_CALLER[3:], "李秀兰", "李女士", "镜湖区"):
        assert secret not in logged, f"{secret!r} reached the logs"


async def test_booked_callback_rings_the_counsellor_then_the_caller(line: Line) -> None:
    """A caller who chose a callback hangs up; taking it calls the counsellor, then the caller."""
    call = await line.sim.place_call(CALLER, digits=["", ""])
    offer_after = line.config.telephony.callback_offer_after_seconds
    await call.poll_wait(queue_time=offer_after, digits=["1"])
    await line.sim.settle()
    assert call.state == "completed"
    contact = await line.contact_of(call.sid)
    assert contact.callback_requested and contact.state is ContactState.QUEUED

    taken = await line.counsellor.post("/console/api/take-next")
    assert taken.status == 200
    await line.sim.settle()
    [created] = line.sim.rest.requests_to("/Calls.json")
    assert created.form["To"] == f"client:counsellor-{line.counsellor.user_id}"
    assert "<Number" in created.form["Twiml"] and CALLER in created.form["Twiml"]
    contact = await line.contact_of(call.sid)
    assert contact.state is ContactState.ACTIVE


async def test_counsellor_who_answers_by_phone_is_dialled_on_their_number(line: Line) -> None:
    """A counsellor set to answer by phone is reached with <Dial><Number>, not the browser."""
    app = line.client.server.app
    assert app is not None
    await app[keys.USERS].set_answer_by(line.counsellor.user_id, "phone", "+8613700001234")
    call = await line.sim.place_call(CALLER, digits=["", ""])
    await line.counsellor.post("/console/api/take-next")
    await line.sim.settle()
    assert call.dial_target == "+8613700001234" and call.state == "connected"
    [update] = line.sim.rest.requests_to(f"/Calls/{call.sid}.json")
    assert "<Number" in update.form["Twiml"] and "<Client" not in update.form["Twiml"]
