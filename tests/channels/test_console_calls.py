"""The console's side of telephony: voice tokens, the console's CSP, and failed connections."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jwt
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.web import keys
from hotline.web.app import create_app
from tests.channels.conftest import ACCOUNT_SID, Twilio
from tests.conftest import login_factory

API_KEY_SECRET = "k" * 32


async def test_voice_token_for_the_browser(
    aiohttp_client: Any, telephony_config: Config, clock: ManualClock
) -> None:
    """With an API key, a counsellor gets a token for their own identity that can receive calls."""
    telephony = replace(
        telephony_config.telephony,
        api_key_sid="SK" + "1" * 32,
        api_key_secret=API_KEY_SECRET,
        twiml_app_sid="AP" + "2" * 32,
    )
    client = await aiohttp_client(
        create_app(replace(telephony_config, telephony=telephony), clock=clock)
    )
    wang = await login_factory(aiohttp_client, client)("wang")
    response = await wang.get("/console/api/voice-token")
    assert response.status == 200
    body = await response.json()
    assert body["identity"] == f"counsellor-{wang.user_id}"
    claims = jwt.decode(
        body["token"], API_KEY_SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert claims["iss"] == "SK" + "1" * 32 and claims["sub"] == ACCOUNT_SID
    assert claims["grants"]["identity"] == body["identity"]
    assert claims["grants"]["voice"]["incoming"]["allow"] is True


async def test_voice_token_unavailable_without_api_key(
    phone_client: TestClient[Any, Any], aiohttp_client: Any
) -> None:
    """Without an API key the console is told calls will ring the counsellor's phone."""
    wang = await login_factory(aiohttp_client, phone_client)("wang")
    response = await wang.get("/console/api/voice-token")
    assert response.status == 404 and (await response.json())["error"] == "voice_unavailable"
    page = await wang.get("/console")
    assert "wss://*.twilio.com" in page.headers["Content-Security-Policy"]
    chat = await phone_client.get("/chat")
    assert "twilio" not in chat.headers["Content-Security-Policy"]


async def test_call_that_cannot_be_put_through_goes_back_first(
    aiohttp_client: Any, telephony_config: Config, clock: ManualClock
) -> None:
    """If Twilio's API cannot be reached, the counsellor is told and the caller is first again."""
    unreachable = replace(
        telephony_config,
        telephony=replace(telephony_config.telephony, api_base_url="http://127.0.0.1:9"),
    )
    client = await aiohttp_client(create_app(unreachable, clock=clock))
    wang = await login_factory(aiohttp_client, client)("wang")
    twilio = Twilio(client)
    call = {
        "CallSid": "CA" + "5" * 32,
        "From": "+8613911112222",
        "To": "+865533110000",
        "AccountSid": ACCOUNT_SID,
    }
    await twilio.post("/twilio/voice/district?danger=0", call)
    clock.advance(seconds=5)
    await client.post("/chat/api/conversations", json={})
    # The call cannot be put through: the counsellor is given the web chat behind it, and
    # told why, instead of an error they would meet again on every press.
    taken = await wang.post("/console/api/take-next")
    assert taken.status == 200
    body = await taken.json()
    assert body["notice"] == "call_not_connected" and body["contact"]["channel"] == "webchat"
    app = client.server.app
    assert app is not None
    queue = await app[keys.CONVERSATIONS].queue()
    assert [(c.call_sid, c.requeued) for c in queue] == [(call["CallSid"], True)]
    # With nothing else waiting, the counsellor hears plainly that the call did not connect.
    failed = await wang.post("/console/api/take-next")
    assert failed.status == 502 and (await failed.json())["error"] == "call_not_connected"
