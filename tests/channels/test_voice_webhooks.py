"""Voice webhooks one by one: signatures, and the TwiML answered, parsed verb by verb."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.counsellors import Presence
from hotline.risk import RiskLevel
from hotline.twilio_sim.twiml import (
    Dial,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Pause,
    Redirect,
    Say,
    parse_twiml,
)
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from tests.channels.conftest import AUTH_TOKEN, PUBLIC_URL, Twilio

CALLER = "+8613912345678"


def _call(sid: str = "CA" + "1" * 32, **extra: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": "+865533110000",
        "CallStatus": "in-progress",
        **extra,
    }


async def _counsellor_available(client: TestClient[Any, Any]) -> int:
    app = client.server.app
    assert app is not None
    user = await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, "long enough password")
    await app[keys.COUNSELLORS].set_presence(user.id, Presence.AVAILABLE)
    return user.id


async def _verbs(response: Any) -> list[Any]:
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    return parse_twiml(await response.text())


async def test_unsigned_forged_and_malformed_webhooks_change_nothing(
    twilio: Twilio, phone_client: TestClient[Any, Any]
) -> None:
    """No signature, a wrong key, another URL's signature: 403. A missing field: 400."""
    unsigned = await phone_client.post("/twilio/voice", data=_call())
    assert unsigned.status == 403
    forged = await Twilio(phone_client, token="not-the-token").post("/twilio/voice", _call())
    assert forged.status == 403
    other_url = await twilio.post(
        "/twilio/voice/district?danger=1",
        _call(Digits="1"),
        signature=await _signature_for("/twilio/voice/district?danger=0", _call(Digits="1")),
    )
    assert other_url.status == 403
    malformed = await twilio.post("/twilio/voice/district?danger=0", {"From": CALLER})
    assert malformed.status == 400
    sms_malformed = await twilio.post("/twilio/sms", {"Body": "hello"})
    assert sms_malformed.status == 400
    assert (await (await phone_client.get("/healthz")).json())["queue_length"] == 0


async def _signature_for(path: str, params: dict[str, str]) -> str:
    return str(RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, params))


async def test_telephony_off_answers_503_with_the_reason(client: TestClient[Any, Any]) -> None:
    """Without Twilio credentials the endpoints say plainly that telephony is off."""
    response = await client.post("/twilio/voice", data=_call())
    assert response.status == 503
    assert "TWILIO_ACCOUNT_SID" in await response.text()


async def test_greeting_then_danger_question(twilio: Twilio, telephony_config: Config) -> None:
    """Greeting and confidentiality in Mandarin, then press 9 for danger; no recording notice."""
    texts = telephony_config.telephony.texts
    verbs = await _verbs(await twilio.post("/twilio/voice", _call()))
    danger_url = PUBLIC_URL + "/twilio/voice/danger"
    assert verbs == [
        Say(texts["greeting"], language="zh-CN"),
        Say(texts["confidentiality"], language="zh-CN"),
        Gather(
            action=danger_url,
            num_digits=1,
            timeout=5,
            children=[Say(texts["danger_prompt"], language="zh-CN")],
        ),
        Redirect(danger_url),
    ]
    assert all(texts["recording_notice"] != getattr(v, "text", None) for v in verbs)


async def test_recording_is_announced_only_when_enabled(
    aiohttp_client: Any, telephony_config: Config, clock: ManualClock
) -> None:
    """With recording on, callers are told before anything else is asked."""
    recording = replace(
        telephony_config, telephony=replace(telephony_config.telephony, recording_enabled=True)
    )
    twilio = Twilio(await aiohttp_client(create_app(recording, clock=clock)))
    verbs = await _verbs(await twilio.post("/twilio/voice", _call()))
    assert verbs[2] == Say(telephony_config.telephony.texts["recording_notice"], language="zh-CN")


async def test_district_menu_lists_every_district_by_key(
    twilio: Twilio, telephony_config: Config
) -> None:
    """After the danger key, the district menu offers districts 1-8 in config order."""
    verbs = await _verbs(await twilio.post("/twilio/voice/danger", _call(Digits="9")))
    gather, redirect = verbs
    url = PUBLIC_URL + "/twilio/voice/district?danger=1"
    assert isinstance(gather, Gather) and gather.action == url
    spoken = [child.text for child in gather.children if isinstance(child, Say)]
    assert spoken[1] == "镜湖区请按1。" and spoken[8] == "无为县请按8。"
    assert redirect == Redirect(url)
    no_danger = await _verbs(await twilio.post("/twilio/voice/danger", _call(Digits="1")))
    assert no_danger[0].action.endswith("danger=0")


