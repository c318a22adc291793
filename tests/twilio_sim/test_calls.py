"""Simulated calls against the fake hotline: IVR, queue, dial, hang-ups and callbacks."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from twilio.rest import Client

from hotline.twilio_sim import (
    Enqueue,
    Gather,
    Redirect,
    Say,
    SimulatorError,
    TwilioSimulator,
)
from tests.twilio_sim.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    HOTLINE_NUMBER,
    FakeHotline,
    ServerFactory,
)

F = FakeHotline


async def test_ivr_queue_redirect_dial_and_counsellor_hang_up(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """The whole happy path: press 9, wait, a counsellor takes it, talks, and hangs up."""
    call = await simulator.place_call(CALLER, digits=["9"])

    [arrived] = hotline.to("/twilio/voice")
    assert arrived["CallStatus"] == "ringing"
    assert arrived["Direction"] == "inbound"
    assert (arrived["From"], arrived["To"], arrived["AccountSid"]) == (
        CALLER,
        HOTLINE_NUMBER,
        ACCOUNT_SID,
    )
    assert arrived["CallSid"] == call.sid
    assert hotline.to("/twilio/voice/danger")[0]["Digits"] == "9"
    assert call.said == [F.GREETING, F.DANGER_PROMPT]
    assert call.verbs[1] == Gather(
        action=hotline.url("/twilio/voice/danger"),
        num_digits=1,
        timeout=5,
        children=[Say(F.DANGER_PROMPT)],
    )
    assert call.verbs[-1] == Enqueue(
        "hotline",
        wait_url=hotline.url("/twilio/voice/wait"),
        action=hotline.url("/twilio/voice/dequeued"),
    )
    assert (call.state, call.queue_name) == ("queued", "hotline")

    simulator.advance(30)
    await call.poll_wait()
    [wait] = hotline.to("/twilio/voice/wait")
    assert (wait["QueuePosition"], wait["QueueTime"], wait["CurrentQueueSize"]) == ("1", "30", "1")
    assert wait["QueueSid"].startswith("QU")
    assert wait["CallStatus"] == "in-progress"
    assert call.said[-1] == F.POSITION.format(position=1)
    assert call.state == "queued"

    await twilio.calls(call.sid).update_async(twiml=hotline.dial_twiml("counsellor-3", 7))
    await simulator.settle()
    assert (call.state, call.dial_target) == ("connected", "counsellor-3")
    # Redirected out of the queue: the Enqueue action is not requested.
    assert hotline.to("/twilio/voice/dequeued") == []
    [answered] = hotline.at("/twilio/voice/answered?contact=7")
    assert answered["CallStatus"] == "in-progress"
    assert answered["ParentCallSid"] == call.sid
    assert answered["CallSid"] == call.child_sid != call.sid
    assert answered["To"] == "client:counsellor-3"

    simulator.advance(95)
    await call.counsellor_hangs_up()
    [result] = hotline.at("/twilio/voice/dial-result?contact=7")
    assert result["DialCallStatus"] == "completed"
    assert result["DialCallDuration"] == "95"
    assert result["DialCallSid"] == call.child_sid
    [status] = hotline.to("/twilio/voice/status")
    assert (status["CallStatus"], status["CallDuration"]) == ("completed", "125")
    assert call.state == "completed"
    assert simulator.errors == []
    assert hotline.refused == []


async def test_no_answer_puts_the_caller_back_in_the_queue(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """A counsellor who does not answer: the Dial action hears no-answer and re-enqueues."""
    simulator.answer_policy["counsellor-3"] = "no-answer"
    call = await simulator.place_call(CALLER, digits=[""])  # presses nothing at the Gather
    assert hotline.to("/twilio/voice/danger")[0].get("Digits") is None
    assert call.verbs[2] == Redirect(hotline.url("/twilio/voice/danger"))

    await twilio.calls(call.sid).update_async(twiml=hotline.dial_twiml())
    await simulator.settle()

    [result] = hotline.to("/twilio/voice/dial-result")
    assert result["DialCallStatus"] == "no-answer"
    assert hotline.to("/twilio/voice/answered") == []
    assert (call.state, call.dial_target) == ("queued", None)
    assert simulator.queue("hotline") == [call]
    assert hotline.to("/twilio/voice/status") == []


async def test_a_redirect_while_the_hotline_answers_a_webhook_wins(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """The hotline redirects the call mid-webhook: that answer is dropped, the redirect runs."""
    dial = hotline.dial_twiml()

    async def take_at_once(form: dict[str, str]) -> None:
        await twilio.calls(form["CallSid"]).update_async(twiml=dial)

    hotline.while_answering["/twilio/voice/danger"] = take_at_once
    call = await simulator.place_call(CALLER, digits=["9"])
    assert call.state in ("ringing", "connected")  # place_call followed the redirect
    await simulator.settle()
    assert (call.state, call.dial_target) == ("connected", "counsellor-3")
    assert not any(isinstance(verb, Enqueue) for verb in call.verbs)
    assert simulator.queue("hotline") == []
    assert simulator.errors == []


async def test_caller_hangs_up_while_queued(
    simulator: TwilioSimulator, hotline: FakeHotline
) -> None:
    """Hanging up in the queue: Enqueue action with QueueResult=hangup, then status callback."""
    call = await simulator.place_call(CALLER)
    simulator.advance(42)
    await call.hangup()

    [dequeued] = hotline.to("/twilio/voice/dequeued")
    assert (dequeued["QueueResult"], dequeued["QueueTime"]) == ("hangup", "42")
    [status] = hotline.to("/twilio/voice/status")
    assert (status["CallStatus"], status["CallDuration"]) == ("completed", "42")
    paths = [r.path_qs for r in hotline.received]
    assert paths.index("/twilio/voice/dequeued") < paths.index("/twilio/voice/status")
    # The action's answer (a goodbye) is not heard by someone who has hung up.
    assert F.GOODBYE not in call.said
    assert call.state == "completed"
    await call.hangup()  # hanging up twice changes nothing
    assert len(hotline.to("/twilio/voice/status")) == 1


async def test_caller_hangs_up_while_connected(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """Hanging up mid-conversation: Dial action completed (answer unheard), status callback."""
    call = await simulator.place_call(CALLER)
    await twilio.calls(call.sid).update_async(twiml=hotline.dial_twiml())
    await simulator.settle()
    simulator.advance(12)
    await call.hangup()
    [result] = hotline.to("/twilio/voice/dial-result")
    assert (result["DialCallStatus"], result["DialCallDuration"]) == ("completed", "12")
    assert hotline.to("/twilio/voice/status")[0]["CallStatus"] == "completed"
    assert call.state == "completed"


async def test_leave_after_overflow_posts_the_enqueue_action(
    simulator: TwilioSimulator, hotline: FakeHotline
) -> None:
    """<Leave/> in wait TwiML: QueueResult=leave with the wait time, then its answer runs."""
    call = await simulator.place_call(CALLER)
    await call.poll_wait(queue_time=130)
    assert call.said[-2:] == [F.OVERFLOW, F.GOODBYE]
    [dequeued] = hotline.to("/twilio/voice/dequeued")
    assert (dequeued["QueueResult"], dequeued["QueueTime"]) == ("leave", "130")
    assert call.state == "completed"
    assert hotline.to("/twilio/voice/status")[0]["CallStatus"] == "completed"


async def test_callback_offer_taken_with_a_key_in_the_queue(
    simulator: TwilioSimulator, hotline: FakeHotline
) -> None:
    """A Gather in wait TwiML takes digits=; its answer's <Leave/> leaves the queue."""
    call = await simulator.place_call(CALLER)
    await call.poll_wait(queue_time=70)  # the offer, no key pressed: still waiting
    assert call.said[-1] == F.CALLBACK_OFFER
    assert (call.state, hotline.to("/twilio/voice/callback")) == ("queued", [])

    await call.poll_wait(queue_time=75, digits=["1"])
    [chosen] = hotline.to("/twilio/voice/callback")
    assert (chosen["Digits"], chosen["QueueTime"]) == ("1", "75")
    assert call.said[-2:] == [F.CALLBACK_CONFIRMED, F.GOODBYE]
    assert hotline.to("/twilio/voice/dequeued")[0]["QueueResult"] == "leave"
    assert call.state == "completed"


