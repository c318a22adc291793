"""The REST half of the Twilio simulator: the few API endpoints the hotline calls.

A real aiohttp application, so the hotline talks to it through the real `twilio` client
and a real socket, exactly as it would talk to api.twilio.com. It owns the HTTP surface
(auth, routes, Twilio-shaped JSON and errors, a record of every request); what a call
*does* is left to a `CallControl` (the driver), so this module knows nothing of TwiML
execution.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Protocol, TypedDict

from aiohttp import hdrs, web

from hotline.twilio_sim.twiml import TwiMLError, Verb, parse_twiml

__all__ = [
    "API_VERSION",
    "MACHINE_DETECTION_MODES",
    "TWILIO_API_BASE_URL",
    "CallControl",
    "CallResource",
    "RecordedRequest",
    "RestError",
    "SentMessage",
    "TwilioRestSimulator",
    "new_sid",
]

API_VERSION = "2010-04-01"
TWILIO_API_BASE_URL = "https://api.twilio.com"
_ACCOUNT = f"/{API_VERSION}/Accounts/{{account_sid}}"
# Synchronous answering machine detection, as the Calls API's MachineDetection takes it.
MACHINE_DETECTION_MODES = ("Enable", "DetectMessageEnd")
# Where the REST side keeps, on each aiohttp request, the moment it reached the simulator.
_ARRIVED = web.RequestKey("twilio_sim_arrived", float)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_sid(prefix: str) -> str:
    """A Twilio-shaped identifier: two letters of kind, then 32 hex digits."""
    return prefix + uuid.uuid4().hex


@dataclass(frozen=True)
class RecordedRequest:
    """One request the REST side received, as tests want to inspect it.

    `time` is simulated (the driver's clock); `arrived` is real: `time.perf_counter()` when
    the request reached the simulator, so a benchmark can measure how fast the hotline
    reacts to an event without reading the simulated clock.
    """

    method: str
    path: str
    form: dict[str, str]
    query: dict[str, str]
    time: datetime
    status: int
    arrived: float = 0.0


# An outbound text created through `Messages.json`; `status` follows its status callbacks.
# `arrived` is `time.perf_counter()` when the request reached the simulator (real time, for
# benchmarks; `date_created` is simulated time).
# The functional form because one key is the keyword `from`, spelled as Twilio spells it.
SentMessage = TypedDict(
    "SentMessage",
    {
        "sid": str,
        "to": str,
        "from": str,
        "body": str,
        "status_callback": str | None,
        "status": str,
        "date_created": datetime,
        "arrived": float,
    },
)


@dataclass(frozen=True)
class CallResource:
    """What the REST API shows of a call (Twilio's Call resource, the fields we use)."""

    sid: str
    to: str
    from_: str
    status: str
    direction: str
    date_created: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    parent_call_sid: str | None = None
    answered_by: str | None = None  # set only when MachineDetection was asked for


class RestError(Exception):
    """A refusal the REST side answers in Twilio's error shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class CallControl(Protocol):
    """What the REST side asks of whoever runs the calls (the driver)."""

    def owns_number(self, number: str) -> bool:
        """Whether `number` is one of the account's numbers (a valid `From`)."""
        ...

    def create_call(
        self,
        sid: str,
        *,
        to: str,
        from_: str,
        twiml: list[Verb] | None,
        url: str | None,
        method: str,
        status_callback: str | None,
        status_callback_event: tuple[str, ...] = (),
        status_callback_method: str = "POST",
        machine_detection: str | None = None,
        arrived: float | None = None,
    ) -> CallResource:
        """Start an outbound call that runs `twiml` or the TwiML fetched from `url`.

        `status_callback_event` empty means Twilio's default (only "completed");
        `machine_detection` is one of MACHINE_DETECTION_MODES or None; `arrived` is the
        `time.perf_counter()` at which the request reached the simulator.
        """
        ...

    def update_call(
        self,
        sid: str,
        *,
        twiml: list[Verb] | None,
        url: str | None,
        method: str,
        status: str | None,
    ) -> CallResource:
        """Redirect a live call to new TwiML, or end it; raise RestError if it cannot be."""
        ...

    def fetch_call(self, sid: str) -> CallResource:
        """Show a call; raise RestError(404) if there is none."""
        ...

    def message_created(self, message: SentMessage) -> None:
        """Deliver an outbound text (its status callbacks happen in the background)."""
        ...


class TwilioRestSimulator:
    """Twilio's REST API for one account: Calls and Messages, behind HTTP Basic auth."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        control: CallControl,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.control = control
        self.now = now
        self.recorded: list[RecordedRequest] = []
        self.sent_messages: list[SentMessage] = []
        # Outermost first: every request is recorded, every refusal has Twilio's shape,
        # and only then is the caller authenticated.
        self.app = web.Application(
            middlewares=[self._record, self._twilio_errors, self._authenticate]
        )
        self.app.router.add_post(f"{_ACCOUNT}/Calls.json", self._create_call)
        self.app.router.add_post(f"{_ACCOUNT}/Calls/{{call_sid}}.json", self._update_call)
        self.app.router.add_get(f"{_ACCOUNT}/Calls/{{call_sid}}.json", self._fetch_call)
        self.app.router.add_post(f"{_ACCOUNT}/Messages.json", self._create_message)
        self.app.router.add_get(f"{_ACCOUNT}/Messages/{{message_sid}}.json", self._fetch_message)

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        """The recorded requests whose path ends with `path_suffix` (e.g. "/Calls.json")."""
        return [r for r in self.recorded if r.path.endswith(path_suffix)]

    # -- middlewares ---------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Taken first, before the body is read: the moment the request reached us.
        arrived = time.perf_counter()
        request[_ARRIVED] = arrived
        form = await request.post() if request.can_read_body else {}
        response = await handler(request)
        self.recorded.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                form={key: str(value) for key, value in form.items()},
                query=dict(request.query),
                time=self.now(),
                status=response.status,
                arrived=arrived,
            )
        )
        return response

    @web.middleware
    async def _twilio_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except RestError as error:
            response = _error_json(error.status, error.code, error.message)
            if error.status == 401:
                response.headers[hdrs.WWW_AUTHENTICATE] = 'Basic realm="Twilio API"'
            return response
        except web.HTTPNotFound:
            return _error_json(404, 20404, f"The requested resource {request.path} was not found")
        except web.HTTPMethodNotAllowed:
            return _error_json(405, 20004, "Method not allowed")

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        if _basic_credentials(header) != (self.account_sid, self.auth_token):
            raise RestError(401, 20003, "Authenticate")
        return await handler(request)

    # -- handlers ------------------------------------------------------------------------

    def _check_account(self, request: web.Request) -> None:
        # Authenticated as one account but naming another: Twilio says "not found".
        if request.match_info["account_sid"] != self.account_sid:
            raise RestError(404, 20404, f"The requested resource {request.path} was not found")

    async def _create_call(self, request: web.Request) -> web.Response:
        self._check_account(request)
        form = await request.post()
        to, from_ = _field(form, "To"), _field(form, "From")
        if not to:
            raise RestError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise RestError(400, 21213, "No 'From' number is specified")
        # A client identity may call from "client:name"; a number must be the account's own.
        if not from_.startswith("client:") and not self.control.owns_number(from_):
            raise RestError(
                400,
                21210,
                f"The source phone number provided, {from_}, is not yet verified for your "
                "account. You may only make calls from phone numbers that you've verified or "
                "purchased from Twilio.",
            )
        twiml, url = _twiml_or_url(form)
        if twiml is None and url is None:
            raise RestError(400, 21205, "Either 'Url' or 'Twiml' must be specified")
        machine_detection = _field(form, "MachineDetection")
        if machine_detection is not None and machine_detection not in MACHINE_DETECTION_MODES:
            raise RestError(
                400,
                21234,
                f"Invalid MachineDetection {machine_detection!r}: "
                f"use one of {', '.join(MACHINE_DETECTION_MODES)}",
            )
        if (_field(form, "AsyncAmd") or "false").lower() == "true":
            # Refused loudly rather than run as synchronous detection, which would put
            # AnsweredBy where asynchronous AMD never does (in the Url request).
            raise RestError(400, 21234, "AsyncAmd is not simulated; use synchronous detection")
        resource = self.control.create_call(
            new_sid("CA"),
            to=to,
            from_=from_,
            twiml=twiml,
            url=url,
            method=_field(form, "Method") or "POST",
            status_callback=_field(form, "StatusCallback"),
            status_callback_event=_events(form),
            status_callback_method=(_field(form, "StatusCallbackMethod") or "POST").upper(),
            machine_detection=machine_detection,
            arrived=request[_ARRIVED],
        )
        return web.json_response(self._call_json(resource), status=201)

    async def _update_call(self, request: web.Request) -> web.Response:
        self._check_account(request)
        form = await request.post()
        twiml, url = _twiml_or_url(form)
        status = _field(form, "Status")
        if status is not None and status not in ("completed", "canceled"):
            raise RestError(400, 21218, f"Invalid Status {status!r}: use completed or canceled")
        if twiml is None and url is None and status is None:
            raise RestError(400, 21205, "Give 'Twiml', 'Url' or 'Status' to update a call")
        resource = self.control.update_call(
            request.match_info["call_sid"],
            twiml=twiml,
            url=url,
            method=_field(form, "Method") or "POST",
            status=status,
        )
        return web.json_response(self._call_json(resource))

    async def _fetch_call(self, request: web.Request) -> web.Response:
        self._check_account(request)
        resource = self.control.fetch_call(request.match_info["call_sid"])
        return web.json_response(self._call_json(resource))

    async def _create_message(self, request: web.Request) -> web.Response:
        self._check_account(request)
        form = await request.post()
        to = _field(form, "To")
        from_ = _field(form, "From") or _field(form, "MessagingServiceSid")
        body = _field(form, "Body")
        if not to:
            raise RestError(400, 21604, "A 'To' phone number is required")
        if not from_:
            raise RestError(400, 21603, "A 'From' phone number is required")
        if not body:
            raise RestError(400, 21602, "Message body is required")
        # A Messaging Service picks one of its own numbers; a From must be the account's.
        if _field(form, "From") is not None and not self.control.owns_number(from_):
            raise RestError(
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone "
                "number or short code for your account.",
            )
        message: SentMessage = {
            "sid": new_sid("SM"),
            "to": to,
            "from": from_,
            "body": body,
            "status_callback": _field(form, "StatusCallback"),
            "status": "queued",
            "date_created": self.now(),
            "arrived": request[_ARRIVED],
        }
        self.sent_messages.append(message)
        self.control.message_created(message)
        return web.json_response(self._message_json(message), status=201)

    async def _fetch_message(self, request: web.Request) -> web.Response:
        self._check_account(request)
        sid = request.match_info["message_sid"]
        for message in self.sent_messages:
            if message["sid"] == sid:
                return web.json_response(self._message_json(message))
        raise RestError(404, 20404, f"The requested resource {request.path} was not found")

    # -- JSON ----------------------------------------------------------------------------

    def _call_json(self, call: CallResource) -> dict[str, Any]:
        return {
            "sid": call.sid,
            "account_sid": self.account_sid,
            "parent_call_sid": call.parent_call_sid,
            "to": call.to,
            "to_formatted": call.to,
            "from": call.from_,
            "from_formatted": call.from_,
            "status": call.status,
            "direction": call.direction,
            "date_created": _rfc2822(call.date_created),
            "date_updated": _rfc2822(self.now()),
            "start_time": _rfc2822(call.start_time),
            "end_time": _rfc2822(call.end_time),
            "duration": None if call.duration is None else str(call.duration),
            "answered_by": call.answered_by,
            "price": None,
            "price_unit": "USD",
            "api_version": API_VERSION,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call.sid}.json",
            "subresource_uris": {},
        }

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        return {
            "sid": message["sid"],
            "account_sid": self.account_sid,
            "to": message["to"],
            "from": message["from"],
            "body": message["body"],
            "status": message["status"],
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "date_created": _rfc2822(message["date_created"]),
            "date_updated": _rfc2822(self.now()),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "messaging_service_sid": None,
            "api_version": API_VERSION,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message['sid']}.json",
            "subresource_uris": {},
        }


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """The (login, password) of a Basic Authorization header, or None if it is not one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, colon, password = decoded.partition(":")
    return (login, password) if colon else None


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return str(value) if value is not None and str(value) != "" else None


def _events(form: Any) -> tuple[str, ...]:
    """StatusCallbackEvent as the twilio client sends it (repeated) or as one spaced string."""
    values = form.getall("StatusCallbackEvent", [])
    return tuple(event for value in values for event in str(value).split())


def _twiml_or_url(form: Any) -> tuple[list[Verb] | None, str | None]:
    twiml, url = _field(form, "Twiml"), _field(form, "Url")
    if twiml is not None and url is not None:
        raise RestError(400, 21205, "Give either 'Twiml' or 'Url', not both")
    if twiml is None:
        return None, url
    try:
        return parse_twiml(twiml), None
    except TwiMLError as error:
        # Twilio validates the Twiml parameter when the request is made, not when it runs.
        raise RestError(400, 12100, f"Document parse failure: {error}") from None


def _rfc2822(instant: datetime | None) -> str | None:
    return None if instant is None else format_datetime(instant.astimezone(UTC))


def _error_json(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )
