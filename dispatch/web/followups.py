"""Follow-up of people at high risk on the web: the pages, their JSON API, the live socket
and Twilio's delivery callback for caring texts.

Every staff role may open the pages; what each sees is the service's rule, not this
module's: a counsellor works only the cases they own (403 `not_yours` otherwise), while
supervisors, coordinators and admins see every case, the district teams' lists, the flagged
ones and the high-risk contacts that ended with no follow-up decision. Handlers parse, call
`FollowUps` and answer with `CaseViews`; domain errors become HTTP answers in the error
middleware. The contract is docs/followups-api.md.

A person's number and name leave the server only through `POST …/details`, which the
service audits; no list, case view, socket frame or log line carries them.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from dispatch.followups.cases import Case, CaseSource, NewCase
from dispatch.followups.service import OVERSIGHT_ROLES, FollowUps, parse_phone_number
from dispatch.followups.views import CaseViews, parse_owner, parse_scope
from dispatch.web import keys as dispatch_keys
from dispatch.web.board import dispatch_json
from hotline.channels.twilio_api import text_receipt, twiml
from hotline.clock import to_iso
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.events import Event
from hotline.risk import RiskLevel
from hotline.users import Role, User
from hotline.web import keys
from hotline.web.auth import current_staff, require_staff, staff_page_socket
from hotline.web.pages import page_language, render
from hotline.web.websockets import EventFeed
from hotline.web.wire import json_object

log = structlog.get_logger(__name__)

FOLLOWUP_ROLES = (Role.COUNSELLOR, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN)
OVERSIGHT = tuple(role for role in FOLLOWUP_ROLES if role in OVERSIGHT_ROLES)
# Who hears a supervisor-stage alarm (a case overdue for long, flagged, or due a referral).
SUPERVISOR_ALARM_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Contact events after which the list of undecided high-risk contacts may have changed.
UNDECIDED_KINDS = frozenset(
    {"contact.abandoned", "contact.closed", "contact.transferred", "followup.declined"}
)
ALARM_KINDS = {
    "followup.overdue": "overdue",
    "followup.flagged": "flagged",
    "followup.referral_flagged": "referral_flagged",
}
MAX_DIGITS = 12

PAGE_TEXT = {
    "zh-CN": {
        "not_yours": "这个随访个案不由您负责。",
        "not_found": "找不到这个随访个案。",
    },
    "en": {
        "not_yours": "This follow-up case belongs to someone else.",
        "not_found": "There is no such follow-up case.",
    },
}


def _actor(user: User) -> str:
    return f"user:{user.id}"


def _views(app: web.Application) -> CaseViews:
    return CaseViews(app[dispatch_keys.FOLLOWUPS], app[keys.USERS])


def _case_id(request: web.Request) -> int:
    return int(request.match_info["case_id"])


# -- parsing -------------------------------------------------------------------------------


def _text(body: dict[str, Any], name: str) -> str | None:
    """A string field; empty or blank counts as absent (an unselected <select>)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    return value.strip() or None


