"""Phone calls: the IVR, holding in the queue, connecting a counsellor, and every ending.

Twilio holds the caller (`<Enqueue>` with our wait URL announcing *our* queue position);
the order in which calls are answered is the hotline's own (risk, then time waited), decided
by `Conversations.take_next` exactly as for web chat. When a counsellor takes a call, the
live call is moved out of Twilio's hold with the REST API into a `<Dial>` to that counsellor's
browser or phone. Status callbacks then drive the contact: answered, not answered (back to
the head of the queue), hung up while waiting (abandoned, with the time waited), ended.

Risk and district chosen in the IVR travel in the action URLs' query strings, which the
signature covers, so nothing is stored for a caller who hangs up during the greeting.

Surge mode (a mass incident is live, `hotline.surge`): after the greeting the caller hears the
incident's announcement and one question of its own, "affected by the incident? 1 yes, 2 no",
before the danger question. It is a separate `<Gather>` with its own action URL, so its keys
never mean anything at another step (9 is still the danger key there too; the district and
callback keys are asked later, each in its own step). No key, or any other key, is "not
affected" and the call goes on: the question is never a dead end. The answer rides in the
query string (`affected=<incident id>`) like the danger answer, and the tag is made when the
contact is created, idempotently, so a retried webhook does not tag twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from hotline.channels.store_away import StoreAway
from hotline.channels.twilio_api import REST_ERRORS, TwilioGateway, require, twiml, verified_form
from hotline.config import Config
from hotline.contacts import Channel, Contact, ContactState
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors
from hotline.risk import RiskLevel
from hotline.surge import SurgeMode
from hotline.users import Users
from hotline.web import keys

log = structlog.get_logger(__name__)

QUEUE_NAME = "hotline"
LANGUAGE = "zh-CN"
DANGER_KEY = "9"
CALLBACK_KEY = "1"
AFFECTED_KEY = "1"  # at the surge question only; 2 (or anything else, or nothing) is "not"
GATHER_SECONDS = 5
# Twilio's statuses of a call that is over.
ENDED_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
# The fields of Twilio's form a kept step needs again at its replay (nothing else is kept).
KEPT_FIELDS = (
    "CallSid",
    "From",
    "Digits",
    "QueueResult",
    "QueueTime",
    "DialCallStatus",
    "CallStatus",
)


class CallNotConnected(Exception):
    """The REST API refused to move the call to the counsellor; it is back in the queue."""


class VoiceChannel:
    """Answers Twilio's voice webhooks and moves live calls for the console."""

    def __init__(
        self,
        config: Config,
        conversations: Conversations,
        counsellors: Counsellors,
        users: Users,
        gateway: TwilioGateway | None,
        away: StoreAway,
    ) -> None:
        self._config = config
        self._telephony = config.telephony
        self._conversations = conversations
        self._counsellors = counsellors
        self._users = users
        self._gateway = gateway
        self._away = away
        away.on_replay("voice.arrival", self._admit_kept)
        away.on_replay("voice.dequeued", lambda kept, _at: self._dequeued(kept["form"]))
        away.on_replay("voice.answered", lambda kept, _at: self._answered(int(kept["contact"])))
        away.on_replay(
            "voice.dial_result",
            lambda kept, _at: self._dial_result(int(kept["contact"]), kept["form"]),
        )
        away.on_replay("voice.status", lambda kept, _at: self._call_status(kept["form"]))

    def _url(self, path: str) -> str:
        return self._telephony.public_url + path

    def _say(self, node: VoiceResponse | Gather, text: str, **fields: object) -> None:
        node.say(self._telephony.texts[text].format(**fields), language=LANGUAGE)

    # -- the IVR ---------------------------------------------------------------------------

    async def greeting(self) -> VoiceResponse:
        """Greeting, (the surge announcement,) confidentiality (and recording notice), then
        the affected question during a surge, else the danger question."""
        # Without the store the caller is greeted as on an ordinary day: the surge's question
        # is skipped, never the call.
        surge = await self._away.step(None, {}, self._conversations.surge, lambda: None)
        response = VoiceResponse()
        self._say(response, "greeting")
        if surge is not None:
            response.say(surge.text("ivr_announcement", LANGUAGE), language=LANGUAGE)
        self._say(response, "confidentiality")
        if self._telephony.recording_enabled:
            self._say(response, "recording_notice")
        if surge is not None:
            self._ask_affected(response, surge)
        else:
            self._ask_danger(response, affected=None)
        return response

    def _ask_affected(self, response: VoiceResponse, surge: SurgeMode) -> None:
        url = self._url(f"/twilio/voice/affected?incident={surge.incident_id}")
        gather = response.gather(num_digits=1, timeout=GATHER_SECONDS, action=url, method="POST")
        gather.say(surge.text("affected_question", LANGUAGE), language=LANGUAGE)
        # No key within the timeout: the same step without Digits, i.e. "not affected".
        response.redirect(url, method="POST")

    def _ask_danger(self, response: VoiceResponse, *, affected: int | None) -> None:
        url = self._url("/twilio/voice/danger" + _affected_query("?", affected))
        gather = response.gather(num_digits=1, timeout=GATHER_SECONDS, action=url, method="POST")
        self._say(gather, "danger_prompt")
        response.redirect(url, method="POST")

    async def after_affected(self, form: Mapping[str, str], incident_id: int) -> VoiceResponse:
        """Remember the affected answer; then the danger question as on any day.

        A caller who presses the danger key here (they know the line, or cannot wait) is
        taken as in danger at once rather than asked again: 9 means danger at every step.
        """
        digits = form.get("Digits", "")
        if digits == DANGER_KEY:
            return await self.after_danger(form, affected=None)
        affected = incident_id if digits == AFFECTED_KEY else None
        response = VoiceResponse()
        self._ask_danger(response, affected=affected)
        return response

    async def after_danger(
        self, form: Mapping[str, str], *, affected: int | None = None
    ) -> VoiceResponse:
        """Remember the danger answer; ask for the district or go to the queue."""
        danger = "1" if form.get("Digits", "") == DANGER_KEY else "0"
        if not self._telephony.ask_district:
            return await self.enqueue(form, danger=danger == "1", district=None, affected=affected)
        url = self._url(f"/twilio/voice/district?danger={danger}" + _affected_query("&", affected))
        response = VoiceResponse()
        gather = response.gather(num_digits=1, timeout=GATHER_SECONDS, action=url, method="POST")
        self._say(gather, "district_prompt")
        for key, district in enumerate(self._config.districts, start=1):
            self._say(gather, "district_option", name=district.name_zh, key=key)
        response.redirect(url, method="POST")
        return response

    def district_for(self, digits: str) -> str | None:
        """The district chosen by key 1…n, or None for any other key or none."""
        if digits.isdigit() and 1 <= int(digits) <= len(self._config.districts):
            return self._config.districts[int(digits) - 1].id
        return None

    async def enqueue(
        self,
        form: Mapping[str, str],
        *,
        danger: bool,
        district: str | None,
        affected: int | None = None,
    ) -> VoiceResponse:
        """Create the contact and hold the caller, or send them to the backup if nobody is there.

        `affected` is the incident the caller said affected them: tagged (and the risk
        raised to the surge's floor) before they hold, so their place is right from the start.
        Without the store the arrival is kept in the spool and the caller held all the same.
        """
        kept = {
            "form": _kept_form(form),
            "danger": danger,
            "district": district,
            "affected": affected,
        }

        async def run() -> VoiceResponse:
            return await self._enqueue(form, danger=danger, district=district, affected=affected)

        return await self._away.step("voice.arrival", kept, run, self.hold)

    async def _admit_kept(self, kept: Mapping[str, Any], arrived_at: datetime) -> Contact:
        """A kept arrival enters the store, waiting since it reached the line.

        The caller may have hung up meanwhile with the hang-up lost to the store (it reached
        a gateway that had nothing to end yet, or this gateway was down): Twilio is asked,
        and a call that is over is ended at once rather than left waiting for a counsellor.
        """
        contact = await self._admit(
            kept["form"],
            danger=bool(kept["danger"]),
            district=kept["district"],
            affected=kept["affected"],
            arrived_at=arrived_at,
        )
        if contact.state is ContactState.QUEUED and await self._call_is_over(contact):
            contact = await self._conversations.call_ended(contact.id)
            log.info("kept_call_already_over", contact_id=contact.id)
        return contact

    async def _call_is_over(self, contact: Contact) -> bool:
        """Whether Twilio says the contact's call has ended (unknown: not over)."""
        if self._gateway is None or not contact.call_sid:
            return False
        try:
            status = await self._gateway.call_status(contact.call_sid)
        except REST_ERRORS as exc:
            log.warning("call_status_unknown", contact_id=contact.id, error_type=type(exc).__name__)
            return False
        return status in ENDED_CALL_STATUSES

    async def _admit(
        self,
        form: Mapping[str, str],
        *,
        danger: bool,
        district: str | None,
        affected: int | None,
        arrived_at: datetime | None = None,
    ) -> Contact:
        risk = RiskLevel.IMMINENT if danger else RiskLevel.NONE
        contact = await self._conversations.start_call(
            form["CallSid"], form["From"], risk, district, arrived_at
        )
        if affected is not None and contact.state is ContactState.QUEUED:
            tagged = await self._conversations.tag_affected_on_arrival(
                contact.id, "ivr", incident_id=affected
            )
            contact = tagged or contact
        return contact

    async def _enqueue(
        self,
        form: Mapping[str, str],
        *,
        danger: bool,
        district: str | None,
        affected: int | None,
    ) -> VoiceResponse:
        contact = await self._admit(form, danger=danger, district=district, affected=affected)
        if contact.state is not ContactState.QUEUED:
            return self._hang_up()  # a retried webhook for a call already dealt with
        if await self._counsellors.available_count() == 0:
            return await self._overflow(contact)
        return self.hold()

    def hold(self, *, apology: bool = False) -> VoiceResponse:
        """Put the caller in Twilio's hold, where our wait URL speaks to them."""
        response = VoiceResponse()
        if apology:
            self._say(response, "wait_message")
        response.enqueue(
            QUEUE_NAME,
            wait_url=self._url("/twilio/voice/wait"),
            wait_url_method="POST",
            action=self._url("/twilio/voice/dequeued"),
            method="POST",
        )
        return response

    async def _overflow(self, contact: Contact) -> VoiceResponse:
        await self._conversations.overflow(contact.id, "backup")
        log.info("call_overflow", contact_id=contact.id)
        return self._to_backup()

    def _to_backup(self) -> VoiceResponse:
        """Dial the backup line (the overflow, recorded by the caller of this)."""
        response = VoiceResponse()
        self._say(response, "overflow")
        response.dial(
            self._telephony.backup_number,
            action=self._url("/twilio/voice/overflow-result"),
            method="POST",
            caller_id=self._telephony.phone_number,
        )
        return response

    @staticmethod
    def _hang_up() -> VoiceResponse:
        response = VoiceResponse()
        response.hangup()
        return response

    # -- holding ---------------------------------------------------------------------------

    async def waiting(self, form: Mapping[str, str]) -> VoiceResponse:
        """What a held caller hears next: their place, an offer to call back, or the backup."""
        return await self._away.step(
            None, {}, lambda: self._waiting(form), lambda: self._waiting_without_store(form)
        )

    def _waiting_without_store(self, form: Mapping[str, str]) -> VoiceResponse:
        """Holding while the store is away: no place to announce; the backup after the
        usual wait, as any day (the overflow is recorded when the dequeue is replayed)."""
        response = VoiceResponse()
        if _int(form.get("QueueTime")) >= self._telephony.overflow_after_seconds:
            self._say(response, "overflow")
            response.leave()
            return response
        self._say(response, "wait_message")
        response.pause(length=self._telephony.wait_pause_seconds)
        return response

    async def _waiting(self, form: Mapping[str, str]) -> VoiceResponse:
        contact = await self._conversations.by_call_sid(form["CallSid"])
        response = VoiceResponse()
        if contact is None or contact.state is not ContactState.QUEUED:
            response.pause(length=1)  # being connected right now; nothing to announce
            return response
        waited = _int(form.get("QueueTime"))
        if (
            waited >= self._telephony.overflow_after_seconds
            or await self._counsellors.available_count() == 0
        ):
            self._say(response, "overflow")
            response.leave()
            return response
        ahead = await self._conversations.position(contact) - 1
        if ahead:
            self._say(response, "position", ahead=ahead)
        else:
            self._say(response, "next_in_line")
        self._say(response, "wait_message")
        if (
            waited >= self._telephony.callback_offer_after_seconds
            and not contact.callback_requested
        ):
            gather = response.gather(
                num_digits=1,
                timeout=GATHER_SECONDS,
                action=self._url("/twilio/voice/callback"),
                method="POST",
            )
            self._say(gather, "callback_offer")
        response.pause(length=self._telephony.wait_pause_seconds)
        return response

    async def callback_choice(self, form: Mapping[str, str]) -> VoiceResponse:
        """Key 1: the caller will be called back and may hang up; any other key: keep holding.
        Without the store nobody can promise a callback: the caller keeps holding."""
        return await self._away.step(
            None, {}, lambda: self._callback_choice(form), self._back_to_waiting
        )

    def _back_to_waiting(self) -> VoiceResponse:
        response = VoiceResponse()
        response.redirect(self._url("/twilio/voice/wait"), method="POST")
        return response

    async def _callback_choice(self, form: Mapping[str, str]) -> VoiceResponse:
        contact = await self._conversations.by_call_sid(form["CallSid"])
        response = VoiceResponse()
        if contact is not None and form.get("Digits") == CALLBACK_KEY:
            await self._conversations.request_callback(contact.id)
            self._say(response, "callback_confirmed")
            response.leave()
            return response
        return self._back_to_waiting()

    async def dequeued(self, form: Mapping[str, str]) -> VoiceResponse:
        """The caller left Twilio's hold: hung up, chose a callback, overflowed, or was taken."""
        return await self._away.step(
            "voice.dequeued",
            {"form": _kept_form(form)},
            lambda: self._dequeued(form),
            lambda: self._dequeued_without_store(form),
        )

    def _dequeued_without_store(self, form: Mapping[str, str]) -> VoiceResponse:
        """A hang-up ends the call; one who left the hold for any other reason (the wait
        was too long, Twilio's queue failed) still reaches a person: the backup line."""
        result = form.get("QueueResult", "")
        if result in ("redirected", "bridged", "bridging-in-process"):
            return VoiceResponse()
        if result == "hangup":
            return self._hang_up()
        return self._to_backup()

    async def _dequeued(self, form: Mapping[str, str]) -> VoiceResponse:
        contact = await self._conversations.by_call_sid(form["CallSid"])
        result = form.get("QueueResult", "")
        if contact is None or result in ("redirected", "bridged", "bridging-in-process"):
            return VoiceResponse()
        if result == "hangup":
            await self._conversations.call_ended(contact.id, _int(form.get("QueueTime")) or None)
            return self._hang_up()
        if result == "leave" and contact.callback_requested:
            return self._hang_up()  # stays queued: the counsellor who takes it calls back
        # leave (overflow), queue-full, error, system-error: a person must still reach someone.
        return await self._overflow(contact)

    # -- connecting a counsellor -----------------------------------------------------------

    async def connect(self, contact: Contact, counsellor_id: int) -> None:
        """Ring the counsellor who took the call: move it from hold into a `<Dial>`.

        A callback (the caller hung up after asking for one) is a new call: to the
        counsellor first, who is then connected to the caller's number.
        """
        gateway = self._require_gateway()
        kind, target = await self._users.answer_target(counsellor_id)
        action = self._url(f"/twilio/voice/dial-result?contact={contact.id}")
        answered = self._url(f"/twilio/voice/answered?contact={contact.id}")
        try:
            if contact.callback_requested:
                number = await self._conversations.caller_number(contact.id)
                if number is None:
                    raise CallNotConnected("the caller's number is not on record")
                response = VoiceResponse()
                dial = response.dial(
                    action=action,
                    method="POST",
                    caller_id=self._telephony.phone_number,
                    timeout=self._telephony.ring_timeout_seconds,
                )
                dial.number(
                    number,
                    status_callback_event="answered",
                    status_callback=answered,
                    status_callback_method="POST",
                )
                to = f"client:{target}" if kind == "client" else target
                await gateway.create_call(to, str(response))
            else:
                assert contact.call_sid
                response = VoiceResponse()
                dial = response.dial(
                    action=action, method="POST", timeout=self._telephony.ring_timeout_seconds
                )
                _dial_target(dial, kind, target, answered, contact.id)
                await gateway.redirect_call(contact.call_sid, str(response))
        except (*REST_ERRORS, CallNotConnected) as exc:
            await self._conversations.call_not_answered(contact.id, "connect_failed")
            log.warning("call_connect_failed", contact_id=contact.id, error_type=type(exc).__name__)
            raise CallNotConnected("the call could not be connected") from exc
        log.info("call_ringing", contact_id=contact.id, counsellor_id=counsellor_id, via=kind)

    async def answered(self, contact_id: int) -> None:
        """The counsellor's browser or phone picked up."""
        await self._away.step(
            "voice.answered", {"contact": contact_id}, lambda: self._answered(contact_id), _none
        )

    async def _answered(self, contact_id: int) -> None:
        await self._conversations.call_answered(contact_id, "system")

    async def dial_result(self, contact_id: int, form: Mapping[str, str]) -> VoiceResponse:
        """The dial to the counsellor ended: a finished conversation, or nobody picked up."""
        return await self._away.step(
            "voice.dial_result",
            {"contact": contact_id, "form": _kept_form(form)},
            lambda: self._dial_result(contact_id, form),
            lambda: self._dial_result_without_store(form),
        )

    def _dial_result_without_store(self, form: Mapping[str, str]) -> VoiceResponse:
        """A finished conversation ends; a counsellor who did not pick up: the caller holds
        again (re-queued at the head when the step is replayed)."""
        if form.get("DialCallStatus", "") == "completed":
            return self._hang_up()
        return self.hold(apology=True)

    async def _dial_result(self, contact_id: int, form: Mapping[str, str]) -> VoiceResponse:
        contact = await self._conversations.get(contact_id)
        status = form.get("DialCallStatus", "")
        if status == "completed":
            if contact.state is ContactState.ACTIVE:
                await self._conversations.call_ended(contact.id)
            return self._hang_up()
        if contact.state is ContactState.OFFERED:
            contact = await self._conversations.call_not_answered(
                contact.id, f"dial_{status or 'failed'}"
            )
        # Not answered (or re-queued meanwhile, e.g. by a restart): the caller holds again,
        # at the head of their risk level. A callback has no caller on this line to hold.
        if contact.state is ContactState.QUEUED and not contact.callback_requested:
            return self.hold(apology=True)
        return self._hang_up()

    async def call_status(self, form: Mapping[str, str]) -> None:
        """The caller's call ended (Twilio's status callback)."""
        await self._away.step(
            "voice.status", {"form": _kept_form(form)}, lambda: self._call_status(form), _none
        )

    async def _call_status(self, form: Mapping[str, str]) -> None:
        if form.get("CallStatus") not in ENDED_CALL_STATUSES:
            return
        contact = await self._conversations.by_call_sid(form["CallSid"])
        if contact is None or (contact.callback_requested and contact.state is ContactState.QUEUED):
            return  # a call that ended in the IVR, or a callback still to be made
        await self._conversations.call_ended(contact.id)

    async def hang_up(self, contact: Contact) -> None:
        """The counsellor ended the conversation: end the live call too."""
        if contact.channel is not Channel.VOICE or not contact.call_sid or self._gateway is None:
            return
        response = VoiceResponse()
        response.hangup()
        try:
            await self._gateway.redirect_call(contact.call_sid, str(response))
        except REST_ERRORS as exc:
            log.warning("call_hangup_failed", contact_id=contact.id, error_type=type(exc).__name__)

    def _require_gateway(self) -> TwilioGateway:
        if self._gateway is None:
            raise CallNotConnected("telephony is off")
        return self._gateway


