"""The crisis coordinators' board at /dispatch: the page, its JSON API and its live websocket.

The board is where a coordinator sees who is on call for every team, pages them, watches the
pages' delivery and the escalation's clock, and records what a responder said on the phone.
Every action names the logged-in person as its actor (`user:<id>`, as the console does), so
an acknowledgement made on someone's behalf is audited as such in the dispatch's timeline.

A counsellor reaches exactly one endpoint here: asking for a dispatch for a contact they hold
(the console's "请求调度" button). They never see the board: its pages name responders and
every open dispatch in the city, which a counsellor does not need to help the person in front
of them. The contract is docs/dispatch-api.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog
from aiohttp import web

from dispatch.desk import DispatchDesk
from dispatch.lifecycle import DispatchState
from dispatch.web import keys as dispatch_keys
from hotline.contacts import ContactState
from hotline.errors import Forbidden, InvalidInput, NotFound
from hotline.events import Event, Subscription
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import Staff, open_staff_page, require_staff, staff_page_socket
from hotline.web.pages import render
from hotline.web.wire import json_object

log = structlog.get_logger(__name__)

BOARD_ROLES = (Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN)
# A counsellor may ask for a dispatch, for a contact they hold, and nothing else here.
REQUEST_ROLES = (*BOARD_ROLES, Role.COUNSELLOR)
# The contact states in which a counsellor holds a contact (as `Conversations.held_by`).
HELD_STATES = frozenset({ContactState.OFFERED, ContactState.ACTIVE, ContactState.WRAP_UP})
# On-call names and "next handoff" change with the clock, not with events: a full board is
# sent this often so a board left open all night never shows last shift's responder.
BOARD_REFRESH_SECONDS = 30.0
# Events worth a browser notification and a banner, and the kind the page is told.
NOTIFY_KINDS = {
    "dispatch.paging": "page",
    "dispatch.accepted": "accepted",
    "dispatch.declined": "declined",
    "dispatch.alarm": "alarm",
    "dispatch.exhausted": "exhausted",
}
MAX_ETA_TEXT = 8

FORBIDDEN_TEXT = {
    "zh-CN": "您的角色（{role}）不使用调度台。",
    "en": "Your role ({role}) does not use the dispatch board.",
}


def staff_actor(staff: Staff) -> str:
    """The actor string an audit line names a staff member by (the console's format)."""
    return f"user:{staff.user.id}"


# -- views ---------------------------------------------------------------------------------


def _actors_of(view: dict[str, Any]) -> Iterable[str]:
    yield view.get("requested_by") or ""
    accepted = view.get("accepted") or {}
    yield accepted.get("actor") or ""
    for response in view.get("responses") or ():
        yield response.get("actor") or ""
    for entry in view.get("timeline") or ():
        yield entry.get("actor") or ""


async def _with_names(
    app: web.Application, views: list[dict[str, Any]], cache: dict[str, dict[str, str] | None]
) -> list[dict[str, Any]]:
    """Add `actor_names` to each view: staff actors (`user:7`) as a name and role.

    Audits store ids, not names (a display name is personal data and may change); the board
    shows a coordinator who did what, so the names are looked up as the view is sent.
    """
    users = app[keys.USERS]
    for view in views:
        names: dict[str, dict[str, str]] = {}
        for actor in _actors_of(view):
            if not actor.startswith("user:") or not actor[5:].isdigit():
                continue
            if actor not in cache:
                user = await users.get(int(actor[5:]))
                cache[actor] = (
                    None if user is None else {"name": user.display_name, "role": user.role.value}
                )
            found = cache[actor]
            if found is not None:
                names[actor] = found
        view["actor_names"] = names
    return views


async def dispatch_json(app: web.Application, dispatch_id: int) -> dict[str, Any]:
    """One dispatch as the board and the console receive it."""
    view = await app[dispatch_keys.DESK].dispatch_view(dispatch_id)
    [named] = await _with_names(app, [view], {})
    return named


async def board_json(app: web.Application) -> dict[str, Any]:
    """Everything the board shows (docs/dispatch-api.md), with the districts' names."""
    board = await app[dispatch_keys.DESK].board_view()
    await _with_names(app, board["dispatches"], {})
    board["districts"] = [d.as_dict() for d in app[keys.CONFIG].districts]
    return board


# -- parsing -------------------------------------------------------------------------------


def _text(body: dict[str, Any], name: str) -> str | None:
    """A string field; an empty string counts as absent (an unselected <select>)."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    return value


def _required(body: dict[str, Any], name: str) -> str:
    """A string field that must be there."""
    value = _text(body, name)
    if value is None or not value.strip():
        raise InvalidInput(f"{name} is required", field=name)
    return value


def _whole_number(body: dict[str, Any], name: str) -> int | None:
    """A whole-number field; digits in a string are accepted (a form's number input)."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value) <= MAX_ETA_TEXT:
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return value


def _risk(body: dict[str, Any]) -> RiskLevel:
    value = _required(body, "risk")
    try:
        return RiskLevel(value)
    except ValueError:
        raise InvalidInput(
            "risk must be one of none, low, moderate, high, imminent", field="risk"
        ) from None


def _dispatch_id(request: web.Request) -> int:
    return int(request.match_info["dispatch_id"])


# -- the page and the API ------------------------------------------------------------------


async def board_page(request: web.Request) -> web.StreamResponse:
    """GET /dispatch: the board, the login form for a stranger, a plain refusal otherwise."""
    page = await open_staff_page(request, BOARD_ROLES, FORBIDDEN_TEXT)
    if isinstance(page, web.Response):
        return page
    return render("dispatch.html", request.app[keys.CONFIG], **page.values(request))


async def get_board(request: web.Request) -> web.Response:
    """GET /dispatch/api/board: teams on call, open and recent dispatches, outcomes."""
    await require_staff(request, BOARD_ROLES)
    return web.json_response(await board_json(request.app))


async def post_dispatch(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches: a new dispatch; its first step's pages go out at once.

    A counsellor must name a contact they hold right now: the button sits in the open
    conversation, and a counsellor who no longer holds the contact should not page a team
    for it. A request naming a contact but no team or district goes to the contact's district.
    """
    staff = await require_staff(request, REQUEST_ROLES, csrf=True)
    body = await json_object(request)
    contact_id = _whole_number(body, "contact_id")
    team_id = _text(body, "team_id")
    district_id = _text(body, "district_id")
    summary = _text(body, "summary") or ""
    risk = _risk(body)
    if staff.user.role is Role.COUNSELLOR and contact_id is None:
        raise Forbidden(
            "a counsellor asks for a dispatch from a contact they hold", code="not_yours"
        )
    if contact_id is not None:
        contact = await request.app[keys.CONVERSATIONS].get(contact_id)
        if staff.user.role is Role.COUNSELLOR and (
            contact.counsellor_id != staff.user.id or contact.state not in HELD_STATES
        ):
            raise Forbidden("this contact is not held by you", code="not_yours")
        if team_id is None and district_id is None:
            district_id = contact.district
    row = await request.app[dispatch_keys.DESK].request(
        actor=staff_actor(staff),
        risk=risk,
        summary=summary,
        team_id=team_id,
        district_id=district_id,
        contact_id=contact_id,
    )
    log.info("dispatch_requested", dispatch_id=row.id, team=row.team_id, role=staff.user.role.value)
    return web.json_response(await dispatch_json(request.app, row.id), status=201)


async def _act(request: web.Request) -> tuple[Staff, DispatchDesk, dict[str, Any], int]:
    """The checks every action on an existing dispatch makes (roles, CSRF, a JSON body)."""
    staff = await require_staff(request, BOARD_ROLES, csrf=True)
    body = await json_object(request)
    return staff, request.app[dispatch_keys.DESK], body, _dispatch_id(request)


async def cancel_dispatch(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches/{id}/cancel: stop paging; a reason is required."""
    staff, desk, body, dispatch_id = await _act(request)
    await desk.cancel(dispatch_id, staff_actor(staff), _required(body, "reason"))
    return web.json_response(await dispatch_json(request.app, dispatch_id))


async def acknowledge_dispatch(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches/{id}/acknowledge: a responder said yes by phone.

    Recorded with the coordinator as actor and `on_behalf` in the event, so the timeline
    never shows a click as if the responder had answered themselves.
    """
    staff, desk, body, dispatch_id = await _act(request)
    team_id = _required(body, "team_id")
    member_id = _required(body, "member_id")
    eta = _whole_number(body, "eta_minutes")
    await desk.acknowledge(dispatch_id, staff_actor(staff), team_id, member_id, eta)
    return web.json_response(await dispatch_json(request.app, dispatch_id))


async def set_dispatch_state(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches/{id}/state: the responder is on the way, or there."""
    staff, desk, body, dispatch_id = await _act(request)
    value = _required(body, "state")
    if value not in (DispatchState.EN_ROUTE.value, DispatchState.ON_SCENE.value):
        raise InvalidInput("state must be en_route or on_scene", field="state")
    await desk.set_state(dispatch_id, staff_actor(staff), DispatchState(value))
    return web.json_response(await dispatch_json(request.app, dispatch_id))


async def resolve_dispatch(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches/{id}/resolve: close an accepted dispatch with an outcome."""
    staff, desk, body, dispatch_id = await _act(request)
    await desk.resolve(dispatch_id, staff_actor(staff), _required(body, "outcome"))
    return web.json_response(await dispatch_json(request.app, dispatch_id))


async def page_member(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches/{id}/page: page one person now, outside the policy."""
    staff, desk, body, dispatch_id = await _act(request)
    team_id = _required(body, "team_id")
    member_id = _required(body, "member_id")
    await desk.page_member(dispatch_id, staff_actor(staff), team_id, member_id)
    return web.json_response(await dispatch_json(request.app, dispatch_id))


async def disclose_number(request: web.Request) -> web.Response:
    """POST /dispatch/api/dispatches/{id}/disclose: text the caller's number to the responder."""
    staff, desk, _, dispatch_id = await _act(request)
    await desk.disclose_number(dispatch_id, staff_actor(staff))
    return web.json_response(await dispatch_json(request.app, dispatch_id))


# -- live updates --------------------------------------------------------------------------


class _BoardFeed:
    """Pushes one board's frames: the board, each changed dispatch, and what to notify."""

    def __init__(self, app: web.Application, ws: web.WebSocketResponse) -> None:
        self.app = app
        self.ws = ws
        self.desk = app[dispatch_keys.DESK]

    async def send_board(self) -> None:
        await self.ws.send_json({"type": "board", **await board_json(self.app)})

    async def run(self, subscription: Subscription) -> None:
        """Follow the bus until the socket closes; a failure closes the socket, so the page
        shows that it is reconnecting instead of silently showing a board that stopped."""
        try:
            await self.follow(subscription)
        except ConnectionResetError:
            pass  # the browser went away mid-frame
        except Exception as exc:
            log.error("board_feed_failed", error_type=type(exc).__name__)
            await self.ws.close()

    async def follow(self, subscription: Subscription) -> None:
        """The board first, then frames per committed change, and the board again every 30 s."""
        loop = asyncio.get_running_loop()
        await self.send_board()
        next_board = loop.time() + BOARD_REFRESH_SECONDS
        while not self.ws.closed:
            try:
                first = await asyncio.wait_for(
                    subscription.get(), timeout=max(0.0, next_board - loop.time())
                )
            except TimeoutError:
                await self.send_board()
                next_board = loop.time() + BOARD_REFRESH_SECONDS
                continue
            batch = [first, *subscription.drain()]
            if subscription.overflowed:
                # Events were dropped: the whole board is the only answer that is surely true.
                subscription.overflowed = False
                await self.send_board()
                next_board = loop.time() + BOARD_REFRESH_SECONDS
                continue
            await self.send_changes(batch)

    async def send_changes(self, batch: list[Event]) -> None:
        changed: list[int] = []
        notices: list[tuple[int, Event]] = []
        for event in batch:
            kind, _, ident = event.subject.partition(":")
            if kind != "dispatch" or not ident.isdigit():
                continue
            dispatch_id = int(ident)
            if dispatch_id not in changed:
                changed.append(dispatch_id)
            if event.kind in NOTIFY_KINDS:
                notices.append((dispatch_id, event))
        views: dict[int, dict[str, Any]] = {}
        names: dict[str, dict[str, str] | None] = {}
        for dispatch_id in changed:
            try:
                view = await self.desk.dispatch_view(dispatch_id)
            except NotFound:
                continue
            [views[dispatch_id]] = await _with_names(self.app, [view], names)
            await self.ws.send_json({"type": "dispatch", "dispatch": views[dispatch_id]})
        # After the dispatch frames, so the banner can name what the board already shows.
        for dispatch_id, event in notices:
            if dispatch_id in views:
                await self.ws.send_json(self.notice(views[dispatch_id], event))

    def notice(self, view: dict[str, Any], event: Event) -> dict[str, Any]:
        """A notify frame: enough for a banner without reading the dispatch."""
        data = event.data
        member = None
        if event.kind in ("dispatch.accepted", "dispatch.declined"):
            member = self.desk.member_view(data.get("team"), data.get("member"))
        return {
            "type": "notify",
            "kind": NOTIFY_KINDS[event.kind],
            "dispatch_id": view["id"],
            "code": view["code"],
            "team_id": view["team_id"],
            "district_id": view["district_id"],
            "risk": view["risk"],
            "dispatch_kind": view["kind"],
            "step": data.get("step"),
            "member": member,
            "on_behalf": bool(data.get("on_behalf")),
            "at": event.at.isoformat(),
        }


async def board_socket(request: web.Request) -> web.StreamResponse:
    """WS /dispatch/ws: the live board for a logged-in coordinator (same-site pages only)."""
    app = request.app
    return await staff_page_socket(
        request, BOARD_ROLES, "board", lambda ws, _user: _BoardFeed(app, ws).run
    )


def setup_board(app: web.Application) -> None:
    """Routes of the coordinators' board."""
    app.router.add_get("/dispatch", board_page)
    app.router.add_get("/dispatch/api/board", get_board)
    app.router.add_post("/dispatch/api/dispatches", post_dispatch)
    base = r"/dispatch/api/dispatches/{dispatch_id:\d+}"
    app.router.add_post(base + "/cancel", cancel_dispatch)
    app.router.add_post(base + "/acknowledge", acknowledge_dispatch)
    app.router.add_post(base + "/state", set_dispatch_state)
    app.router.add_post(base + "/resolve", resolve_dispatch)
    app.router.add_post(base + "/page", page_member)
    app.router.add_post(base + "/disclose", disclose_number)
    app.router.add_get("/dispatch/ws", board_socket)