def _whole_number(body: dict[str, Any], name: str) -> int | None:
    """A positive whole number; digits in a string are accepted (a form's input)."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= MAX_DIGITS:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value


def _grade(body: dict[str, Any]) -> int | None:
    value = body.get("grade")
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise InvalidInput("the danger grade is 0 to 5", code="invalid_grade", field="grade")
    return value


def _risk(body: dict[str, Any]) -> RiskLevel:
    try:
        return RiskLevel(_text(body, "risk") or "")
    except ValueError:
        raise InvalidInput(
            "risk must be one of none, low, moderate, high, imminent",
            code="invalid_risk",
            field="risk",
        ) from None


def _phone(body: dict[str, Any]) -> str | None:
    value = body.get("phone")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_phone_number(value)


# -- pages ---------------------------------------------------------------------------------


async def _page(
    request: web.Request, template: str, case_id: int | None = None
) -> web.StreamResponse:
    """A follow-up page for a logged-in staff member; a case page only for those who may
    see the case (a plain 403 or 404 page otherwise, before any script runs)."""
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    config = request.app[keys.CONFIG]
    lang = page_language(request, config)
    if case_id is not None:
        try:
            await request.app[dispatch_keys.FOLLOWUPS].get(case_id, staff.user)
        except (Forbidden, NotFound) as exc:
            text = PAGE_TEXT["en" if lang == "en" else "zh-CN"]
            status, key = (404, "not_found") if isinstance(exc, NotFound) else (403, "not_yours")
            return render("forbidden.html", config, status=status, lang=lang, message=text[key])
    return render(
        template,
        config,
        lang=lang,
        csrf_token=staff.session.csrf_token,
        user_role=staff.user.role.value,
        user_id=str(staff.user.id),
        display_name=staff.user.display_name,
        time_zone=config.time_zone,
        case_id="" if case_id is None else str(case_id),
    )


async def followups_page(request: web.Request) -> web.StreamResponse:
    """GET /followups: the lists (a counsellor's own; oversight roles choose a scope)."""
    return await _page(request, "followups.html")


async def case_page(request: web.Request) -> web.StreamResponse:
    """GET /followups/{id}: one case, for those who may see it (else a plain 403 page)."""
    return await _page(request, "followup_case.html", case_id=_case_id(request))


# -- the API -------------------------------------------------------------------------------


async def list_cases(request: web.Request) -> web.Response:
    """GET /api/followups?scope=…: overdue, due today and upcoming cases of one scope."""
    staff = await require_staff(request, FOLLOWUP_ROLES)
    followups = request.app[dispatch_keys.FOLLOWUPS]
    scope = parse_scope(request.query.get("scope"), staff.user, followups)
    return web.json_response(await _views(request.app).listing(scope, staff.user))


async def get_options(request: web.Request) -> web.Response:
    """GET /api/followups/options: every choice the forms offer."""
    staff = await require_staff(request, FOLLOWUP_ROLES)
    return web.json_response(await _views(request.app).options(staff.user))


async def _case_answer(
    app: web.Application, case: Case, viewer: User, status: int = 200
) -> web.Response:
    return web.json_response(await _views(app).detail(case, viewer), status=status)


async def open_case(request: web.Request) -> web.Response:
    """POST /api/followups: open a case by hand (a call from another route, a referral).

    A counsellor who names a contact must have handled it: the case links to it and records
    its follow-up decision, which is not theirs to make for someone else's contact.
    """
    staff = await require_staff(request, FOLLOWUP_ROLES, csrf=True)
    body = await json_object(request)
    app = request.app
    followups = app[dispatch_keys.FOLLOWUPS]
    config = app[keys.CONFIG]
    risk = _risk(body)
    owner = parse_owner(body.get("owner", "me"), staff.user, followups)
    lang = _text(body, "lang") or config.ui.language
    if lang not in config.ui.languages:
        raise InvalidInput("unknown language", code="invalid_lang", field="lang")
    name = _text(body, "name")
    contact_id = _whole_number(body, "contact_id")
    person_hash = None
    if contact_id is not None:
        contact = await app[keys.CONVERSATIONS].get(contact_id)
        if staff.user.role not in OVERSIGHT_ROLES and contact.counsellor_id != staff.user.id:
            raise Forbidden("this contact was not handled by you", code="not_yours")
        person_hash = await followups.cases.contact_hash(None, contact_id)
    case = await followups.open_case(
        NewCase(
            source=CaseSource.MANUAL,
            risk=risk,
            lang=lang,
            owner=owner,
            opened_by=_actor(staff.user),
            district=_text(body, "district"),
            phone=_phone(body),
            name=name,
            person_hash=person_hash,
            caring=_flag(body, "caring"),
            grade=_grade(body),
            contact_id=contact_id,
        )
    )
    log.info("followup_opened_by_hand", case_id=case.id, role=staff.user.role.value)
    return await _case_answer(app, case, staff.user, status=201)


async def get_case(request: web.Request) -> web.Response:
    """GET /api/followups/{id}: the case page's data."""
    staff = await require_staff(request, FOLLOWUP_ROLES)
    case = await request.app[dispatch_keys.FOLLOWUPS].get(_case_id(request), staff.user)
    return await _case_answer(request.app, case, staff.user)


async def _act(request: web.Request) -> tuple[User, FollowUps, dict[str, Any], int]:
    """What every action on a case checks first: a session, the CSRF token, a JSON body."""
    staff = await require_staff(request, FOLLOWUP_ROLES, csrf=True)
    body = await json_object(request)
    return staff.user, request.app[dispatch_keys.FOLLOWUPS], body, _case_id(request)


async def record_attempt(request: web.Request) -> web.Response:
    """POST /api/followups/{id}/attempts: how the call went and the fresh risk."""
    user, followups, body, case_id = await _act(request)
    result = await followups.record_attempt(
        case_id,
        user,
        outcome=body.get("outcome"),
        risk=body.get("risk"),
        grade=body.get("grade"),
        note=body.get("note", ""),
    )
    view = await _views(request.app).detail(result.case, user)
    view["risk_rose"] = result.risk_rose
    return web.json_response(view)


async def close_case(request: web.Request) -> web.Response:
    """POST /api/followups/{id}/close: only with a configured reason."""
    user, followups, body, case_id = await _act(request)
    case = await followups.close(case_id, user, body.get("reason"), body.get("note", ""))
    return await _case_answer(request.app, case, user)


async def reassign_case(request: web.Request) -> web.Response:
    """POST /api/followups/{id}/owner: hand the case to a counsellor or a district team."""
    user, followups, body, case_id = await _act(request)
    owner = parse_owner(body.get("owner"), user, followups)
    case = await followups.reassign(case_id, user, owner)
    return await _case_answer(request.app, case, user)


async def read_details(request: web.Request) -> web.Response:
    """POST /api/followups/{id}/details: the number and name, for the call; audited."""
    user, followups, _, case_id = await _act(request)
    details = await followups.contact_details(case_id, user)
    log.info("followup_details_read", case_id=case_id, user_id=user.id)
    return web.json_response(
        {**details, "audited": True, "read_at": to_iso(followups.db.clock.now())}
    )


async def request_dispatch(request: web.Request) -> web.Response:
    """POST /api/followups/{id}/dispatch: the risk rose; page the district's team now."""
    user, followups, body, case_id = await _act(request)
    summary = body.get("summary", "")
    dispatch_id = await followups.request_dispatch(
        case_id, user, risk=body.get("risk"), summary="" if summary is None else summary
    )
    request.app[dispatch_keys.DESK].pager.wake()
    log.info("followup_dispatch_requested", case_id=case_id, dispatch_id=dispatch_id)
    return web.json_response(await dispatch_json(request.app, dispatch_id), status=201)


async def link_contact(request: web.Request) -> web.Response:
    """POST /api/followups/{id}/links: the person reached the line from another route."""
    user, followups, body, case_id = await _act(request)
    contact_id = _whole_number(body, "contact_id")
    if contact_id is None:
        raise InvalidInput("enter the contact number", field="contact_id")
    await followups.link_contact(case_id, contact_id, user)
    return await _case_answer(request.app, await followups.get(case_id, user), user)


async def decide_contact(request: web.Request) -> web.Response:
    """POST /api/followups/decisions/{contact_id}: a case for a high-risk contact that ended
    without a wrap-up, or the reason why none."""
    staff = await require_staff(request, OVERSIGHT, csrf=True)
    body = await json_object(request)
    followups = request.app[dispatch_keys.FOLLOWUPS]
    contact_id = int(request.match_info["contact_id"])
    action = _text(body, "action")
    if action == "no_case":
        reason = _text(body, "reason") or ""
        await followups.decide_no_case(contact_id, staff.user, reason)
        return web.json_response({"contact_id": contact_id, "action": "no_case", "reason": reason})
    if action != "open":
        raise InvalidInput('action must be "open" or "no_case"', field="action")
    owner = parse_owner(body.get("owner"), staff.user, followups)
    if await followups.cases.decision(contact_id) is not None:
        raise Conflict("this contact already has a follow-up decision", code="decided")
    case = await followups.open_from_contact(
        contact_id, staff.user, owner=owner, caring=_flag(body, "caring"), phone=_phone(body)
    )
    return await _case_answer(request.app, case, staff.user, status=201)


async def caring_status(request: web.Request) -> web.Response:
    """POST /twilio/followups/caring-status?text=ID: a caring text's delivery status."""
    text_id, status, sid = await text_receipt(request, request.app[keys.CONFIG].telephony, "text")
    followups = request.app[dispatch_keys.FOLLOWUPS]
    if not await followups.caring_delivery(text_id, status, sid):
        raise web.HTTPNotFound(text="unknown text")
    return twiml(MessagingResponse())


# -- live updates --------------------------------------------------------------------------


class FollowUpFeed(EventFeed):
    """One page's socket: a `changed` frame for each follow-up event its viewer may see, and
    an `alarm` frame for each alarm addressed to them."""

    name = "followups"

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, viewer: User) -> None:
        self.followups = app[dispatch_keys.FOLLOWUPS]
        super().__init__(ws, self.followups.db.clock)
        self.app = app
        self.viewer = viewer
        self.oversight = viewer.role in OVERSIGHT_ROLES

    def resync_frame(self) -> dict[str, Any]:
        """The follow-up pages re-read on a change naming no case."""
        return {"type": "changed", "case_id": None, "kind": "resync"}

    async def frames(self, event: Event) -> list[dict[str, Any]]:
        """What this viewer is told of one event (often nothing)."""
        kind, _, ident = event.subject.partition(":")
        if kind == "contact" and event.kind in UNDECIDED_KINDS:
            return (
                [{"type": "changed", "case_id": None, "kind": event.kind}] if self.oversight else []
            )
        if kind != "followup" or not ident.isdigit() or not event.kind.startswith("followup."):
            return []
        case = await self.followups.cases.get(int(ident))
        if case is None or not self.may_see(case, event):
            return []
        frames: list[dict[str, Any]] = [{"type": "changed", "case_id": case.id, "kind": event.kind}]
        stage = self.alarm_stage(case, event)
        if stage is not None:
            frames.append(await self.alarm(case, event, stage))
        return frames

    def may_see(self, case: Case, event: Event) -> bool:
        """Oversight roles see every case; a counsellor their own, and the one just handed
        away from them (so it leaves their list at once)."""
        mine = f"user:{self.viewer.id}"
        return (
            self.oversight
            or case.owner.user_id == self.viewer.id
            or (event.kind == "followup.reassigned" and event.data.get("from") == mine)
        )

    def alarm_stage(self, case: Case, event: Event) -> str | None:
        """ "owner" or "supervisor" when this alarm is addressed to the viewer, else None.

        An overdue case alarms its owner first: the counsellor who owns it, or for a team's
        case the coordinators (who page the team). Later, and for flagged cases and due
        referrals, the supervisors (and admins).
        """
        if event.kind not in ALARM_KINDS:
            return None
        role = self.viewer.role
        if event.kind == "followup.overdue" and event.data.get("stage") == "owner":
            if case.owner.user_id is not None:
                return "owner" if case.owner.user_id == self.viewer.id else None
            return "owner" if role is Role.COORDINATOR else None
        return "supervisor" if role in SUPERVISOR_ALARM_ROLES else None

    async def alarm(self, case: Case, event: Event, stage: str) -> dict[str, Any]:
        """An alarm frame: enough for a banner without reading the case."""
        labels = _views(self.app).labels()
        return {
            "type": "alarm",
            "kind": ALARM_KINDS[event.kind],
            "stage": stage,
            "case_id": case.id,
            "pseudonym": case.pseudonym,
            "risk": case.risk.value,
            "grade": case.grade,
            "due_at": event.data.get("due_at"),
            "due_kind": event.data.get("due_kind"),
            "failed_streak": case.failed_streak,
            "owner": await labels.owner(case.owner),
            "at": to_iso(event.at),
        }


