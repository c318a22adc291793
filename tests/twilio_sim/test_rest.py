"""The REST side through the real twilio client: create and update calls, send texts, auth."""

from __future__ import annotations

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline.twilio_sim import Dial, DialTarget, RedirectingAsyncHttpClient, TwilioSimulator
from tests.twilio_sim.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, HOTLINE_NUMBER, FakeHotline

CALLS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


async def test_calls_create_starts_an_outbound_call_running_its_twiml(
    simulator: TwilioSimulator, twilio: Client
) -> None:
    """calls.create_async returns a CA sid; the call rings To, then dials the caller."""
    twiml = (
        f"<Response><Dial callerId='{HOTLINE_NUMBER}'><Number>{CALLER}</Number></Dial></Response>"
    )
    created = await twilio.calls.create_async(
        to="client:counsellor-3", from_=HOTLINE_NUMBER, twiml=twiml
    )
    assert created.sid is not None
    assert created.sid.startswith("CA")
    assert len(created.sid) == 34
    assert (created.status, created.direction) == ("queued", "outbound-api")
    assert (created.to, created._from) == ("client:counsellor-3", HOTLINE_NUMBER)
    assert created.date_created is not None

    await simulator.settle()
    call = simulator.calls[created.sid]
    assert call.verbs == [
        Dial(caller_id=HOTLINE_NUMBER, targets=[DialTarget("number", CALLER)]),
    ]
    assert (call.state, call.dial_target) == ("connected", CALLER)
    [recorded] = simulator.rest.requests_to("/Calls.json")
    assert recorded.form["Twiml"] == twiml
    assert recorded.form["To"] == "client:counsellor-3"
    assert recorded.status == 201


