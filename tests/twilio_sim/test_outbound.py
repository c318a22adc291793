"""Calls the hotline places through REST: who answers, what they press, what is reported.

A page is a call from the paging number to a responder. The responder may not answer, be
busy, or let an answering machine pick up; with MachineDetection, Twilio says which in
AnsweredBy. A machine never presses a key, so every <Gather> it hears times out.
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline.twilio_sim import Gather, Hangup, Say, TwilioSimulator
from tests.twilio_sim.conftest import CALLER, PAGING_NUMBER, RESPONDER, FakePager

ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


async def page(twilio: Client, pager: FakePager, *, query: str = "", **options: object) -> str:
    """Call the responder from the paging number with the page TwiML; return the CallSid."""
    created = await twilio.calls.create_async(
        to=RESPONDER,
        from_=PAGING_NUMBER,
        url=pager.url("/paging/call" + query),
        status_callback=pager.url("/paging/status"),
        **options,
    )
    assert created.sid is not None
    return str(created.sid)


@pytest.mark.parametrize(
    ("policy", "detection", "answered_by"),
    [
        ("answer", "Enable", "human"),
        ("machine", "Enable", "machine_start"),
        ("answer", "DetectMessageEnd", "human"),
        ("machine", "DetectMessageEnd", "machine_end_beep"),
    ],
)
async def test_machine_detection_tells_the_url_and_the_status_callback_who_answered(
    paging: TwilioSimulator,
    paging_twilio: Client,
    pager: FakePager,
    policy: str,
    detection: str,
    answered_by: str,
) -> None:
    """AnsweredBy reaches the Url request, the final status callback and the resource."""
    paging.answer_policy[RESPONDER] = policy
    sid = await page(paging_twilio, pager, machine_detection=detection)
    await paging.settle()

    [fetched] = pager.to("/paging/call")
    assert (fetched["CallSid"], fetched["AnsweredBy"]) == (sid, answered_by)
    assert (fetched["CallStatus"], fetched["Direction"]) == ("in-progress", "outbound-api")
    [status] = pager.to("/paging/status")
    assert (status["CallStatus"], status["AnsweredBy"]) == ("completed", answered_by)
    call = paging.calls[sid]
    assert (call.answered_by, call.answered_by_machine) == (answered_by, policy == "machine")
    if policy == "machine":
        assert call.said == [FakePager.VOICEMAIL]  # the message left on the machine
        assert call.verbs == [Say(FakePager.VOICEMAIL), Hangup()]
    fetched_call = await paging_twilio.calls(sid).fetch_async()
    assert (fetched_call.status, fetched_call.answered_by) == ("completed", answered_by)
    assert paging.errors == []
    assert pager.refused == []


async def test_without_machine_detection_a_machine_hears_the_gather_time_out(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """No MachineDetection, no AnsweredBy anywhere; the Gather times out and the call ends."""
    paging.answer_policy[RESPONDER] = "machine"
    paging.outbound_digits[RESPONDER] = ["1"]  # what the person would press: never used
    sid = await page(paging_twilio, pager)
    await paging.settle()

    [fetched] = pager.to("/paging/call")
    assert "AnsweredBy" not in fetched
    call = paging.calls[sid]
    assert call.said == [FakePager.PAGE, FakePager.NO_KEY]
    assert isinstance(call.verbs[0], Gather)
    assert pager.to("/paging/key") == []
    [status] = pager.to("/paging/status")
    assert status["CallStatus"] == "completed"
    assert "AnsweredBy" not in status
    assert (call.answered_by, call.answered_by_machine) == (None, True)
    assert paging.outbound_digits[RESPONDER] == ["1"]
    fetched_call = await paging_twilio.calls(sid).fetch_async()
    assert fetched_call.answered_by is None


async def test_a_gather_with_action_on_empty_result_posts_its_action_without_digits(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """actionOnEmptyResult="true": a machine's timeout requests the action, with no Digits."""
    paging.answer_policy[RESPONDER] = "machine"
    sid = await page(paging_twilio, pager, query="?strict=1")
    await paging.settle()
    [key] = pager.to("/paging/key")
    assert key["CallSid"] == sid
    assert "Digits" not in key
    assert paging.calls[sid].said == [FakePager.PAGE, FakePager.NO_ANSWER]