def _dial_target(dial: Dial, kind: str, target: str, answered: str, contact_id: int) -> None:
    if kind == "client":
        # The contact id rides along so the console can match the ringing call to it.
        client = dial.client(
            status_callback_event="answered",
            status_callback=answered,
            status_callback_method="POST",
        )
        client.identity(target)
        client.parameter(name="contact_id", value=str(contact_id))
    else:
        dial.number(
            target,
            status_callback_event="answered",
            status_callback=answered,
            status_callback_method="POST",
        )


def _affected_query(joiner: str, affected: int | None) -> str:
    """`?affected=N` / `&affected=N` for a caller who said incident N affected them."""
    return "" if affected is None else f"{joiner}affected={affected}"


def _incident_param(value: str | None) -> int | None:
    """An incident id from a (signed) query parameter, or None."""
    return int(value) if value and value.isdigit() else None


def _kept_form(form: Mapping[str, str]) -> dict[str, str]:
    """The part of a webhook's form a kept step needs at its replay."""
    return {name: form[name] for name in KEPT_FIELDS if name in form}


def _none() -> None:
    return None


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


# -- webhook routes ----------------------------------------------------------------------


def setup_voice(app: web.Application) -> None:
    """The voice webhooks; each checks Twilio's signature before anything else."""
    channel_key = keys.VOICE

    async def _form(request: web.Request, *fields: str) -> Mapping[str, str]:
        form = await verified_form(request, request.app[keys.CONFIG].telephony)
        require(form, "CallSid", *fields)
        return form

    def _contact_id(request: web.Request) -> int:
        value = request.query.get("contact", "")
        if not value.isdigit():
            raise web.HTTPBadRequest(text="missing contact")
        return int(value)

    async def incoming(request: web.Request) -> web.Response:
        await _form(request, "From")
        return twiml(await request.app[channel_key].greeting())

    async def affected(request: web.Request) -> web.Response:
        form = await _form(request, "From")
        incident = _incident_param(request.query.get("incident"))
        if incident is None:
            raise web.HTTPBadRequest(text="missing incident")
        return twiml(await request.app[channel_key].after_affected(form, incident))

    async def danger(request: web.Request) -> web.Response:
        form = await _form(request, "From")
        affected_incident = _incident_param(request.query.get("affected"))
        return twiml(await request.app[channel_key].after_danger(form, affected=affected_incident))

    async def district(request: web.Request) -> web.Response:
        form = await _form(request, "From")
        channel = request.app[channel_key]
        chosen = channel.district_for(form.get("Digits", ""))
        danger_pressed = request.query.get("danger") == "1"
        return twiml(
            await channel.enqueue(
                form,
                danger=danger_pressed,
                district=chosen,
                affected=_incident_param(request.query.get("affected")),
            )
        )

    async def wait(request: web.Request) -> web.Response:
        form = await _form(request)
        return twiml(await request.app[channel_key].waiting(form))

    async def callback(request: web.Request) -> web.Response:
        form = await _form(request)
        return twiml(await request.app[channel_key].callback_choice(form))

    async def dequeued(request: web.Request) -> web.Response:
        form = await _form(request)
        return twiml(await request.app[channel_key].dequeued(form))

    async def answered(request: web.Request) -> web.Response:
        form = await _form(request)
        if form.get("CallStatus") == "in-progress":
            await request.app[channel_key].answered(_contact_id(request))
        return twiml(VoiceResponse())

    async def dial_result(request: web.Request) -> web.Response:
        form = await _form(request)
        return twiml(await request.app[channel_key].dial_result(_contact_id(request), form))

    async def status(request: web.Request) -> web.Response:
        form = await _form(request)
        await request.app[channel_key].call_status(form)
        return twiml(VoiceResponse())

    async def overflow_result(request: web.Request) -> web.Response:
        await _form(request)
        response = VoiceResponse()
        response.hangup()
        return twiml(response)

    for path, handler in (
        ("/twilio/voice", incoming),
        ("/twilio/voice/affected", affected),
        ("/twilio/voice/danger", danger),
        ("/twilio/voice/district", district),
        ("/twilio/voice/wait", wait),
        ("/twilio/voice/callback", callback),
        ("/twilio/voice/dequeued", dequeued),
        ("/twilio/voice/answered", answered),
        ("/twilio/voice/dial-result", dial_result),
        ("/twilio/voice/status", status),
        ("/twilio/voice/overflow-result", overflow_result),
    ):
        app.router.add_post(path, handler)
