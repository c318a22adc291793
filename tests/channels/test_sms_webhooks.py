"""SMS webhooks: threads by number within a window, acknowledgement, STOP and START."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.twilio_sim.twiml import Message, parse_twiml
from hotline.web import keys
from tests.channels.conftest import Twilio

NUMBER = "+8613800001111"


def _text(body: str, sid: str = "SM" + "1" * 32, number: str = NUMBER) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": "+865533110000",
        "Body": body,
        "NumMedia": "0",
    }


async def test_texts_thread_into_one_contact_within_the_window(
    twilio: Twilio,
    phone_client: TestClient[Any, Any],
    telephony_config: Config,
    clock: ManualClock,
) -> None:
    """First text opens a contact (acknowledged); the next joins it; after the window, a new one."""
    app = phone_client.server.app
    assert app is not None
    conversations = app[keys.CONVERSATIONS]
    first = await twilio.post("/twilio/sms", _text("你好，我想找人聊聊"))
    assert parse_twiml(await first.text()) == [
        Message(telephony_config.telephony.texts["sms_received"])
    ]
    clock.advance(minutes=10)
    second = await twilio.post("/twilio/sms", _text("我最近睡不好"))
    assert parse_twiml(await second.text()) == []
    [contact] = await conversations.queue()
    assert contact.channel.value == "sms"
    assert [m.text for m in await conversations.messages(contact.id)] == [
        "你好，我想找人聊聊",
        "我最近睡不好",
    ]
    assert await conversations.caller_number(contact.id) == NUMBER
    clock.advance(minutes=telephony_config.telephony.sms_inactivity_minutes + 1)
    await twilio.post("/twilio/sms", _text("又是我"))
    assert len(await conversations.queue()) == 2, "a text after the window opens a new contact"


async def test_stop_is_honoured_until_start(
    twilio: Twilio, phone_client: TestClient[Any, Any]
) -> None:
    """After STOP nothing is sent (not even the acknowledgement); START lifts it."""
    app = phone_client.server.app
    assert app is not None
    conversations = app[keys.CONVERSATIONS]
    assert parse_twiml(await (await twilio.post("/twilio/sms", _text("STOP"))).text()) == []
    assert await conversations.opted_out(NUMBER)
    quiet = await twilio.post("/twilio/sms", _text("还是想说说"))
    assert parse_twiml(await quiet.text()) == [], "no acknowledgement to a number that said STOP"
    await twilio.post("/twilio/sms", _text("start"))
    assert not await conversations.opted_out(NUMBER)


async def test_numbers_are_not_stored_or_logged_in_clear(
    twilio: Twilio, phone_client: TestClient[Any, Any], telephony_config: Config
) -> None:
    """The caller's number is sealed in the database; only its keyed hash links texts."""
    await twilio.post("/twilio/sms", _text("测试隐私"))
    raw = b"".join(p.read_bytes() for p in telephony_config.data_dir.rglob("*") if p.is_file())
    assert NUMBER.encode() not in raw and NUMBER[1:].encode() not in raw
    assert "测试隐私".encode() not in raw
