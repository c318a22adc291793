"""The counsellor console: the page, its JSON API and its live websocket.

Counsellors see the queue (never message text until they hold a contact) and the contacts
they hold; supervisors also see the floor: every counsellor's presence and every
conversation in progress. Opening a contact one does not hold is an audited event.

Repeat callers: the contact's person is recognised by keyed hash; the counsellor serving them
sees how often they reached the line and any open follow-up case, and may open their earlier
wrap-ups, which is recorded (`audit.history_opened`) in the same transaction as the read.

Surge mode (a mass incident is live): every contact row carries `incident_id` (the queue and
the contact view show an "事件" tag), the state and a `surge` frame say whether a surge is on,
and the counsellor holding a contact may tag it as affected (`POST …/affected`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog
from aiohttp import WSMsgType, web
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from hotline import audit
from hotline.channels.voice import CallNotConnected
from hotline.contacts import Channel, Contact, ContactState, Note
from hotline.conversations import HELD_STATES, Conversations, EarlierContact
from hotline.counsellors import Presence
from hotline.errors import InvalidInput
from hotline.events import Event, Subscription
from hotline.risk import RiskLevel
from hotline.stats.warning import alerts_json, open_alerts
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import (
    CONSOLE_ROLES,
    Staff,
    current_staff,
    forbidden_page,
    origin_allowed,
    require_staff,
)
from hotline.web.pages import page_language, render
from hotline.web.request_context import CONSOLE_CSP
from hotline.web.stats_view import warning_text
from hotline.web.wire import json_object, message_json

log = structlog.get_logger(__name__)

VOICE_TOKEN_SECONDS = 3600
# Who may look at a contact's person from before: the counsellor serving them, supervisors,
# and administrators (follow-up work); see `_serving_or_supervising`.
HISTORY_ROLES = (Role.COUNSELLOR, Role.SUPERVISOR, Role.ADMIN)


def queue_item(contact: Contact, position: int | None = None) -> dict[str, Any]:
    """A queue row: routing facts only, never anything the person said."""
    return {
        "id": contact.id,
        "channel": contact.channel.value,
        "risk": contact.risk.value,
        "district": contact.district,
        "state": contact.state.value,
        "waiting_since": contact.waiting_since.isoformat(),
        "position": position,
        # The incident the person said affected them (a number, no personal data), or None.
        "incident_id": contact.incident_id,
    }


async def _names(app: web.Application, ids: set[int]) -> dict[int, str]:
    users = app[keys.USERS]
    found = {}
    for user_id in ids:
        user = await users.get(user_id)
        found[user_id] = user.display_name if user else "?"
    return found


async def contact_summaries(app: web.Application, contacts: list[Contact]) -> list[dict[str, Any]]:
    """Queue rows plus who holds each contact."""
    names = await _names(app, {c.counsellor_id for c in contacts if c.counsellor_id})
    return [
        {
            **queue_item(c),
            "counsellor_id": c.counsellor_id,
            "counsellor_name": names.get(c.counsellor_id) if c.counsellor_id else None,
            "answered_at": c.answered_at.isoformat() if c.answered_at else None,
            "ended_by": c.ended_by,
            "callback_requested": c.callback_requested,
        }
        for c in contacts
    ]


def note_json(note: Note, author_name: str) -> dict[str, Any]:
    """A private note on the wire."""
    return {
        "id": note.id,
        "author_id": note.author_id,
        "author_name": author_name,
        "text": note.text,
        "at": note.at.isoformat(),
    }


async def _queue_json(app: web.Application) -> list[dict[str, Any]]:
    queue = await app[keys.CONVERSATIONS].queue(limit=200)
    return [queue_item(c, position) for position, c in enumerate(queue, start=1)]


class ConsoleReads:
    """What every console reads after the same event, read once for all of them: the queue
    frame, and the contacts that changed.

    Hundreds of consoles each reading the store for every arrival would make the last of them
    wait for every read before its own; one read (and one JSON text) now serves them all.
    The bus tells this cache of each event before any console sees it, so no console reuses
    a read older than the event it is answering.
    """

    KEEP = 2000  # contacts kept (the ones being talked about now)

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._queue_version = 0
        self._queue: tuple[int, asyncio.Future[str]] | None = None
        self._contacts: OrderedDict[int, asyncio.Future[Contact]] = OrderedDict()

    def invalidate(self, event: Event) -> None:
        if event.kind == "bus.resync":
            self._queue_version += 1
            self._contacts.clear()
        elif event.kind.startswith("contact.") and event.subject.startswith("contact:"):
            self._queue_version += 1
            self._contacts.pop(int(event.subject.split(":", 1)[1]), None)

    async def queue_frame(self) -> str:
        """The current queue frame as JSON text."""
        version = self._queue_version
        if self._queue is None or self._queue[0] != version:
            self._queue = (version, asyncio.ensure_future(self._build_queue()))
        return await asyncio.shield(self._queue[1])

    async def contact(self, contact_id: int) -> Contact:
        """A contact as stored now (as of the latest event about it)."""
        pending = self._contacts.get(contact_id)
        if pending is None or (pending.done() and pending.exception() is not None):
            pending = asyncio.ensure_future(self._app[keys.CONVERSATIONS].get(contact_id))
            self._contacts[contact_id] = pending
            while len(self._contacts) > self.KEEP:
                self._contacts.popitem(last=False)
        return await asyncio.shield(pending)

    async def _build_queue(self) -> str:
        return json.dumps(
            {
                "type": "queue",
                "queue": await _queue_json(self._app),
                "server_time": self._app[keys.CLOCK].now().isoformat(),
            },
            ensure_ascii=False,
        )


async def _me(app: web.Application, staff: Staff) -> dict[str, Any]:
    presence = await app[keys.COUNSELLORS].presence(staff.user.id)
    kind, _target = await app[keys.USERS].answer_target(staff.user.id)
    return {
        "answer_by": "browser" if kind == "client" else "phone",
        "id": staff.user.id,
        "username": staff.user.username,
        "display_name": staff.user.display_name,
        "role": staff.user.role.value,
        "presence": presence.status.value,
    }


async def _surge_json(app: web.Application) -> dict[str, Any] | None:
    """Whether a mass incident is live, as the console needs it (the tag button shows)."""
    surge = await app[keys.CONVERSATIONS].surge()
    if surge is None:
        return None
    return {"incident_id": surge.incident_id, "affected_min_risk": surge.affected_min_risk.value}


async def _floor(app: web.Application) -> dict[str, Any]:
    conversations = app[keys.CONVERSATIONS]
    active = await conversations.in_conversation()
    held: dict[int, int] = {}
    for contact in active:
        if contact.counsellor_id:
            held[contact.counsellor_id] = held.get(contact.counsellor_id, 0) + 1
    presence = await app[keys.COUNSELLORS].all_presence()
    people = await app[keys.USERS].all_with_role(Role.COUNSELLOR, Role.SUPERVISOR)
    return {
        "counsellors": [
            {
                "id": u.id,
                "display_name": u.display_name,
                "role": u.role.value,
                "presence": (presence[u.id].status if u.id in presence else Presence.OFFLINE).value,
                "active_contacts": held.get(u.id, 0),
            }
            for u in people
        ],
        "active": await contact_summaries(app, active),
    }


async def _opted_out(conversations: Conversations, contact: Contact) -> bool:
    """True for an SMS contact whose person texted STOP (no reply may be sent)."""
    if contact.channel is not Channel.SMS:
        return False
    number = await conversations.caller_number(contact.id)
    return number is not None and await conversations.opted_out(number)


async def contact_detail(app: web.Application, contact: Contact) -> dict[str, Any]:
    """Everything the holder needs on screen for one contact."""
    conversations = app[keys.CONVERSATIONS]
    [summary] = await contact_summaries(app, [contact])
    wrap = await conversations.wrap_up_of(contact.id)
    notes = await conversations.notes(contact.id)
    note_authors = await _names(app, {n.author_id for n in notes})
    return {
        **summary,
        "messages": [message_json(m) for m in await conversations.messages(contact.id)],
        "notes": [note_json(n, note_authors[n.author_id]) for n in notes],
        "opted_out": await _opted_out(conversations, contact),
        # Whether follow-up has a number of the person's own (calls and texts); a web chat
        # has none, and the wrap-up then asks for one when the person consents.
        "has_number": await conversations.has_caller_number(contact.id),
        "assessment": await conversations.latest_assessment(contact.id),
        "protocol": await conversations.protocol_steps(contact.id),
        "wrap_up": None
        if wrap is None
        else {
            "category": wrap.category,
            "outcome": wrap.outcome,
            "referral": wrap.referral,
            "follow_up_wanted": wrap.follow_up_wanted,
            "follow_up_reason": wrap.follow_up_reason,
            "caring_contacts": wrap.caring_contacts,
            "key_groups": list(wrap.key_groups),
            "summary": wrap.summary,
        },
    }


# -- pages and API -----------------------------------------------------------------------


async def console_page(request: web.Request) -> web.StreamResponse:
    """GET /console: the page, or the login form for someone not logged in."""
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/login?next=/console")
    if staff.user.role not in CONSOLE_ROLES:
        return forbidden_page(request, staff.user.role)
    response = render(
        "console.html",
        request.app[keys.CONFIG],
        lang=page_language(request, request.app[keys.CONFIG]),
        csrf_token=staff.session.csrf_token,
        user_role=staff.user.role.value,
        user_id=str(staff.user.id),
        display_name=staff.user.display_name,
    )
    # Only the console may reach Twilio's voice hosts, and use the microphone.
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Permissions-Policy"] = "microphone=(self)"
    return response


async def console_state(request: web.Request) -> web.Response:
    """GET /console/api/state: everything the page shows, for its first paint."""
    staff = await require_staff(request, CONSOLE_ROLES)
    app = request.app
    held = await app[keys.CONVERSATIONS].held_by(staff.user.id)
    return web.json_response(
        {
            "me": await _me(app, staff),
            "queue": await _queue_json(app),
            "my_contacts": await contact_summaries(app, held),
            "floor": await _floor(app) if staff.user.role is Role.SUPERVISOR else None,
            "surge": await _surge_json(app),
            "server_time": app[keys.CLOCK].now().isoformat(),
        }
    )


async def console_options(request: web.Request) -> web.Response:
    """GET /console/api/options: the wrap-up form's choices (districts also name the teams
    that can own a follow-up)."""
    await require_staff(request, CONSOLE_ROLES)
    config = request.app[keys.CONFIG]
    return web.json_response(
        {
            "categories": [o.as_dict() for o in config.wrap_up.categories],
            "outcomes": [o.as_dict() for o in config.wrap_up.outcomes],
            "referrals": [o.as_dict() for o in config.wrap_up.referrals],
            "follow_up_reasons": [o.as_dict() for o in config.wrap_up.no_follow_up_reasons],
            "key_groups": [o.as_dict() for o in config.key_groups],
            "districts": [o.as_dict() for o in config.districts],
        }
    )


async def set_presence(request: web.Request) -> web.Response:
    """POST /console/api/presence."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    body = await json_object(request)
    if body.get("status") not in (Presence.AVAILABLE.value, Presence.ON_BREAK.value):
        raise InvalidInput("status must be available or on_break", field="status")
    await request.app[keys.COUNSELLORS].set_presence(staff.user.id, Presence(body["status"]))
    return web.json_response(await _me(request.app, staff))


