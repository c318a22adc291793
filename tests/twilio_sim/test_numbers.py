"""Several numbers on one account: each with its own webhooks, and only they may send.

Dispatch pages responders from a second number (the paging number); replies and call-backs
to it must reach dispatch's webhooks, never the hotline's, and the REST side must refuse a
`From` the account does not own, as Twilio does (21606 for texts, 21210 for calls).
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline.config import Config
from hotline.twilio_sim import DEFAULT_HOTLINE_NUMBER, PhoneNumber, SimulatorError, TwilioSimulator
from tests.twilio_sim.conftest import (
    CALLER,
    HOTLINE_NUMBER,
    PAGING_NUMBER,
    RESPONDER,
    FakePager,
)

STRANGER = "+8613800000099"  # a number the account does not own


async def test_a_text_to_the_paging_number_reaches_its_own_webhook(
    paging: TwilioSimulator, pager: FakePager
) -> None:
    """send_sms(to=…) posts to that number's sms_url; the default is still the hotline's."""
    replies = await paging.send_sms(RESPONDER, "4821 1", to=PAGING_NUMBER)
    assert replies == [FakePager.REPLY_ACK]
    [reply] = pager.to("/paging/sms")
    assert (reply["From"], reply["To"], reply["Body"]) == (RESPONDER, PAGING_NUMBER, "4821 1")
    assert pager.to("/twilio/sms") == []

    assert await paging.send_sms(CALLER, "I need to talk") == [FakePager.SMS_ACK]
    [text] = pager.to("/twilio/sms")
    assert text["To"] == HOTLINE_NUMBER
    assert len(pager.to("/paging/sms")) == 1
    assert pager.refused == []


async def test_a_call_to_the_paging_number_runs_its_own_voice_url(
    paging: TwilioSimulator, pager: FakePager
) -> None:
    """place_call(to=…) follows that number's voice_url and its own status callback."""
    call = await paging.place_call(RESPONDER, to=PAGING_NUMBER)
    assert (call.to, call.said, call.state) == (PAGING_NUMBER, [FakePager.DESK], "completed")
    [arrived] = pager.to("/paging/voice")
    assert (arrived["To"], arrived["Direction"]) == (PAGING_NUMBER, "inbound")
    assert pager.to("/twilio/voice") == []
    # No status callback was configured on the paging number: the hotline hears nothing.
    assert pager.to("/twilio/voice/status") == []

    paging.add_number(
        PAGING_NUMBER,
        voice_url=pager.url("/paging/voice"),
        voice_status_callback=pager.url("/paging/status"),
    )
    second = await paging.place_call(RESPONDER, to=PAGING_NUMBER)
    [status] = pager.to("/paging/status")
    assert (status["CallSid"], status["CallStatus"]) == (second.sid, "completed")

    hotline_call = await paging.place_call(CALLER)  # the hotline number is unchanged
    assert (hotline_call.to, hotline_call.state) == (HOTLINE_NUMBER, "queued")


async def test_numbers_without_webhooks_or_not_the_accounts_take_nothing(
    paging: TwilioSimulator, pager: FakePager
) -> None:
    """A call or text to a number with no webhook, or not the account's, is the test's error."""
    outbound_only = "+865533110004"
    paging.add_number(outbound_only)
    with pytest.raises(SimulatorError, match=r"\+865533110004 takes no inbound texts"):
        await paging.send_sms(RESPONDER, "hello", to=outbound_only)
    with pytest.raises(SimulatorError, match=r"\+865533110004 takes no inbound calls"):
        await paging.place_call(RESPONDER, to=outbound_only)
    with pytest.raises(SimulatorError, match="not one of the account's numbers"):
        await paging.send_sms(RESPONDER, "hello", to=STRANGER)
    with pytest.raises(SimulatorError, match="not one of the account's numbers"):
        await paging.place_call(RESPONDER, to=STRANGER)
    assert paging.calls == {}
    assert paging.webhooks == []
    assert pager.received == []


async def test_add_number_checks_its_arguments_and_numbers_lists_them(
    paging: TwilioSimulator, pager: FakePager
) -> None:
    """Webhooks must be absolute; the hotline number is configured by its own attributes."""
    with pytest.raises(SimulatorError, match="absolute"):
        paging.add_number("+865533110005", sms_url="/paging/sms")
    with pytest.raises(SimulatorError, match="hotline number"):
        paging.add_number(HOTLINE_NUMBER, voice_url=pager.url("/paging/voice"))
    assert list(paging.numbers) == [HOTLINE_NUMBER, PAGING_NUMBER]
    assert paging.numbers[PAGING_NUMBER] == PhoneNumber(
        PAGING_NUMBER, pager.url("/paging/voice"), pager.url("/paging/sms")
    )
    paging.voice_url = pager.url("/twilio/voice/reject")  # still steers the hotline number
    assert paging.numbers[HOTLINE_NUMBER].voice_url == pager.url("/twilio/voice/reject")
    assert (paging.owns_number(PAGING_NUMBER), paging.owns_number(STRANGER)) == (True, False)


async def test_rest_refuses_a_from_the_account_does_not_own(
    paging: TwilioSimulator, paging_twilio: Client
) -> None:
    """Texts: 400 with code 21606; calls: 400 with code 21210; nothing is created."""
    with pytest.raises(TwilioRestException) as text:
        await paging_twilio.messages.create_async(to=RESPONDER, from_=STRANGER, body="page")
    assert (text.value.status, text.value.code) == (400, 21606)
    assert f"The From phone number {STRANGER} is not a valid, SMS-capable" in text.value.msg

    with pytest.raises(TwilioRestException) as call:
        await paging_twilio.calls.create_async(
            to=RESPONDER, from_=STRANGER, twiml="<Response><Say>page</Say></Response>"
        )
    assert (call.value.status, call.value.code) == (400, 21210)
    assert STRANGER in call.value.msg
    assert paging.rest.sent_messages == []
    assert paging.calls == {}


async def test_rest_accepts_every_number_of_the_account_as_from(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """The paging number texts and calls; a number without webhooks may still send."""
    paging.add_number("+865533110004")
    for sender in (HOTLINE_NUMBER, PAGING_NUMBER, "+865533110004"):
        message = await paging_twilio.messages.create_async(to=RESPONDER, from_=sender, body="page")
        assert message.from_ == sender
    created = await paging_twilio.calls.create_async(
        to=RESPONDER, from_=PAGING_NUMBER, url=pager.url("/paging/call")
    )
    await paging.settle()
    assert created._from == PAGING_NUMBER
    assert [m["from"] for m in paging.rest.sent_messages] == [
        HOTLINE_NUMBER,
        PAGING_NUMBER,
        "+865533110004",
    ]
    [fetched] = pager.to("/paging/call")
    assert (fetched["From"], fetched["To"]) == (PAGING_NUMBER, RESPONDER)


def test_the_default_hotline_number_is_the_default_configs(config: Config) -> None:
    """A hotline configured by default sends from a number a default simulator owns."""
    assert config.telephony.phone_number == DEFAULT_HOTLINE_NUMBER
