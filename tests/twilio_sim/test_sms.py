"""Texts: a person's SMS and its <Message> reply; replies sent through REST and receipts."""

from __future__ import annotations

from twilio.rest import Client

from hotline.twilio_sim import TwilioSimulator
from tests.twilio_sim.conftest import ACCOUNT_SID, CALLER, HOTLINE_NUMBER, FakeHotline


async def test_sms_round_trip_with_delivery_receipts(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """A text gets its <Message> acknowledgement; a REST reply gets sent, then delivered."""
    replies = await simulator.send_sms(CALLER, "I need to talk")
    assert replies == [FakeHotline.SMS_ACK]
    [inbound] = hotline.to("/twilio/sms")
    assert inbound["MessageSid"].startswith("SM")
    assert (inbound["From"], inbound["To"], inbound["Body"], inbound["NumMedia"]) == (
        CALLER,
        HOTLINE_NUMBER,
        "I need to talk",
        "0",
    )
    assert inbound["AccountSid"] == ACCOUNT_SID

    callback = hotline.url("/twilio/sms/status?message=12")
    message = await twilio.messages.create_async(
        to=CALLER, from_=HOTLINE_NUMBER, body="A counsellor here.", status_callback=callback
    )
    await simulator.settle()

    receipts = [r for r in hotline.received if r.path_qs == "/twilio/sms/status?message=12"]
    assert [r.form["MessageStatus"] for r in receipts] == ["sent", "delivered"]
    for receipt in receipts:
        assert receipt.form["MessageSid"] == message.sid
        assert (receipt.form["To"], receipt.form["From"]) == (CALLER, HOTLINE_NUMBER)
    assert simulator.rest.sent_messages[0]["status"] == "delivered"
    fetched = await twilio.messages(str(message.sid)).fetch_async()
    assert fetched.status == "delivered"
    assert hotline.refused == []


async def test_undelivered_text_reports_its_failure(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """sms_delivery chooses a number's fate: here sent, then undelivered with an error code."""
    simulator.sms_delivery[CALLER] = "undelivered"
    await twilio.messages.create_async(
        to=CALLER,
        from_=HOTLINE_NUMBER,
        body="x",
        status_callback=hotline.url("/twilio/sms/status"),
    )
    await simulator.settle()
    receipts = hotline.to("/twilio/sms/status")
    assert [r["MessageStatus"] for r in receipts] == ["sent", "undelivered"]
    assert receipts[-1]["ErrorCode"] == "30003"


async def test_a_text_without_status_callback_posts_nothing(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """No StatusCallback, no receipts; the message still moves to delivered."""
    await twilio.messages.create_async(to=CALLER, from_=HOTLINE_NUMBER, body="x")
    await simulator.settle()
    assert hotline.to("/twilio/sms/status") == []
    assert simulator.rest.sent_messages[0]["status"] == "delivered"