async def take_next(request: web.Request) -> web.Response:
    """POST /console/api/take-next: the most urgent waiting contact becomes mine."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    contact = await request.app[keys.CONVERSATIONS].take_next(staff.user.id)
    if contact is None:
        return web.json_response(
            {"error": "queue_empty", "message": "nobody is waiting right now"}, status=409
        )
    if contact.channel is Channel.VOICE:
        try:
            await request.app[keys.VOICE].connect(contact, staff.user.id)
        except CallNotConnected:
            # The call is first in the queue again. If the phone service is down, taking it
            # again would fail the same way and block every text behind it, so the
            # counsellor is given the next text contact instead, and told why.
            texts = await request.app[keys.CONVERSATIONS].take_next(
                staff.user.id, frozenset({Channel.WEBCHAT, Channel.SMS})
            )
            if texts is not None:
                detail = await contact_detail(request.app, texts)
                return web.json_response({"contact": detail, "notice": "call_not_connected"})
            return _call_not_connected()
        contact = await request.app[keys.CONVERSATIONS].get(contact.id)
    return web.json_response({"contact": await contact_detail(request.app, contact)})


async def post_assessment(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/assessment: the C-SSRS assessment sets the level."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    body = await json_object(request)
    contact = await request.app[keys.CONVERSATIONS].assess(
        int(request.match_info["contact_id"]), staff.user.id, body
    )
    return web.json_response(await contact_detail(request.app, contact))


async def post_protocol_step(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/protocol: one step of the imminent-risk protocol."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    body = await json_object(request)
    conversations = request.app[keys.CONVERSATIONS]
    contact_id = int(request.match_info["contact_id"])
    await conversations.record_protocol_step(contact_id, staff.user.id, body)
    return web.json_response(
        await contact_detail(request.app, await conversations.get(contact_id)), status=201
    )


async def post_affected(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/affected: the person I hold was affected by the incident.

    Only while a surge is on (409 `no_surge`), only by the counsellor holding the contact
    (403 `not_yours`); appends `contact.incident_tagged` (via `counsellor`).
    """
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    contact = await request.app[keys.CONVERSATIONS].counsellor_tags_affected(
        int(request.match_info["contact_id"]), staff.user.id
    )
    return web.json_response(await contact_detail(request.app, contact))


