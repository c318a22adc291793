"""The hotline's side of Twilio: checking webhooks, answering in TwiML, calling the REST API.

Every webhook is checked with the `twilio` package's own `RequestValidator` against the
public URL Twilio used (`telephony.public_url`), so a forged or replayed-with-changes request
changes nothing. The REST API is reached through the real `twilio` client; its HTTP client is
pointed at `telephony.api_base_url`, which is Twilio itself in production and the bundled
simulator in tests and the demo.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import structlog
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hotline.config import TelephonyConfig

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_WEBHOOK_BYTES = 64 * 1024

# The twilio client logs whole responses at INFO; those carry phone numbers and message text,
# so its logger is held at WARNING whatever the root level is.
_client_log = logging.getLogger("hotline.twilio_client")
_client_log.setLevel(logging.WARNING)


class TelephonyUnavailable(web.HTTPServiceUnavailable):
    """Telephony is not configured; the reason is the body."""


class RedirectingHttpClient(AsyncTwilioHttpClient):
    """Twilio's async HTTP client, sending what it would send to api.twilio.com elsewhere.

    `request` is written out rather than inherited: twilio's own passes aiohttp a
    `BasicAuth` and a bare float timeout (both deprecated by aiohttp) and logs whole
    responses, which carry phone numbers and message text.
    """

    def __init__(self, api_base_url: str) -> None:
        super().__init__(pool_connections=False, logger=_client_log)
        # A webhook must not hang on a slow API: 10 s at most for any call.
        self.session = ClientSession(timeout=ClientTimeout(total=10))
        self._base = api_base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the signature twilio calls)
        allow_redirects: bool = False,
    ) -> Response:
        url = self.rewrite(url)
        sent = dict(headers or {})
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            sent["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        async with self.session.request(
            method.upper(),
            url,
            params=params,
            data=data,
            headers=sent,
            allow_redirects=allow_redirects,
            timeout=ClientTimeout(total=timeout) if timeout else None,
        ) as response:
            return Response(response.status, await response.text(), response.headers)

    def rewrite(self, url: str) -> str:
        """Point a Twilio API URL (any region or edge host) at the configured base URL."""
        parts = urlsplit(url)
        if parts.scheme == "https" and (parts.hostname or "").endswith(".twilio.com"):
            query = f"?{parts.query}" if parts.query else ""
            return f"{self._base}{parts.path}{query}"
        return url

    async def close(self) -> None:
        await self.session.close()


class TwilioGateway:
    """The REST calls the hotline makes: move live calls, place calls, send texts."""

    def __init__(self, config: TelephonyConfig) -> None:
        assert config.account_sid and config.auth_token
        self._config = config
        self._http = RedirectingHttpClient(config.api_base_url)
        self._client = Client(config.account_sid, config.auth_token, http_client=self._http)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

    def url(self, path: str) -> str:
        """An absolute webhook URL on the public address."""
        return self._config.public_url + path

    async def redirect_call(self, call_sid: str, twiml: str) -> None:
        """Make a live call leave whatever it is doing and follow this TwiML."""
        await self._client.calls(call_sid).update_async(twiml=twiml)

    async def call_status(self, call_sid: str) -> str:
        """Twilio's word on a call now: queued, ringing, in-progress, completed, busy…"""
        call = await self._client.calls(call_sid).fetch_async()
        return str(call.status)

    async def create_call(self, to: str, twiml: str) -> str:
        """Place an outbound call from the hotline's number; returns its CallSid."""
        call = await self._client.calls.create_async(
            to=to,
            from_=self._config.phone_number,
            twiml=twiml,
            status_callback=self.url("/twilio/voice/status"),
        )
        return str(call.sid)

    async def send_sms(
        self, to: str, body: str, status_callback: str, *, from_: str | None = None
    ) -> tuple[str, str]:
        """Send a text (from the hotline's number unless told); returns (MessageSid, status)."""
        message = await self._client.messages.create_async(
            to=to,
            from_=from_ or self._config.phone_number,
            body=body,
            status_callback=status_callback,
        )
        return str(message.sid), str(message.status)

    async def place_paging_call(
        self, to: str, *, url: str, from_: str, status_callback: str
    ) -> str:
        """Call a responder; `url` answers with the page. Machine detection is on, so an
        answering machine is known as one (and never taken for a person's acceptance)."""
        call = await self._client.calls.create_async(
            to=to,
            from_=from_,
            url=url,
            status_callback=status_callback,
            machine_detection="Enable",
        )
        return str(call.sid)


REST_ERRORS = (TwilioRestException, ClientError, OSError, TimeoutError)


async def verified_form(request: web.Request, config: TelephonyConfig) -> Mapping[str, str]:
    """The webhook's form fields, once its signature is proven; else 503, 403 or 400."""
    if not config.enabled:
        raise TelephonyUnavailable(
            text="telephony is off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_WEBHOOK_BYTES, actual_size=request.content_length
        )
    try:
        posted = await request.post()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="the body must be form-encoded") from None
    form = {key: str(value) for key, value in posted.items()}
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = config.public_url + request.path_qs
    assert config.auth_token
    if not signature or not RequestValidator(config.auth_token).validate(url, form, signature):
        log.warning(
            "twilio_signature_refused",
            route=request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else "?",
        )
        raise web.HTTPForbidden(text="invalid Twilio signature")
    return form


def require(form: Mapping[str, str], *names: str) -> None:
    """400 unless the webhook carries these fields (a malformed body changes nothing)."""
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing field(s): {', '.join(missing)}")


def twiml(document: object) -> web.Response:
    """A TwiML answer (a VoiceResponse or MessagingResponse)."""
    return web.Response(text=str(document), content_type="text/xml", charset="utf-8")


# What Twilio may say of a text we sent (MessageStatus).
TEXT_STATUSES = frozenset(
    {"accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read"}
)


async def text_receipt(
    request: web.Request, config: TelephonyConfig, query: str
) -> tuple[int, str, str]:
    """A signed delivery callback for one of our texts: (our id, from `?<query>=`, the
    status, the MessageSid); 400 for a missing id or an unknown status, 403 if forged."""
    form = await verified_form(request, config)
    require(form, "MessageSid", "MessageStatus")
    ident = request.query.get(query, "")
    if not ident.isdigit():
        raise web.HTTPBadRequest(text=f"missing {query}")
    status = form["MessageStatus"]
    if status not in TEXT_STATUSES:
        raise web.HTTPBadRequest(text="unknown MessageStatus")
    return int(ident), status, form["MessageSid"]
