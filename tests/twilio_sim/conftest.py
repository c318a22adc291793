"""A small fake hotline that checks Twilio signatures, the simulator, and a real twilio client.

The fake speaks the webhook contract of docs/telephony.md with fixed TwiML, so these tests
exercise the simulator alone. It verifies every signature with twilio's own
RequestValidator and answers 403 when one is wrong, so a signing bug fails the tests.
`FakePager` adds a dispatch side that pages responders from a second number of the account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hotline.twilio_sim import RedirectingAsyncHttpClient, TwilioSimulator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "simulated-auth-token"
HOTLINE_NUMBER = "+8655312345"
CALLER = "+8613800000001"
PAGING_NUMBER = "+865533110002"  # dispatch's second number, as in config/teams.toml
RESPONDER = "+8613900000009"  # an on-call responder's phone

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass(frozen=True)
class Received:
    """One webhook the fake hotline accepted."""

    path_qs: str
    form: dict[str, str]


class FakeHotline:
    """Fixed TwiML for each webhook of the contract; records what it was sent."""

    GREETING = "Welcome to the hotline."
    DANGER_PROMPT = "If you are in danger now, press 9."
    POSITION = "You are number {position} in line."
    CALLBACK_OFFER = "Press 1 to be called back."
    CALLBACK_CONFIRMED = "We will call you back."
    OVERFLOW = "All counsellors are busy."
    GOODBYE = "Goodbye."
    SMS_ACK = "Thank you, a counsellor will text you soon."

    def __init__(self, auth_token: str = AUTH_TOKEN) -> None:
        self.public_url = ""  # set once the server listens
        self.validator = RequestValidator(auth_token)
        self.received: list[Received] = []
        self.refused: list[str] = []
        # Work the fake does while answering a path, before it answers (e.g. a REST call).
        self.while_answering: dict[str, Callable[[dict[str, str]], Awaitable[object]]] = {}
        self.app = web.Application(middlewares=[self._check_signature])
        for path, handler in {
            "/twilio/voice": self.voice,
            "/twilio/voice/danger": self.danger,
            "/twilio/voice/wait": self.wait,
            "/twilio/voice/callback": self.callback,
            "/twilio/voice/dequeued": self.dequeued,
            "/twilio/voice/answered": self.empty,
            "/twilio/voice/dial-result": self.dial_result,
            "/twilio/voice/status": self.empty,
            "/twilio/sms": self.sms,
            "/twilio/sms/status": self.empty,
        }.items():
            self.app.router.add_post(path, handler)
        self.app.router.add_get("/twilio/voice/menu", self.menu)
        self.app.router.add_post("/twilio/voice/reject", self.reject)

    def url(self, path: str) -> str:
        """An absolute URL on the fake, as the contract's TwiML carries them."""
        return self.public_url + path

    def to(self, path: str) -> list[dict[str, str]]:
        """The forms posted to `path` (query string excluded), in order."""
        return [r.form for r in self.received if r.path_qs.split("?")[0] == path]

    def at(self, path_qs: str) -> list[dict[str, str]]:
        """The forms posted to exactly `path_qs`, query string included, in order."""
        return [r.form for r in self.received if r.path_qs == path_qs]

    @web.middleware
    async def _check_signature(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        form = {key: str(value) for key, value in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self.validator.validate(self.public_url + request.path_qs, form, signature):
            self.refused.append(request.path_qs)
            return web.Response(status=403, text="bad signature")
        self.received.append(Received(request.path_qs, form))
        side_work = self.while_answering.get(request.path)
        if side_work is not None:
            await side_work(form)
        return await handler(request)

    @staticmethod
    def twiml(body: str) -> web.Response:
        """A TwiML answer, with the content type the contract promises."""
        return web.Response(text=f"<Response>{body}</Response>", content_type="text/xml")

    async def voice(self, request: web.Request) -> web.Response:
        """Greeting, the press-9 Gather, then a Redirect for callers who press nothing."""
        danger = self.url("/twilio/voice/danger")
        return self.twiml(
            f"<Say language='en-US'>{self.GREETING}</Say>"
            f"<Gather numDigits='1' timeout='5' action='{danger}'>"
            f"<Say>{self.DANGER_PROMPT}</Say></Gather>"
            f"<Redirect>{danger}</Redirect>"
        )

    def enqueue(self) -> str:
        """The contract's Enqueue verb."""
        return (
            f"<Enqueue waitUrl='{self.url('/twilio/voice/wait')}' waitUrlMethod='POST' "
            f"action='{self.url('/twilio/voice/dequeued')}' method='POST'>hotline</Enqueue>"
        )

    async def danger(self, request: web.Request) -> web.Response:
        """Key 5 breaks the fake (an application error); anything else queues the caller."""
        if (await request.post()).get("Digits") == "5":
            return web.Response(status=500, text="boom")
        return self.twiml(self.enqueue())

    async def wait(self, request: web.Request) -> web.Response:
        """Position and a pause; a callback offer after 60 s; overflow and Leave after 120 s."""
        form = await request.post()
        waited = int(str(form["QueueTime"]))
        if waited >= 120:
            return self.twiml(f"<Say>{self.OVERFLOW}</Say><Leave/>")
        if waited >= 60:
            action = self.url("/twilio/voice/callback")
            return self.twiml(
                f"<Gather numDigits='1' timeout='5' action='{action}'>"
                f"<Say>{self.CALLBACK_OFFER}</Say></Gather>"
            )
        position = self.POSITION.format(position=form["QueuePosition"])
        return self.twiml(f"<Say>{position}</Say><Pause length='10'/>")

    async def callback(self, request: web.Request) -> web.Response:
        """1 takes the callback and leaves the queue; anything else goes back to waiting."""
        if (await request.post()).get("Digits") == "1":
            return self.twiml(f"<Say>{self.CALLBACK_CONFIRMED}</Say><Leave/>")
        return self.twiml(f"<Redirect>{self.url('/twilio/voice/wait')}</Redirect>")

    async def dequeued(self, request: web.Request) -> web.Response:
        """Out of the queue: a goodbye, then hang up."""
        return self.twiml(f"<Say>{self.GOODBYE}</Say><Hangup/>")

    async def dial_result(self, request: web.Request) -> web.Response:
        """Completed hangs up; a counsellor who did not answer puts the caller back in line."""
        if (await request.post()).get("DialCallStatus") == "completed":
            return self.twiml("<Hangup/>")
        return self.twiml(self.enqueue())

    async def menu(self, request: web.Request) -> web.Response:
        """Fetched with GET (parameters in the query string): queue the caller."""
        return self.twiml(self.enqueue())

    async def reject(self, request: web.Request) -> web.Response:
        """Refuse the call unanswered."""
        return self.twiml("<Reject reason='busy'/><Say>unreachable</Say>")

    async def sms(self, request: web.Request) -> web.Response:
        """Every text is acknowledged."""
        return self.twiml(f"<Message>{self.SMS_ACK}</Message>")

    async def empty(self, request: web.Request) -> web.Response:
        """Callbacks whose answer nobody hears."""
        return self.twiml("")

    def dial_twiml(self, target: str = "counsellor-3", contact: int = 7) -> str:
        """The TwiML the hotline sends through REST when a counsellor takes a call."""
        answered = self.url(f"/twilio/voice/answered?contact={contact}")
        result = self.url(f"/twilio/voice/dial-result?contact={contact}")
        return (
            f"<Response><Dial timeout='20' action='{result}'>"
            f"<Client statusCallbackEvent='answered' statusCallback='{answered}'>{target}</Client>"
            "</Dial></Response>"
        )


class FakePager(FakeHotline):
    """The fake hotline plus dispatch paging responders from the paging number.

    The paging number has its own webhooks (`/paging/voice`, `/paging/sms`). A paging call
    (`/paging/call`, the `Url` of a REST-created call) leaves a message on a machine when
    AnsweredBy says one answered, and otherwise asks a person for a key: 1 accepts, 2
    declines, another key asks again. `?strict=1` sets actionOnEmptyResult on its Gather.
    """

    PAGE = "Dispatch request: press 1 to accept, 2 to decline."
    VOICEMAIL = "This is dispatch. Please call the coordinators' desk."
    NO_KEY = "We did not hear a key."
    ACCEPTED = "Accepted, details follow by text."
    DECLINED = "Declined, we will call the next responder."
    NO_ANSWER = "No answer recorded."
    DESK = "Dispatch desk, please hold."
    REPLY_ACK = "Page reply received."

    def __init__(self, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(auth_token)
        for path, handler in {
            "/paging/voice": self.paging_voice,
            "/paging/sms": self.paging_sms,
            "/paging/call": self.page_call,
            "/paging/key": self.page_key,
            "/paging/status": self.empty,
            "/paging/sms-status": self.empty,
        }.items():
            self.app.router.add_post(path, handler)

    async def paging_voice(self, request: web.Request) -> web.Response:
        """Someone calls the paging number back."""
        return self.twiml(f"<Say>{self.DESK}</Say><Hangup/>")

    async def paging_sms(self, request: web.Request) -> web.Response:
        """A responder's reply to a page."""
        return self.twiml(f"<Message>{self.REPLY_ACK}</Message>")

    async def page_call(self, request: web.Request) -> web.Response:
        """The page itself: a message for a machine, the key prompt for a person."""
        if str((await request.post()).get("AnsweredBy", "")).startswith("machine"):
            return self.twiml(f"<Say>{self.VOICEMAIL}</Say><Hangup/>")
        strict = " actionOnEmptyResult='true'" if request.query.get("strict") == "1" else ""
        return self.twiml(
            f"<Gather numDigits='1' timeout='15' action='{self.url('/paging/key')}'{strict}>"
            f"<Say>{self.PAGE}</Say></Gather><Say>{self.NO_KEY}</Say>"
        )

    async def page_key(self, request: web.Request) -> web.Response:
        """1 accepts, 2 declines, no key is recorded as such, another key asks again."""
        digits = (await request.post()).get("Digits")
        if digits == "1":
            return self.twiml(f"<Say>{self.ACCEPTED}</Say><Hangup/>")
        if digits == "2":
            return self.twiml(f"<Say>{self.DECLINED}</Say><Hangup/>")
        if digits is None:
            return self.twiml(f"<Say>{self.NO_ANSWER}</Say><Hangup/>")
        return self.twiml(f"<Redirect>{self.url('/paging/call')}</Redirect>")


Fake = TypeVar("Fake", bound=FakeHotline)


async def serve(aiohttp_server: ServerFactory, hotline: Fake) -> Fake:
    """Serve the fake on a local port and tell it its public URL."""
    server = await aiohttp_server(hotline.app)
    hotline.public_url = str(server.make_url("")).rstrip("/")
    return hotline


@pytest.fixture
async def hotline(aiohttp_server: ServerFactory) -> FakeHotline:
    """The fake hotline, listening."""
    return await serve(aiohttp_server, FakeHotline())


@pytest.fixture
async def simulator(hotline: FakeHotline) -> AsyncIterator[TwilioSimulator]:
    """The simulator, its REST side served, pointed at the fake hotline."""
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        webhook_base=hotline.public_url,
        hotline_number=HOTLINE_NUMBER,
    ) as sim:
        yield sim


@pytest.fixture
async def twilio(simulator: TwilioSimulator) -> AsyncIterator[Client]:
    """The real twilio client, its async HTTP client redirected to the simulator."""
    assert simulator.api_base_url is not None
    http = RedirectingAsyncHttpClient(simulator.api_base_url)
    yield Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    await http.close()


@pytest.fixture
async def pager(aiohttp_server: ServerFactory) -> FakePager:
    """The fake hotline with dispatch's paging webhooks, listening."""
    return await serve(aiohttp_server, FakePager())


@pytest.fixture
async def paging(pager: FakePager) -> AsyncIterator[TwilioSimulator]:
    """A simulator whose account also holds the paging number, with the pager's webhooks."""
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        webhook_base=pager.public_url,
        hotline_number=HOTLINE_NUMBER,
    ) as sim:
        sim.add_number(
            PAGING_NUMBER, voice_url=pager.url("/paging/voice"), sms_url=pager.url("/paging/sms")
        )
        yield sim


@pytest.fixture
async def paging_twilio(paging: TwilioSimulator) -> AsyncIterator[Client]:
    """The real twilio client, pointed at the `paging` simulator."""
    assert paging.api_base_url is not None
    http = RedirectingAsyncHttpClient(paging.api_base_url)
    yield Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    await http.close()
