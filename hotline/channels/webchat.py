"""The public web chat: the page, starting a conversation, and the person's websocket.

The person is anonymous: no login, no name asked. A random resume token (kept by their
browser) is the only key to their conversation, so a reload or a dropped connection
resumes it. Size and rate limits answer abuse with a clear error frame, never a crash.

The browser also keeps a random identity across conversations (`hotline.chatIdentity`); its
keyed hash links a returning person's chats, as a number links calls and texts. It is only
ever stored hashed, and a malformed one is ignored: nobody is refused over it.

Surge mode (a mass incident is live): the page asks `GET /chat/api/surge` for the incident's
announcement and the "affected?" question, and the start request says `affected: true|false`;
a yes tags the contact and raises it to the surge's least risk, as key 1 does on the phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from hotline.contacts import Contact, ContactState
from hotline.conversations import Conversations
from hotline.errors import DomainError
from hotline.events import Subscription
from hotline.risk import RiskLevel
from hotline.triage.screener import screen
from hotline.web import keys
from hotline.web.auth import origin_allowed
from hotline.web.errors import error_response
from hotline.web.pages import page_language, render
from hotline.web.wire import message_json

log = structlog.get_logger(__name__)

UNKNOWN_CONVERSATION = 4404
MAX_FRAME_BYTES = 64 * 1024
ENDED_STATES = {
    ContactState.WRAP_UP,
    ContactState.CLOSED,
    ContactState.ABANDONED,
    ContactState.TRANSFERRED,
}

# The chat's own wording of the surge question. The plan's `affected_question` is written for
# the keypad ("…press 1; otherwise press 2"), which means nothing on a page; the page shows the
# plan's chat announcement (naming the incident) above this and offers yes / no.
CHAT_AFFECTED_QUESTION = {
    "zh": "您本人或家人是否受到了这次事件的影响？",
    "en": "Were you or your family affected by this incident?",
}

ERRORS = {
    "too_fast": "You are sending messages very quickly; please wait a moment.",
    "bad_request": "That could not be understood; please send text.",
}


async def chat_page(request: web.Request) -> web.Response:
    """GET /chat."""
    config = request.app[keys.CONFIG]
    return render("chat.html", config, lang=page_language(request, config))


async def chat_options(request: web.Request) -> web.Response:
    """GET /chat/api/options: what the start form offers."""
    config = request.app[keys.CONFIG]
    return web.json_response(
        {
            "districts": [d.as_dict() for d in config.districts],
            "max_message_chars": config.webchat.max_message_chars,
            "languages": list(config.ui.languages),
            "default_language": config.ui.language,
        }
    )


async def chat_surge(request: web.Request) -> web.Response:
    """GET /chat/api/surge[?lang=]: is a mass incident live, and what the page should say.

    Public and personal-data free: the announcement and question in the page's language.
    """
    config = request.app[keys.CONFIG]
    surge = await request.app[keys.CONVERSATIONS].surge()
    if surge is None:
        body: dict[str, Any] = {"active": False, "announcement": None, "question": None}
    else:
        lang = page_language(request, config)
        body = {
            "active": True,
            "announcement": surge.text("chat_announcement", lang),
            "question": CHAT_AFFECTED_QUESTION["en" if lang.startswith("en") else "zh"],
        }
    # Never cached: the page must stop asking the moment the incident stands down.
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def start_conversation(request: web.Request) -> web.Response:
    """POST /chat/api/conversations: queue a new contact and hand back its resume token."""
    if not request.app[keys.CHAT_START_LIMITER].allow(str(request.remote)):
        return error_response(
            429, "too_many_starts", "Too many conversations started; please wait a minute."
        )
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(400, "bad_request", "the body must be JSON")
    if not isinstance(body, dict):
        return error_response(400, "bad_request", "the body must be a JSON object")
    district = body.get("district") or None
    lang = body.get("lang")
    if district is not None and not isinstance(district, str):
        return error_response(400, "unknown_district", "district must be a district id")
    answers = body.get("screener") or {}
    if not isinstance(answers, dict):
        return error_response(400, "bad_request", "screener must be an object of answers")
    affected = body.get("affected")
    if affected is not None and not isinstance(affected, bool):
        return error_response(400, "bad_request", "affected must be true or false")
    screened = screen(answers)  # before anything is stored: bad answers change nothing
    conversations = request.app[keys.CONVERSATIONS]
    contact, token = await conversations.start_webchat(
        district, lang if isinstance(lang, str) else "", body.get("identity")
    )
    if screened.level is not RiskLevel.NONE:
        await conversations.raise_risk(contact.id, screened.level, "screener", screened.reasons)
    if affected:
        # Ignored (None) when no surge is on: a page left open after the stand-down.
        await conversations.tag_affected_on_arrival(contact.id, "chat")
    return web.json_response({"contact_id": contact.id, "token": token}, status=201)


async def _status(conversations: Conversations, contact: Contact) -> dict[str, Any]:
    if contact.state is ContactState.QUEUED:
        position = await conversations.position(contact)
        wait = await conversations.wait_estimate_minutes(position)
        return {
            "type": "status",
            "state": contact.state.value,
            "position": position,
            "wait_minutes": wait,
        }
    return {"type": "status", "state": contact.state.value, "position": None, "wait_minutes": None}


class _CallerView:
    """What one person's socket has been told, so each change is sent once."""

    def __init__(self, ws: web.WebSocketResponse, conversations: Conversations, contact_id: int):
        self.ws = ws
        self.conversations = conversations
        self.contact_id = contact_id
        self.subject = f"contact:{contact_id}"
        self.ended_sent = False

    async def send_everything(self) -> None:
        messages = await self.conversations.messages(self.contact_id)
        await self.ws.send_json(
            {"type": "history", "messages": [message_json(m) for m in messages]}
        )
        await self.send_state()

    async def send_state(self) -> None:
        contact = await self.conversations.get(self.contact_id)
        if contact.state in ENDED_STATES:
            if not self.ended_sent:
                self.ended_sent = True
                await self.ws.send_json({"type": "ended", "by": contact.ended_by or "counsellor"})
            return
        await self.ws.send_json(await _status(self.conversations, contact))

    async def follow(self, subscription: Subscription) -> None:
        """Forward committed changes to the person until the socket closes."""
        while not self.ws.closed:
            batch = [await subscription.get(), *subscription.drain()]
            if subscription.overflowed:
                subscription.overflowed = False
                await self.send_everything()
                continue
            state_changed = False
            for event in batch:
                if event.subject == self.subject and event.kind == "message.added":
                    message = await self.conversations.message(int(event.data["message_id"]))
                    if message is not None:
                        await self.ws.send_json(
                            {"type": "message", "message": message_json(message)}
                        )
                elif event.kind.startswith("contact."):
                    # Any contact moving can change this person's place in the queue.
                    state_changed = True
            if state_changed:
                await self.send_state()


