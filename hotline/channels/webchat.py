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

The store away (PostgreSQL does not answer, `Database.unreachable`; docs/scaleout.md "When the
store goes away: web chat"): a start that could not be kept answers 503 `store_unavailable`
with `Retry-After`, and the page keeps the person on a "please stay" screen and sends the same
start again until it is kept. A start that was kept, but whose screener rise or surge tag then
found the store gone, answers 201 all the same (the person must not be told to retry and so
queue twice); the missed steps are retried in the background until the store answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
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

# The store does not answer: how long the page waits before sending the same start again.
STORE_RETRY_AFTER_S = 5
STORE_UNAVAILABLE = (
    "The hotline cannot keep a new conversation this moment; please stay on this page: "
    "it will try again by itself."
)
# A kept start's missed steps (screener rise, surge tag): how often they are tried again,
# and for how long before giving up (the log then names the contact for a supervisor).
CATCH_UP_EVERY_S = 5.0
CATCH_UP_FOR_S = 600.0
# The catch-up tasks still running, cancelled when the application shuts down.
CATCH_UPS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("chat_catch_ups")

# One step that follows a kept start: its name (for the log) and how to run it again.
Step = tuple[str, Callable[[], Awaitable[object]]]


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
    503 `store_unavailable` when the store does not answer (the page then asks nothing).
    """
    config = request.app[keys.CONFIG]
    try:
        surge = await request.app[keys.CONVERSATIONS].surge()
    except request.app[keys.DATABASE].unreachable as exc:
        log.warning("chat_surge_store_unavailable", error_type=type(exc).__name__)
        return _store_unavailable()
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


def _store_unavailable() -> web.Response:
    response = error_response(503, "store_unavailable", STORE_UNAVAILABLE)
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
    response.headers["Cache-Control"] = "no-store"
    return response


async def start_conversation(request: web.Request) -> web.Response:
    """POST /chat/api/conversations: queue a new contact and hand back its resume token.

    Store away: 503 `store_unavailable` + `Retry-After` when nothing was kept (the page
    retries the same start); 201 when the contact was kept even if a step after it was not
    (logged `chat_start_partial`, caught up in the background): never both a contact and
    an answer that asks for another try.
    """
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
    unreachable = request.app[keys.DATABASE].unreachable
    try:
        contact, token = await conversations.start_webchat(
            district, lang if isinstance(lang, str) else "", body.get("identity")
        )
    except unreachable as exc:
        # Nothing was kept (the contact and its token are one transaction): the page waits
        # and sends the same start again. No personal data in the log, only what failed.
        log.warning("chat_start_store_unavailable", error_type=type(exc).__name__)
        return _store_unavailable()

    contact_id = contact.id
    steps: list[Step] = []
    if screened.level is not RiskLevel.NONE:
        level, reasons = screened.level, screened.reasons
        steps.append(
            ("risk", lambda: conversations.raise_risk(contact_id, level, "screener", reasons))
        )
    if affected:
        # Ignored (None) when no surge is on: a page left open after the stand-down.
        steps.append(
            ("affected", lambda: conversations.tag_affected_on_arrival(contact_id, "chat"))
        )
    for done, (_, step) in enumerate(steps):
        try:
            await step()
        except unreachable as exc:
            # The contact is kept and queued: answer 201, so the person is not sent to try
            # again (a second contact). Both steps only ever raise, and a tag already made
            # is left as it is, so running them again later is safe.
            missed = steps[done:]
            log.warning(
                "chat_start_partial",
                contact_id=contact_id,
                missed=[name for name, _ in missed],
                error_type=type(exc).__name__,
            )
            _catch_up_later(request.app, contact_id, missed, unreachable)
            break
    return web.json_response({"contact_id": contact_id, "token": token}, status=201)


def _catch_up_later(
    app: web.Application,
    contact_id: int,
    steps: list[Step],
    unreachable: tuple[type[BaseException], ...],
) -> None:
    tasks = app[CATCH_UPS]
    task = asyncio.create_task(_catch_up(contact_id, steps, unreachable))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _catch_up(
    contact_id: int, steps: list[Step], unreachable: tuple[type[BaseException], ...]
) -> None:
    """Run a kept start's missed steps once the store answers again (every few seconds, for
    at most `CATCH_UP_FOR_S`); every outcome is logged with the contact id only."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_FOR_S
    pending = list(steps)
    while pending:
        try:
            await asyncio.sleep(CATCH_UP_EVERY_S)
            while pending:
                await pending[0][1]()
                pending.pop(0)
        except asyncio.CancelledError:
            # The gateway is stopping: what is still missing is lost; say for which contact.
            log.warning(
                "chat_start_catch_up_stopped",
                contact_id=contact_id,
                missed=[name for name, _ in pending],
            )
            raise
        except unreachable:
            if loop.time() >= deadline:
                log.error(
                    "chat_start_catch_up_gave_up",
                    contact_id=contact_id,
                    missed=[name for name, _ in pending],
                )
                return
        except Exception as exc:  # e.g. the contact is gone: nothing left to catch up
            log.error(
                "chat_start_catch_up_failed",
                contact_id=contact_id,
                missed=[name for name, _ in pending],
                error_type=type(exc).__name__,
            )
            return
    log.info("chat_start_caught_up", contact_id=contact_id, steps=[name for name, _ in steps])


async def _stop_catch_ups(app: web.Application) -> None:
    running = app[CATCH_UPS]
    tasks = list(running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


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
    app[CATCH_UPS] = set()
    app.on_shutdown.append(_stop_catch_ups)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/api/options", chat_options)
    app.router.add_get("/chat/api/surge", chat_surge)
    app.router.add_post("/chat/api/conversations", start_conversation)
    app.router.add_get("/chat/ws", chat_socket)