async def followups_socket(request: web.Request) -> web.StreamResponse:
    """WS /api/followups/ws: live changes and alarms for a logged-in staff member."""
    app = request.app
    return await staff_page_socket(
        request, FOLLOWUP_ROLES, "followups", lambda ws, user: FollowUpFeed(app, ws, user).run
    )


def setup_followups(app: web.Application) -> None:
    """Routes of follow-up: pages, API, socket, and the caring texts' delivery callback."""
    app.router.add_get("/followups", followups_page)
    app.router.add_get(r"/followups/{case_id:\d+}", case_page)
    app.router.add_get("/api/followups", list_cases)
    app.router.add_post("/api/followups", open_case)
    app.router.add_get("/api/followups/options", get_options)
    app.router.add_get("/api/followups/ws", followups_socket)
    app.router.add_post(r"/api/followups/decisions/{contact_id:\d+}", decide_contact)
    base = r"/api/followups/{case_id:\d+}"
    app.router.add_get(base, get_case)
    app.router.add_post(base + "/attempts", record_attempt)
    app.router.add_post(base + "/close", close_case)
    app.router.add_post(base + "/owner", reassign_case)
    app.router.add_post(base + "/details", read_details)
    app.router.add_post(base + "/dispatch", request_dispatch)
    app.router.add_post(base + "/links", link_contact)
    app.router.add_post("/twilio/followups/caring-status", caring_status)