async def chat_socket(request: web.Request) -> web.StreamResponse:
    """WS /chat/ws?token=...: the person's side of the conversation."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="websocket origin not allowed")
    app = request.app
    conversations = app[keys.CONVERSATIONS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    token = request.query.get("token", "")
    contact = await conversations.resume(token) if token else None
    if contact is None:
        await ws.close(code=UNKNOWN_CONVERSATION, message=b"unknown conversation")
        return ws

    sockets = app[keys.SOCKETS]
    owner = ("contact", contact.id)
    sockets.add(ws, owner)
    view = _CallerView(ws, conversations, contact.id)
    async with app[keys.BUS].subscribe() as subscription:
        follower = asyncio.create_task(view.follow(subscription))
        try:
            if contact.state.is_open:
                await conversations.caller_connected(contact.id)
            await view.send_everything()
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    if frame.type is WSMsgType.BINARY:
                        await _refuse(ws, "bad_request", ERRORS["bad_request"])
                    continue
                await _handle_frame(app, ws, contact.id, frame.data)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            # With several gateway processes the person may be connected to another one (a
            # reload through the load balancer): the cluster's liveness sweep decides there.
            if sockets.remove(ws, owner) == 0 and app.get(keys.CLUSTER) is None:
                current = await conversations.get(contact.id)
                if current.state.is_open:
                    await conversations.caller_disconnected(contact.id)
    return ws


async def _refuse(ws: web.WebSocketResponse, code: str, message: str) -> None:
    await ws.send_json({"type": "error", "code": code, "message": message})


async def _handle_frame(
    app: web.Application, ws: web.WebSocketResponse, contact_id: int, data: str
) -> None:
    try:
        frame = json.loads(data)
    except json.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict) or frame.get("type") not in ("message", "end"):
        await _refuse(ws, "bad_request", ERRORS["bad_request"])
        return
    conversations = app[keys.CONVERSATIONS]
    try:
        if frame["type"] == "end":
            await conversations.caller_end(contact_id)
            return
        # Refused text (too long, empty) costs nothing to store, so it does not use up the
        # person's rate: someone trimming an over-long message is not also told to slow down.
        conversations.check_text(frame.get("text"))
        if not app[keys.CHAT_MESSAGE_LIMITER].allow(str(contact_id)):
            await _refuse(ws, "too_fast", ERRORS["too_fast"])
            return
        await conversations.caller_message(contact_id, frame.get("text"))
    except DomainError as exc:
        await _refuse(ws, exc.code, exc.message)


def setup_chat(app: web.Application) -> None:
    """Routes of the public chat."""
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/api/options", chat_options)
    app.router.add_get("/chat/api/surge", chat_surge)
    app.router.add_post("/chat/api/conversations", start_conversation)
    app.router.add_get("/chat/ws", chat_socket)