async def test_queue_positions_follow_arrival_order(
    simulator: TwilioSimulator, hotline: FakeHotline
) -> None:
    """Two callers: the second hears position 2; after the first hangs up, position 1."""
    first = await simulator.place_call(CALLER)
    second = await simulator.place_call("+8613800000002")
    assert simulator.queue("hotline") == [first, second]
    await second.poll_wait()
    assert second.said[-1] == F.POSITION.format(position=2)
    await first.hangup()
    await second.poll_wait()
    assert second.said[-1] == F.POSITION.format(position=1)


async def test_an_application_error_ends_the_call_without_raising(
    simulator: TwilioSimulator, hotline: FakeHotline
) -> None:
    """A 500 from the hotline is recorded and ends the call; raise_for_errors reports it."""
    call = await simulator.place_call(CALLER, digits=["5"])
    assert call.state == "completed"
    [error] = simulator.errors
    assert (error.call_sid, error.url) == (call.sid, hotline.url("/twilio/voice/danger"))
    assert "500" in error.reason
    assert simulator.webhooks_to("/twilio/voice/danger")[0].status == 500
    assert hotline.to("/twilio/voice/status")[0]["CallStatus"] == "completed"
    with pytest.raises(SimulatorError, match="500"):
        simulator.raise_for_errors()


