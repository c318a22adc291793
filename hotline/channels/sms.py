"""Text messages: inbound texts become SMS contacts; counsellors' replies go out by SMS.

A text joins the open contact of the same number if the last message either way was
within `telephony.sms_inactivity_minutes`, else it opens a new one; numbers are matched by
keyed hash, never by the number itself. STOP-words are honoured before anything else: no
reply is ever sent to a number that texted STOP until it texts START.

A reply is stored as `pending` in the same transaction as the message, then handed to the
provider; a restart between the two leaves it pending, and the sweeper sends it then.

Surge mode: while a mass incident is live, the automatic first reply also carries the
incident's chat announcement, so someone who texts learns what a caller hears. A text is not
tagged as affected: SMS has no question step (asking would cost an outbound text to someone
who may not want one, and a free-text answer cannot be read as yes/no safely), so the
counsellor who takes the text asks, and tags it from the console.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from hotline.channels.store_away import StoreAway
from hotline.channels.twilio_api import REST_ERRORS, TwilioGateway, require, twiml, verified_form
from hotline.config import Config
from hotline.contacts import Channel, Contact, Message
from hotline.conversations import Conversations
from hotline.errors import DomainError
from hotline.web import keys

log = structlog.get_logger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
DELIVERY_STATUSES = frozenset(
    {"accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read"}
)


class SmsChannel:
    """Files inbound texts and sends counsellors' replies."""

    def __init__(
        self,
        config: Config,
        conversations: Conversations,
        gateway: TwilioGateway | None,
        away: StoreAway,
    ) -> None:
        self._config = config
        self._conversations = conversations
        self._gateway = gateway
        self._away = away
        away.on_replay("sms.received", self._received_kept)
        away.on_replay(
            "sms.status", lambda kept, _at: self._status(int(kept["message"]), kept["form"])
        )

    async def received(self, form: Mapping[str, str]) -> MessagingResponse:
        """An inbound text: STOP/START, or a message for a counsellor. Without the store the
        text is kept in the spool and acknowledged as usual (STOP/START silently, as always)."""
        kept = {"From": form["From"], "Body": form.get("Body", "")}
        return await self._away.step(
            "sms.received",
            kept,
            lambda: self._received(form),
            lambda: self._received_kept_reply(kept),
        )

    def _received_kept_reply(self, kept: Mapping[str, str]) -> MessagingResponse:
        response = MessagingResponse()
        word = kept["Body"].strip().upper()
        if word not in STOP_WORDS and word not in START_WORDS:
            response.message(self._config.telephony.texts["sms_received"])
        return response

    async def _received_kept(self, kept: Mapping[str, Any], arrived_at: datetime) -> None:
        await self._received(kept, arrived_at)

    async def _received(
        self, form: Mapping[str, str], arrived_at: datetime | None = None
    ) -> MessagingResponse:
        number, body = form["From"], form.get("Body", "")
        word = body.strip().upper()
        response = MessagingResponse()
        if word in STOP_WORDS:
            await self._conversations.sms_opt_out(number)
            return response
        if word in START_WORDS:
            await self._conversations.sms_opt_in(number)
            return response
        try:
            contact, _message, is_new = await self._conversations.sms_received(
                number, body, arrived_at
            )
        except DomainError as exc:  # empty or over-long: keep the person's trust, say nothing odd
            log.info("sms_refused", code=exc.code)
            return response
        log.info("sms_received", contact_id=contact.id, new_contact=is_new)
        if is_new and not await self._conversations.opted_out(number):
            response.message(await self._first_reply(contact))
        return response

    async def _first_reply(self, contact: Contact) -> str:
        """The acknowledgement of a new text, with the incident's announcement during a surge."""
        text = self._config.telephony.texts["sms_received"]
        surge = await self._conversations.surge()
        if surge is None:
            return text
        # Chinese sentences follow one another without a space; English ones need one.
        joiner = "" if contact.lang.startswith("zh") else " "
        return text + joiner + surge.text("chat_announcement", contact.lang)

    async def deliver(self, contact: Contact, message: Message) -> str:
        """Hand a counsellor's reply to the provider; returns the delivery status recorded."""
        if contact.channel is not Channel.SMS or message.delivery_status != "pending":
            return message.delivery_status or ""
        number = await self._conversations.caller_number(contact.id)
        if self._gateway is None or number is None:
            await self._conversations.record_delivery(message.id, "failed")
            return "failed"
        callback = self._gateway.url(f"/twilio/sms/status?message={message.id}")
        try:
            sid, status = await self._gateway.send_sms(number, message.text, callback)
        except REST_ERRORS as exc:
            log.warning("sms_send_failed", message_id=message.id, error_type=type(exc).__name__)
            await self._conversations.record_delivery(message.id, "failed")
            return "failed"
        await self._conversations.record_delivery(message.id, status or "queued", sid)
        return status

    async def deliver_pending(self) -> int:
        """Send replies left pending by a restart; returns how many were tried."""
        pending = await self._conversations.pending_deliveries()
        for message in pending:
            contact = await self._conversations.get(message.contact_id)
            await self.deliver(contact, message)
        return len(pending)

    async def status(self, message_id: int, form: Mapping[str, str]) -> None:
        """The provider's word on a reply: sent, delivered, undelivered, failed…"""
        status = form.get("MessageStatus", "")
        if status not in DELIVERY_STATUSES:
            raise web.HTTPBadRequest(text="unknown MessageStatus")
        kept = {"MessageStatus": status, "MessageSid": form.get("MessageSid", "")}
        await self._away.step(
            "sms.status",
            {"message": message_id, "form": kept},
            lambda: self._status(message_id, kept),
            lambda: None,
        )

    async def _status(self, message_id: int, form: Mapping[str, str]) -> None:
        await self._conversations.record_delivery(
            message_id, form["MessageStatus"], form.get("MessageSid") or None
        )


def setup_sms(app: web.Application) -> None:
    """The SMS webhooks; each checks Twilio's signature before anything else."""

    async def incoming(request: web.Request) -> web.Response:
        form = await verified_form(request, request.app[keys.CONFIG].telephony)
        require(form, "MessageSid", "From")
        return twiml(await request.app[keys.SMS].received(form))

    async def status(request: web.Request) -> web.Response:
        form = await verified_form(request, request.app[keys.CONFIG].telephony)
        require(form, "MessageSid", "MessageStatus")
        message_id = request.query.get("message", "")
        if not message_id.isdigit():
            raise web.HTTPBadRequest(text="missing message")
        await request.app[keys.SMS].status(int(message_id), form)
        return twiml(MessagingResponse())

    app.router.add_post("/twilio/sms", incoming)
    app.router.add_post("/twilio/sms/status", status)