async def test_press_9_call_jumps_ahead_of_earlier_calls(
    twilio: Twilio, phone_client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """A caller who presses 9 is answered before callers who have waited longer."""
    await _counsellor_available(phone_client)
    app = phone_client.server.app
    assert app is not None
    sids = ["CA" + str(i) * 32 for i in range(1, 4)]
    for sid, danger, key in zip(sids, ("0", "0", "1"), ("1", "", "3"), strict=True):
        verbs = await _verbs(
            await twilio.post(f"/twilio/voice/district?danger={danger}", _call(sid, Digits=key))
        )
        assert verbs == [
            Enqueue(
                "hotline",
                wait_url=PUBLIC_URL + "/twilio/voice/wait",
                action=PUBLIC_URL + "/twilio/voice/dequeued",
            )
        ]
        clock.advance(seconds=30)
    queue = await app[keys.CONVERSATIONS].queue()
    assert [c.call_sid for c in queue] == [sids[2], sids[0], sids[1]]
    assert queue[0].risk is RiskLevel.IMMINENT and queue[0].district == "jiujiang"
    assert queue[1].district == "jinghu" and queue[2].district is None
    [rise] = [
        e
        for e in await app[keys.DATABASE].events_for(f"contact:{queue[0].id}")
        if e.kind == "contact.risk_changed"
    ]
    assert (rise.actor, rise.data["reasons"]) == ("ivr", ["ivr.danger_key"])
    # Twilio retries a webhook it did not hear back from: still one contact per call.
    await twilio.post("/twilio/voice/district?danger=1", _call(sids[2], Digits="3"))
    assert await app[keys.CONVERSATIONS].queue_length() == 3


async def test_nobody_available_overflows_to_the_backup(
    twilio: Twilio, phone_client: TestClient[Any, Any], telephony_config: Config
) -> None:
    """With no counsellor ready, the call goes to the backup number and the contact says so."""
    verbs = await _verbs(await twilio.post("/twilio/voice/district?danger=1", _call(Digits="2")))
    assert verbs == [
        Say(telephony_config.telephony.texts["overflow"], language="zh-CN"),
        Dial(
            action=PUBLIC_URL + "/twilio/voice/overflow-result",
            caller_id=telephony_config.telephony.phone_number,
            targets=verbs[1].targets,
        ),
    ]
    assert [t.value for t in verbs[1].targets] == [telephony_config.telephony.backup_number]
    app = phone_client.server.app
    assert app is not None
    contact = await app[keys.CONVERSATIONS].by_call_sid(_call()["CallSid"])
    assert contact is not None
    assert (contact.state.value, contact.transferred_to) == ("transferred", "backup")


async def test_waiting_caller_hears_position_then_callback_offer_then_overflow(
    twilio: Twilio, phone_client: TestClient[Any, Any], telephony_config: Config
) -> None:
    """Position first; after the offer time a callback offer; past the limit, the backup."""
    await _counsellor_available(phone_client)
    limits = telephony_config.telephony
    first, second = "CA" + "a" * 32, "CA" + "b" * 32
    for sid in (first, second):
        await twilio.post("/twilio/voice/district?danger=0", _call(sid))
    early = await _verbs(await twilio.post("/twilio/voice/wait", _call(second, QueueTime="10")))
    assert early[0] == Say("您前面还有1位来电者。", language="zh-CN")
    assert isinstance(early[-1], Pause) and not any(isinstance(v, Gather) for v in early)
    later = await _verbs(
        await twilio.post(
            "/twilio/voice/wait", _call(first, QueueTime=str(limits.callback_offer_after_seconds))
        )
    )
    assert later[0] == Say(limits.texts["next_in_line"], language="zh-CN")
    [offer] = [v for v in later if isinstance(v, Gather)]
    assert offer.action == PUBLIC_URL + "/twilio/voice/callback"
    too_long = await _verbs(
        await twilio.post(
            "/twilio/voice/wait", _call(first, QueueTime=str(limits.overflow_after_seconds))
        )
    )
    assert too_long == [Say(limits.texts["overflow"], language="zh-CN"), Leave()]


async def test_hanging_up_while_waiting_is_abandoned_with_time_waited(
    twilio: Twilio, phone_client: TestClient[Any, Any]
) -> None:
    """The caller who gives up is recorded as abandoned, with how long they waited."""
    await _counsellor_available(phone_client)
    await twilio.post("/twilio/voice/district?danger=0", _call())
    verbs = await _verbs(
        await twilio.post("/twilio/voice/dequeued", _call(QueueResult="hangup", QueueTime="95"))
    )
    assert verbs == [Hangup()]
    app = phone_client.server.app
    assert app is not None
    contact = await app[keys.CONVERSATIONS].by_call_sid(_call()["CallSid"])
    assert contact is not None and contact.state.value == "abandoned"
    events = await app[keys.DATABASE].events_for(f"contact:{contact.id}")
    assert events[-1].data["waited_seconds"] == 95


@pytest.mark.parametrize("digits", ["1", "5"])
async def test_callback_choice(
    twilio: Twilio, phone_client: TestClient[Any, Any], telephony_config: Config, digits: str
) -> None:
    """Key 1 books a callback and lets the caller go; another key keeps them holding."""
    await _counsellor_available(phone_client)
    await twilio.post("/twilio/voice/district?danger=0", _call())
    verbs = await _verbs(await twilio.post("/twilio/voice/callback", _call(Digits=digits)))
    app = phone_client.server.app
    assert app is not None
    contact = await app[keys.CONVERSATIONS].by_call_sid(_call()["CallSid"])
    assert contact is not None
    if digits == "1":
        assert verbs == [
            Say(telephony_config.telephony.texts["callback_confirmed"], language="zh-CN"),
            Leave(),
        ]
        assert contact.callback_requested
        after = await _verbs(
            await twilio.post("/twilio/voice/dequeued", _call(QueueResult="leave"))
        )
        assert after == [Hangup()]
        await twilio.post("/twilio/voice/status", _call(CallStatus="completed"))
        still = await app[keys.CONVERSATIONS].get(contact.id)
        assert still.state.value == "queued", "a booked callback waits for a counsellor"
    else:
        assert verbs == [Redirect(PUBLIC_URL + "/twilio/voice/wait")]
        assert not contact.callback_requested