async def test_a_wrong_signature_is_refused_by_the_hotline(
    aiohttp_server: ServerFactory,
) -> None:
    """The fake really checks signatures: a simulator with another token is refused (403)."""
    fake = FakeHotline()
    server: TestServer = await aiohttp_server(fake.app)
    fake.public_url = str(server.make_url("")).rstrip("/")
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID, auth_token="another-token", webhook_base=fake.public_url
    ) as simulator:
        call = await simulator.place_call(CALLER)
    assert call.state == "completed"
    assert fake.refused == ["/twilio/voice", "/twilio/voice/status"]
    assert simulator.webhooks[0].status == 403
    assert fake.received == []
    assert AUTH_TOKEN != "another-token"


async def test_test_errors_are_simulator_errors(simulator: TwilioSimulator) -> None:
    """Asking a call for something its state does not allow is the test's mistake."""
    call = await simulator.place_call(CALLER)
    with pytest.raises(SimulatorError):
        await call.counsellor_hangs_up()
    await call.hangup()
    with pytest.raises(SimulatorError):
        await call.poll_wait()


async def test_a_dial_without_action_goes_on_with_its_document(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """No action on <Dial>: after a busy target the caller hears what follows, then it ends."""
    simulator.answer_policy["+8613900000000"] = "busy"
    call = await simulator.place_call(CALLER)
    twiml = "<Response><Dial>+8613900000000</Dial><Say>Nobody came.</Say></Response>"
    await twilio.calls(call.sid).update_async(twiml=twiml)
    await simulator.settle()
    assert call.said[-1] == "Nobody came."
    assert (call.state, call.status) == ("completed", "completed")
    assert hotline.to("/twilio/voice/dial-result") == []


async def test_queue_redirects_can_be_reported_to_the_enqueue_action(
    hotline: FakeHotline, twilio: Client, simulator: TwilioSimulator
) -> None:
    """With report_queue_redirects, a REST redirect also posts QueueResult=redirected."""
    simulator.report_queue_redirects = True
    call = await simulator.place_call(CALLER)
    simulator.advance(8)
    await twilio.calls(call.sid).update_async(twiml=hotline.dial_twiml())
    await simulator.settle()
    [dequeued] = hotline.to("/twilio/voice/dequeued")
    assert (dequeued["QueueResult"], dequeued["QueueTime"]) == ("redirected", "8")
    assert call.state == "connected"


async def test_get_requests_are_signed_over_their_query_string(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """A method='GET' Redirect carries the parameters in the URL, and still validates."""
    call = await simulator.place_call(CALLER)
    redirect = f"<Response><Redirect method='GET'>{hotline.url('/twilio/voice/menu')}</Redirect>"
    await twilio.calls(call.sid).update_async(twiml=redirect + "</Response>")
    await simulator.settle()
    [menu] = simulator.webhooks_to("/twilio/voice/menu")
    assert (menu.method, menu.status) == ("GET", 200)
    assert f"CallSid={call.sid}" in menu.url
    assert hotline.refused == []
    assert call.state == "queued"


async def test_reject_ends_an_inbound_call_unanswered(
    simulator: TwilioSimulator, hotline: FakeHotline
) -> None:
    """<Reject reason="busy"/> as the first answer: status busy, nothing after it runs."""
    simulator.voice_url = hotline.url("/twilio/voice/reject")
    call = await simulator.place_call(CALLER)
    assert (call.state, call.status, call.said) == ("completed", "busy", [])
    assert hotline.to("/twilio/voice/status")[0]["CallStatus"] == "busy"