def _call_not_connected() -> web.Response:
    return web.json_response(
        {
            "error": "call_not_connected",
            "message": "the call could not be put through; it is first in the queue again",
        },
        status=502,
    )


async def take_contact(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/take: answer an urgent offer (someone in danger now).

    Every available console is offered an imminent contact at once; the first to press
    takes it, the others hear 409 `taken`.
    """
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    conversations = request.app[keys.CONVERSATIONS]
    contact = await conversations.take(int(request.match_info["contact_id"]), staff.user.id)
    if contact.channel is Channel.VOICE:
        try:
            await request.app[keys.VOICE].connect(contact, staff.user.id)
        except CallNotConnected:
            return _call_not_connected()
        contact = await conversations.get(contact.id)
    return web.json_response({"contact": await contact_detail(request.app, contact)})


async def _visible_contact(request: web.Request, staff: Staff) -> Contact:
    conversations = request.app[keys.CONVERSATIONS]
    contact = await conversations.get(int(request.match_info["contact_id"]))
    if contact.counsellor_id != staff.user.id and staff.user.role is not Role.SUPERVISOR:
        raise web.HTTPForbidden(
            text='{"error": "not_yours", "message": "this contact is held by another counsellor"}',
            content_type="application/json",
        )
    return contact


async def get_contact(request: web.Request) -> web.Response:
    """GET /console/api/contacts/{id}."""
    staff = await require_staff(request, CONSOLE_ROLES)
    contact = await _visible_contact(request, staff)
    if contact.counsellor_id != staff.user.id:
        async with request.app[keys.DATABASE].transaction() as tx:
            await tx.append_event(
                "contact.viewed",
                f"contact:{contact.id}",
                f"user:{staff.user.id}",
                {"role": staff.user.role.value},
            )
            await audit.record(
                tx,
                actor=f"user:{staff.user.id}",
                action="contact.viewed",
                subject=f"contact:{contact.id}",
                purpose="supervision",
                data={"role": staff.user.role.value},
            )
    return web.json_response(await contact_detail(request.app, contact))


async def _serving_or_supervising(request: web.Request, staff: Staff) -> Contact:
    """The contact if the staff member is serving its person now or supervises; else 403.

    The same rule as `Conversations.open_history`, checked here too for the read that is not
    audited (counts and levels), so neither endpoint answers someone the other would refuse.
    """
    contact = await request.app[keys.CONVERSATIONS].get(int(request.match_info["contact_id"]))
    serving = contact.counsellor_id == staff.user.id and contact.state in HELD_STATES
    if not serving and staff.user.role is Role.COUNSELLOR:
        raise web.HTTPForbidden(
            text=json.dumps(
                {
                    "error": "not_yours",
                    "message": "you can see who this person is only while you are serving them",
                }
            ),
            content_type="application/json",
        )
    return contact


def _jsonable(value: object) -> object:
    """json.dumps' fallback for what a case lookup may hand back (instants)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


async def get_caller(request: web.Request) -> web.Response:
    """GET /console/api/contacts/{id}/caller: has this person reached the line before?

    Counts and levels only (no words), so it is not audited: the earlier contacts, the last
    one's final risk and start, and the person's open follow-up cases when follow-up is
    wired in (`keys.CASE_LOOKUP`).
    """
    staff = await require_staff(request, HISTORY_ROLES)
    contact = await _serving_or_supervising(request, staff)
    summary = await request.app[keys.CONVERSATIONS].caller_summary(contact.id)
    lookup = request.app.get(keys.CASE_LOOKUP)
    cases = await lookup(summary.person_hash) if lookup and summary.person_hash else []
    return web.json_response(
        {
            "earlier_contacts": summary.earlier_contacts,
            "last_risk": summary.last_risk.value if summary.last_risk else None,
            "last_at": summary.last_at.isoformat() if summary.last_at else None,
            "open_cases": cases,
        },
        dumps=lambda body: json.dumps(body, default=_jsonable, ensure_ascii=False),
    )


def _earlier_json(earlier: EarlierContact) -> dict[str, Any]:
    wrapped = earlier.category is not None
    return {
        "id": earlier.id,
        "channel": earlier.channel.value,
        "state": earlier.state.value,
        "started_at": earlier.started_at.isoformat(),
        "risk": earlier.risk.value,
        "wrap_up": {
            "category": earlier.category,
            "outcome": earlier.outcome,
            "referral": earlier.referral,
            "follow_up_wanted": earlier.follow_up_wanted,
            "follow_up_reason": earlier.follow_up_reason,
            "summary": earlier.summary,
        }
        if wrapped
        else None,
    }


async def post_history(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/history: open the person's earlier wrap-ups (audited).

    A POST because it is not a harmless read: each opening is recorded as an
    `audit.history_opened` event by the staff member, with the purpose.
    """
    staff = await require_staff(request, HISTORY_ROLES, csrf=True)
    contact = await _serving_or_supervising(request, staff)
    conversations = request.app[keys.CONVERSATIONS]
    earlier = await conversations.open_history(
        contact.id, staff.user.id, supervising=staff.user.role is not Role.COUNSELLOR
    )
    total = (await conversations.caller_summary(contact.id)).earlier_contacts
    return web.json_response(
        {
            "earlier_contacts": [_earlier_json(e) for e in earlier],
            "total": total,
            "recorded": True,
        }
    )


async def post_message(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/messages: a reply to the person."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    body = await json_object(request)
    conversations = request.app[keys.CONVERSATIONS]
    contact_id = int(request.match_info["contact_id"])
    message = await conversations.counsellor_message(contact_id, staff.user.id, body.get("text"))
    if message.delivery_status == "pending":  # a text: hand it to the SMS provider now
        contact = await conversations.get(contact_id)
        status = await request.app[keys.SMS].deliver(contact, message)
        message = replace(message, delivery_status=status)
    return web.json_response(message_json(message), status=201)


async def post_note(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/notes: a private note."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    body = await json_object(request)
    note = await request.app[keys.CONVERSATIONS].add_note(
        int(request.match_info["contact_id"]), staff.user.id, body.get("text")
    )
    return web.json_response(note_json(note, staff.user.display_name), status=201)


async def end_contact(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/end: the conversation is over; wrap-up follows."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    contact = await request.app[keys.CONVERSATIONS].counsellor_end(
        int(request.match_info["contact_id"]), staff.user.id
    )
    await request.app[keys.VOICE].hang_up(contact)  # a phone call ends on the line too
    return web.json_response(await contact_detail(request.app, contact))


async def wrap_up(request: web.Request) -> web.Response:
    """POST /console/api/contacts/{id}/wrap-up: record the wrap-up and close the contact."""
    staff = await require_staff(request, CONSOLE_ROLES, csrf=True)
    body = await json_object(request)
    contact = await request.app[keys.CONVERSATIONS].wrap_up(
        int(request.match_info["contact_id"]), staff.user.id, body
    )
    return web.json_response(await contact_detail(request.app, contact))


async def voice_token(request: web.Request) -> web.Response:
    """GET /console/api/voice-token: an access token for the browser's Twilio Voice SDK.

    The identity is `counsellor-<id>`, the one a taken call is dialled to; the token only
    lets this browser receive calls (and place them through the configured TwiML app).
    """
    staff = await require_staff(request, CONSOLE_ROLES)
    telephony = request.app[keys.CONFIG].telephony
    if not telephony.browser_answering:
        return web.json_response(
            {
                "error": "voice_unavailable",
                "message": "browser answering is not configured; calls go to your phone",
            },
            status=404,
        )
    identity = f"counsellor-{staff.user.id}"
    assert telephony.account_sid and telephony.api_key_sid and telephony.api_key_secret
    token = AccessToken(
        telephony.account_sid,
        telephony.api_key_sid,
        telephony.api_key_secret,
        identity=identity,
        ttl=VOICE_TOKEN_SECONDS,
    )
    token.add_grant(
        VoiceGrant(incoming_allow=True, outgoing_application_sid=telephony.twiml_app_sid)
    )
    return web.json_response(
        {"token": token.to_jwt(), "identity": identity, "expires_in": VOICE_TOKEN_SECONDS}
    )


def _became_imminent_waiting(event: Event) -> bool:
    """Someone joined (or rejoined) the queue, or a waiting person's risk became imminent.

    `send_urgent` then checks the stored contact, so a re-queued imminent contact (its
    counsellor's phone did not answer) is offered to everyone again too.
    """
    if event.kind == "contact.queued":
        return True
    return event.kind == "contact.risk_changed" and event.data.get("to") == RiskLevel.IMMINENT.value


# -- live updates ------------------------------------------------------------------------


class _ConsoleView:
    """Pushes what one console needs as committed events arrive."""

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, staff: Staff) -> None:
        self.app = app
        self.ws = ws
        self.staff = staff
        self.supervisor = staff.user.role is Role.SUPERVISOR

    async def send_queue(self) -> None:
        await self.ws.send_str(await self.app[keys.CONSOLE_READS].queue_frame())

    async def send_urgent(self, contact_id: int) -> None:
        """Offer someone in danger now to this console, if they are still waiting."""
        contact = await self.app[keys.CONVERSATIONS].get(contact_id)
        if contact.state is ContactState.QUEUED and contact.risk is RiskLevel.IMMINENT:
            [summary] = await contact_summaries(self.app, [contact])
            await self.ws.send_json({"type": "urgent", "contact": summary})

    async def send_me(self) -> None:
        await self.ws.send_json({"type": "me", "me": await _me(self.app, self.staff)})

    async def send_floor(self) -> None:
        if self.supervisor:
            await self.ws.send_json({"type": "floor", "floor": await _floor(self.app)})

    async def send_surge(self) -> None:
        await self.ws.send_json({"type": "surge", "surge": await _surge_json(self.app)})

    async def send_warnings(self) -> None:
        """Supervisors: the early warnings still open, as sentences in both languages (the
        page shows its own); aggregates only, never a contact."""
        if not self.supervisor:
            return
        config = self.app[keys.CONFIG]
        alerts = await open_alerts(self.app[keys.DATABASE])
        frame: dict[str, object] = {"type": "warnings", "count": len(alerts)}
        for lang in config.ui.languages:
            frame[lang] = [
                warning_text(alert, lang, config.time_zone)
                for alert in alerts_json(alerts, config, lang)
            ]
        await self.ws.send_json(frame)

    async def follow(self, subscription: Subscription) -> None:
        conversations = self.app[keys.CONVERSATIONS]
        while not self.ws.closed:
            batch = [await subscription.get(), *subscription.drain()]
            if subscription.overflowed:
                subscription.overflowed = False
                await self.send_queue()
                await self.send_floor()
                continue
            queue_moved = floor_moved = False
            changed: set[int] = set()
            left_me: set[int] = set()
            for event in batch:
                if _became_imminent_waiting(event):
                    await self.send_urgent(int(event.subject.split(":")[1]))
                if (
                    event.kind == "protocol.step"
                    and event.actor == "system"
                    and event.data.get("step") == "supervisor_alerted"
                    and self.supervisor
                ):
                    contact = await conversations.get(int(event.subject.split(":")[1]))
                    [summary] = await contact_summaries(self.app, [contact])
                    await self.ws.send_json({"type": "imminent", "contact": summary})
                if event.kind == "contact.wait_breached" and self.supervisor:
                    contact = await conversations.get(int(event.subject.split(":")[1]))
                    [summary] = await contact_summaries(self.app, [contact])
                    await self.ws.send_json({"type": "alarm", "contact": summary, **event.data})
                if event.kind.startswith("contact.") and event.kind != "contact.viewed":
                    queue_moved = floor_moved = True
                    changed.add(int(event.subject.split(":")[1]))
                    if event.data.get("from_counsellor") == self.staff.user.id:
                        left_me.add(int(event.subject.split(":")[1]))
                elif event.kind in ("surge.started", "surge.ended"):
                    await self.send_surge()
                elif event.kind.startswith("stats.early_warning"):
                    await self.send_warnings()
                elif event.kind == "counsellor.presence":
                    floor_moved = True
                    if event.subject == f"user:{self.staff.user.id}":
                        await self.send_me()
                elif event.kind in ("message.added", "message.delivery"):
                    contact = await conversations.get(int(event.subject.split(":")[1]))
                    if contact.counsellor_id == self.staff.user.id or (
                        self.supervisor and contact.counsellor_id is not None
                    ):
                        message = await conversations.message(int(event.data["message_id"]))
                        if message is not None:
                            await self.ws.send_json(
                                {
                                    "type": "message",
                                    "contact_id": contact.id,
                                    "message": message_json(message),
                                }
                            )
            reads = self.app[keys.CONSOLE_READS]
            for contact_id in sorted(changed):
                contact = await reads.contact(contact_id)
                # Also tell the counsellor a contact just left (an unanswered call going
                # back to the queue), so their list does not keep a ghost.
                if contact.counsellor_id == self.staff.user.id or contact_id in left_me:
                    [summary] = await contact_summaries(self.app, [contact])
                    await self.ws.send_json({"type": "contact", "contact": summary})
            if queue_moved:
                await self.send_queue()
            if floor_moved:
                await self.send_floor()


async def console_socket(request: web.Request) -> web.StreamResponse:
    """WS /console/ws: live queue, messages and floor for a logged-in console."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="websocket origin not allowed")
    staff = await require_staff(request, CONSOLE_ROLES)
    app = request.app
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    sockets = app[keys.SOCKETS]
    owner = ("user", staff.user.id)
    # Presence first, then the handshake: the page re-reads its state when the socket opens,
    # and must not read the "offline" of a moment before (it would override the me frame).
    counsellors = app[keys.COUNSELLORS]
    if (await counsellors.presence(staff.user.id)).status is Presence.OFFLINE:
        await counsellors.set_presence(staff.user.id, Presence.AVAILABLE)
    try:
        await ws.prepare(request)
    except BaseException:
        if sockets.count(owner) == 0:  # no console after all: offline after the grace
            app[keys.PRESENCE_WATCH].schedule_offline(staff.user.id)
        raise
    sockets.add(ws, owner)
    view = _ConsoleView(app, ws, staff)
    async with app[keys.BUS].subscribe() as subscription:
        follower = asyncio.create_task(view.follow(subscription))
        try:
            await view.send_me()
            await view.send_queue()
            await view.send_floor()
            await view.send_surge()
            await view.send_warnings()
            for waiting in await app[keys.CONVERSATIONS].queue(limit=20):
                if waiting.risk is RiskLevel.IMMINENT:  # offered again after a reload
                    await view.send_urgent(waiting.id)
            async for frame in ws:  # the console only listens; pings are handled by aiohttp
                if frame.type is WSMsgType.ERROR:
                    break
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            if sockets.remove(ws, owner) == 0:
                app[keys.PRESENCE_WATCH].schedule_offline(staff.user.id)
    return ws


def setup_console(app: web.Application) -> None:
    """Routes of the console."""
    reads = ConsoleReads(app)
    app[keys.CONSOLE_READS] = reads
    app[keys.BUS].add_watcher(reads.invalidate)
    app.router.add_get("/console", console_page)
    app.router.add_get("/console/api/state", console_state)
    app.router.add_get("/console/api/options", console_options)
    app.router.add_post("/console/api/presence", set_presence)
    app.router.add_post("/console/api/take-next", take_next)
    app.router.add_get(r"/console/api/contacts/{contact_id:\d+}", get_contact)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/messages", post_message)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/notes", post_note)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/end", end_contact)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/take", take_contact)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/assessment", post_assessment)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/protocol", post_protocol_step)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/affected", post_affected)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/wrap-up", wrap_up)
    app.router.add_get(r"/console/api/contacts/{contact_id:\d+}/caller", get_caller)
    app.router.add_post(r"/console/api/contacts/{contact_id:\d+}/history", post_history)
    app.router.add_get("/console/api/voice-token", voice_token)
    app.router.add_get("/console/ws", console_socket)