async def test_calls_create_to_someone_who_does_not_answer_ends_unanswered(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """The answer policy applies to the party an outbound call rings first."""
    simulator.answer_policy["counsellor-3"] = "busy"
    created = await twilio.calls.create_async(
        to="client:counsellor-3",
        from_=HOTLINE_NUMBER,
        twiml="<Response><Say>never heard</Say></Response>",
        status_callback=hotline.url("/twilio/voice/status"),
    )
    await simulator.settle()
    call = simulator.calls[str(created.sid)]
    assert (call.state, call.status, call.said) == ("completed", "busy", [])
    assert hotline.to("/twilio/voice/status")[-1]["CallStatus"] == "busy"
    fetched = await twilio.calls(str(created.sid)).fetch_async()
    assert fetched.status == "busy"


async def test_calls_create_with_url_fetches_the_twiml_signed(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """Url instead of Twiml: the answered call requests it (in-progress, outbound-api)."""
    created = await twilio.calls.create_async(
        to=CALLER, from_=HOTLINE_NUMBER, url=hotline.url("/twilio/voice/danger")
    )
    await simulator.settle()
    [fetched] = hotline.to("/twilio/voice/danger")
    assert fetched["CallSid"] == created.sid
    assert (fetched["CallStatus"], fetched["Direction"]) == ("in-progress", "outbound-api")
    assert simulator.calls[str(created.sid)].state == "queued"


async def test_call_update_redirects_a_queued_call_and_status_completed_ends_it(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """update_async(twiml=…) takes the caller out of the queue; status=completed hangs up."""
    call = await simulator.place_call(CALLER)
    assert call.state == "queued"

    updated = await twilio.calls(call.sid).update_async(twiml=hotline.dial_twiml())
    assert (updated.sid, updated.status) == (call.sid, "in-progress")
    assert simulator.queue("hotline") == []
    await simulator.settle()
    assert call.state == "connected"

    ended = await twilio.calls(call.sid).update_async(status="completed")
    assert ended.status == "completed"
    await simulator.settle()
    assert call.state == "completed"
    # Ended through the API: no Dial action, only the status callback.
    assert hotline.to("/twilio/voice/dial-result") == []
    assert [f["CallStatus"] for f in hotline.to("/twilio/voice/status")] == ["completed"]


async def test_updating_an_ended_or_unknown_call_is_refused_like_twilio(
    simulator: TwilioSimulator, twilio: Client
) -> None:
    """A finished call cannot be redirected (400 21220); an unknown one is 404 20404."""
    call = await simulator.place_call(CALLER)
    await call.hangup()
    with pytest.raises(TwilioRestException) as ended:
        await twilio.calls(call.sid).update_async(twiml="<Response><Hangup/></Response>")
    assert (ended.value.status, ended.value.code) == (400, 21220)

    with pytest.raises(TwilioRestException) as unknown:
        await twilio.calls("CA" + "f" * 32).update_async(twiml="<Response/>")
    assert (unknown.value.status, unknown.value.code) == (404, 20404)


async def test_invalid_twiml_is_refused_when_the_request_is_made(
    simulator: TwilioSimulator, twilio: Client
) -> None:
    """The Twiml parameter is parsed at once, so a bad document is the hotline's 400."""
    call = await simulator.place_call(CALLER)
    with pytest.raises(TwilioRestException) as raised:
        await twilio.calls(call.sid).update_async(twiml="<Response><Dance/></Response>")
    assert (raised.value.status, raised.value.code) == (400, 12100)
    assert call.state == "queued"


async def test_messages_create_returns_the_message_and_records_it(
    simulator: TwilioSimulator, twilio: Client, hotline: FakeHotline
) -> None:
    """messages.create_async answers 201 with sid/status/body; sent_messages keeps it."""
    callback = hotline.url("/twilio/sms/status?message=12")
    message = await twilio.messages.create_async(
        to=CALLER, from_=HOTLINE_NUMBER, body="A counsellor here.", status_callback=callback
    )
    assert message.sid is not None
    assert message.sid.startswith("SM")
    assert (message.status, message.body, message.to, message.from_) == (
        "queued",
        "A counsellor here.",
        CALLER,
        HOTLINE_NUMBER,
    )
    [sent] = simulator.rest.sent_messages
    assert sent["sid"] == message.sid
    assert (sent["to"], sent["from"], sent["body"]) == (
        CALLER,
        HOTLINE_NUMBER,
        "A counsellor here.",
    )
    assert sent["status_callback"] == callback


async def test_wrong_credentials_are_refused_with_twilio_401(simulator: TwilioSimulator) -> None:
    """A wrong auth token gets 401 code 20003 through the real client, and is recorded."""
    assert simulator.api_base_url is not None
    http = RedirectingAsyncHttpClient(simulator.api_base_url)
    try:
        client = Client(ACCOUNT_SID, "not-the-token", http_client=http)
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(to=CALLER, from_=HOTLINE_NUMBER, body="x")
    finally:
        await http.close()
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert [r.status for r in simulator.rest.recorded] == [401]
    assert simulator.rest.sent_messages == []


async def test_another_accounts_path_and_unknown_routes_are_404_in_twilio_shape(
    simulator: TwilioSimulator, twilio: Client
) -> None:
    """Authenticated, but naming another account or no route: Twilio's 404 error JSON."""
    other = "AC" + "9" * 32
    with pytest.raises(TwilioRestException) as raised:
        await twilio.api.v2010.accounts(other).calls.create_async(
            to=CALLER, from_=HOTLINE_NUMBER, twiml="<Response/>"
        )
    assert (raised.value.status, raised.value.code) == (404, 20404)

    auth = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}
    async with aiohttp.ClientSession(headers=auth) as session:
        url = f"{simulator.api_base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json"
        async with session.get(url) as response:
            assert response.status == 404
            body = await response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (20404, 404)


async def test_missing_parameters_get_twilio_error_codes(
    simulator: TwilioSimulator, twilio: Client
) -> None:
    """A call with neither Twiml nor Url is refused before anything rings."""
    with pytest.raises(TwilioRestException) as raised:
        await twilio.calls.create_async(to=CALLER, from_=HOTLINE_NUMBER)
    assert (raised.value.status, raised.value.code) == (400, 21205)
    assert simulator.calls == {}
    assert simulator.rest.requests_to("/Calls.json")[0].path == CALLS