async def test_outbound_digits_are_pressed_one_per_gather_and_consumed_across_calls(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """A person presses the scripted keys in order, call after call; then nothing."""
    paging.outbound_digits[RESPONDER] = ["7", "1", "2"]
    first = await page(paging_twilio, pager, machine_detection="Enable")
    await paging.settle()
    # 7 is no choice: the page is asked again, and the second Gather hears 1.
    assert [k["Digits"] for k in pager.to("/paging/key")] == ["7", "1"]
    assert paging.calls[first].said == [FakePager.PAGE, FakePager.PAGE, FakePager.ACCEPTED]
    assert paging.outbound_digits[RESPONDER] == ["2"]

    second = await page(paging_twilio, pager)
    await paging.settle()
    assert pager.to("/paging/key")[-1]["Digits"] == "2"
    assert paging.calls[second].said[-1] == FakePager.DECLINED
    assert paging.outbound_digits[RESPONDER] == []

    third = await page(paging_twilio, pager)
    await paging.settle()
    assert len(pager.to("/paging/key")) == 3
    assert paging.calls[third].said == [FakePager.PAGE, FakePager.NO_KEY]
    assert paging.errors == []


async def test_an_empty_entry_is_a_gather_that_times_out(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """ "" presses nothing: the document goes on, or the action hears no Digits if asked."""
    paging.outbound_digits[RESPONDER] = ["", ""]
    plain = await page(paging_twilio, pager)
    await paging.settle()
    assert paging.calls[plain].said == [FakePager.PAGE, FakePager.NO_KEY]
    assert pager.to("/paging/key") == []

    strict = await page(paging_twilio, pager, query="?strict=1")
    await paging.settle()
    [key] = pager.to("/paging/key")
    assert "Digits" not in key
    assert paging.calls[strict].said[-1] == FakePager.NO_ANSWER
    assert paging.outbound_digits[RESPONDER] == []


async def test_status_callback_events_follow_a_call_through_its_life(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """StatusCallbackEvent: initiated, ringing, answered (in-progress), completed, numbered."""
    paging.answer_policy[RESPONDER] = "machine"
    sid = await page(
        paging_twilio, pager, machine_detection="Enable", status_callback_event=ALL_EVENTS
    )
    await paging.settle()
    statuses = pager.to("/paging/status")
    assert [s["CallStatus"] for s in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [s["SequenceNumber"] for s in statuses] == ["0", "1", "2", "3"]
    assert {s["CallbackSource"] for s in statuses} == {"call-progress-events"}
    assert {s["CallSid"] for s in statuses} == {sid}
    assert [s.get("AnsweredBy") for s in statuses] == [None, None, None, "machine_start"]
    # The answered callback comes before the TwiML is fetched.
    paths = [r.path_qs for r in pager.received]
    assert paths.index("/paging/call") == 3


@pytest.mark.parametrize(
    ("policy", "statuses"),
    [
        ("no-answer", ["initiated", "ringing", "no-answer"]),
        ("busy", ["initiated", "ringing", "busy"]),
        ("failed", ["initiated", "failed"]),
    ],
)
async def test_unanswered_pages_end_without_fetching_their_twiml(
    paging: TwilioSimulator,
    paging_twilio: Client,
    pager: FakePager,
    policy: str,
    statuses: list[str],
) -> None:
    """no-answer, busy and failed end the call; detection ran on nothing, so no AnsweredBy."""
    paging.answer_policy[RESPONDER] = policy
    sid = await page(
        paging_twilio, pager, machine_detection="Enable", status_callback_event=ALL_EVENTS
    )
    await paging.settle()
    assert pager.to("/paging/call") == []
    callbacks = pager.to("/paging/status")
    assert [s["CallStatus"] for s in callbacks] == statuses
    assert all("AnsweredBy" not in s for s in callbacks)
    call = paging.calls[sid]
    assert (call.state, call.status, call.answered_by) == ("completed", policy, None)
    assert (await paging_twilio.calls(sid).fetch_async()).status == policy


async def test_the_default_status_callback_hears_only_the_end(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """Without StatusCallbackEvent only "completed" is posted, unnumbered, as before."""
    paging.answer_policy[RESPONDER] = "busy"
    await page(paging_twilio, pager)
    await paging.settle()
    [status] = pager.to("/paging/status")
    assert status["CallStatus"] == "busy"
    assert "SequenceNumber" not in status


async def test_machine_detection_values_twilio_refuses_are_refused(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """An unknown MachineDetection is 400 21234; asynchronous AMD is not simulated."""
    with pytest.raises(TwilioRestException) as unknown:
        await page(paging_twilio, pager, machine_detection="Sometimes")
    assert (unknown.value.status, unknown.value.code) == (400, 21234)
    with pytest.raises(TwilioRestException) as asynchronous:
        await page(paging_twilio, pager, machine_detection="Enable", async_amd="true")
    assert (asynchronous.value.status, asynchronous.value.code) == (400, 21234)
    assert paging.calls == {}


async def test_a_machine_reached_by_a_dial_is_bridged_like_a_person(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """In a <Dial> (no detection there) a machine answers: the caller is connected."""
    paging.answer_policy["+8613900000000"] = "machine"
    call = await paging.place_call(CALLER)
    await paging_twilio.calls(call.sid).update_async(
        twiml="<Response><Dial>+8613900000000</Dial></Response>"
    )
    await paging.settle()
    assert (call.state, call.dial_target) == ("connected", "+8613900000000")
