"""Mass incidents on the web: the board at /incidents, its JSON API, its live socket and the
after-action report (page and Markdown download).

Coordinators, supervisors and admins read the board and work the incident (checklist,
situation reports, registry, group sessions, duty); only coordinators and admins declare and
stand down, which the incident desk enforces. Handlers parse, call `IncidentDesk` and answer
with `IncidentViews`; domain errors become HTTP answers in the error middleware. The contract
is docs/incidents-api.md.

A registered person's name and phone go in through `POST …/people` and never come out:
the board, the socket, the report and the logs carry pseudonyms and counts only.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from dispatch.incidents.records import Incident
from dispatch.incidents.report import to_markdown
from dispatch.incidents.service import IncidentDesk
from dispatch.incidents.views import IncidentViews
from dispatch.web import keys as dispatch_keys
from hotline.channels.twilio_api import text_receipt, twiml
from hotline.clock import to_iso
from hotline.errors import InvalidInput
from hotline.events import Event
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import current_staff, open_staff_page, require_staff, staff_page_socket
from hotline.web.pages import render
from hotline.web.websockets import EventFeed
from hotline.web.wire import json_object

log = structlog.get_logger(__name__)

INCIDENT_ROLES = (Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN)
# Events that sound an alarm on the board, and the kind the page is told.
ALARM_KINDS = {
    "incident.step_overdue": "step_overdue",
    "incident.sitrep_due": "sitrep_due",
    "incident.rest_due": "rest_due",
}
MAX_DIGITS = 6

FORBIDDEN_TEXT = {
    "zh-CN": "您的角色（{role}）不使用应急事件看板。",
    "en": "Your role ({role}) does not use the incident board.",
}


def _desk(request: web.Request) -> IncidentDesk:
    return request.app[dispatch_keys.INCIDENTS]


def _views(app: web.Application) -> IncidentViews:
    return IncidentViews(app[dispatch_keys.INCIDENTS])


def _incident_id(request: web.Request) -> int:
    return int(request.match_info["incident_id"])


# -- parsing -------------------------------------------------------------------------------


def _whole_number(body: dict[str, Any], name: str) -> object:
    """Digits in a string become a number (a form's input); anything else is passed on for
    the desk to judge, so its message names what is wrong."""
    value = body.get(name)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= MAX_DIGITS:
        return int(value.strip())
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    return value.strip() or None


# -- pages ---------------------------------------------------------------------------------


async def _page(request: web.Request, template: str, **values: str) -> web.StreamResponse:
    page = await open_staff_page(request, INCIDENT_ROLES, FORBIDDEN_TEXT)
    if isinstance(page, web.Response):
        return page
    return render(template, request.app[keys.CONFIG], **{**page.values(request), **values})


async def incidents_page(request: web.Request) -> web.StreamResponse:
    """GET /incidents: the board (declare form, or the active incident)."""
    return await _page(request, "incidents.html")


async def report_page(request: web.Request) -> web.StreamResponse:
    """GET /incidents/{id}/report: the after-action report (a draft while it runs)."""
    staff = await current_staff(request)
    if staff is None or staff.user.role not in INCIDENT_ROLES:
        return await _page(request, "incident_report.html")
    incident = await _desk(request).get(_incident_id(request))
    report = await _desk(request).report(incident)
    plan = report["plan"]
    return await _page(
        request,
        "incident_report.html",
        incident_id=str(incident.id),
        plan_name_zh=plan["name_zh"],
        plan_name_en=plan["name_en"],
        teams_accepted=str(report["teams_accepted"]),
        teams_mobilised=str(report["teams_mobilised"]),
        people_total=str(report["people_total"]),
        contacts_total=str(report["contacts_total"]),
        followups_opened=str(report["followups_opened"]),
    )


async def report_markdown(request: web.Request) -> web.Response:
    """GET /incidents/{id}/report.md: the report as the Markdown file, downloaded."""
    await require_staff(request, INCIDENT_ROLES)
    desk = _desk(request)
    incident = await desk.get(_incident_id(request))
    text = to_markdown(await desk.report(incident))
    name = f"incident-{incident.id}-{incident.plan.id}.md"
    return web.Response(
        text=text,
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- the API -------------------------------------------------------------------------------


async def _incident_answer(
    app: web.Application, incident: Incident, status: int = 200
) -> web.Response:
    return web.json_response(await _views(app).incident(incident), status=status)


async def get_board(request: web.Request) -> web.Response:
    """GET /api/incidents/board: the active incident (or null), plans and choices."""
    await require_staff(request, INCIDENT_ROLES)
    return web.json_response(await _views(request.app).board())


async def get_incident(request: web.Request) -> web.Response:
    """GET /api/incidents/{id}: one incident, active or stood down."""
    await require_staff(request, INCIDENT_ROLES)
    incident = await _desk(request).get(_incident_id(request))
    return await _incident_answer(request.app, incident)


async def get_report(request: web.Request) -> web.Response:
    """GET /api/incidents/{id}/report: the report's data (the report page renders it)."""
    await require_staff(request, INCIDENT_ROLES)
    desk = _desk(request)
    return web.json_response(await desk.report(await desk.get(_incident_id(request))))


async def declare(request: web.Request) -> web.Response:
    """POST /api/incidents: declare from a plan; teams are paged, surge mode starts."""
    staff = await require_staff(request, INCIDENT_ROLES, csrf=True)
    body = await json_object(request)
    incident = await _desk(request).declare(
        staff.user, body.get("plan"), body.get("districts"), body.get("description", "")
    )
    log.info("incident_declared_on_board", incident_id=incident.id, user_id=staff.user.id)
    return await _incident_answer(request.app, incident, status=201)


async def _act(request: web.Request) -> tuple[Any, IncidentDesk, dict[str, Any], int]:
    """What every action on an incident checks first: roles, the CSRF token, a JSON body."""
    staff = await require_staff(request, INCIDENT_ROLES, csrf=True)
    body = await json_object(request)
    return staff.user, _desk(request), body, _incident_id(request)


async def _answer(request: web.Request, incident_id: int, status: int = 200) -> web.Response:
    incident = await _desk(request).get(incident_id)
    return await _incident_answer(request.app, incident, status)


async def complete_step(request: web.Request) -> web.Response:
    """POST /api/incidents/{id}/steps/{step}/done: tick a checklist step."""
    user, desk, _, incident_id = await _act(request)
    await desk.complete_step(incident_id, request.match_info["step"], user)
    return await _answer(request, incident_id)


async def add_sitrep(request: web.Request) -> web.Response:
    """POST /api/incidents/{id}/sitreps: file a situation report."""
    user, desk, body, incident_id = await _act(request)
    await desk.add_sitrep(incident_id, user, body.get("body"))
    return await _answer(request, incident_id, 201)


async def register_person(request: web.Request) -> web.Response:
    """POST /api/incidents/{id}/people: add a person to the registry (name, phone sealed)."""
    user, desk, body, incident_id = await _act(request)
    person = await desk.register(
        incident_id,
        user,
        district=body.get("district"),
        tier=_whole_number(body, "tier"),
        exposures=body.get("exposures", []),
        risk=body.get("risk") or "none",
        name=_optional_text(body, "name"),
        phone=_optional_text(body, "phone"),
    )
    log.info(
        "incident_person_registered", incident_id=incident_id, person_id=person.id, tier=person.tier
    )
    view = await _views(request.app).incident(await desk.get(incident_id))
    view["registered"] = next(p for p in view["registry"] if p["id"] == person.id)
    return web.json_response(view, status=201)


async def log_session(request: web.Request) -> web.Response:
    """POST /api/incidents/{id}/sessions: record a group session."""
    user, desk, body, incident_id = await _act(request)
    await desk.log_group_session(
        incident_id,
        user,
        district=body.get("district"),
        kind=body.get("kind"),
        participants=_whole_number(body, "participants"),
        note=body.get("note", ""),
    )
    return await _answer(request, incident_id, 201)


async def end_duty(request: web.Request) -> web.Response:
    """POST /api/incidents/{id}/duty/{responder}/end: a responder goes off duty to rest."""
    user, desk, _, incident_id = await _act(request)
    await desk.end_duty(incident_id, request.match_info["responder"], user)
    return await _answer(request, incident_id)


async def stand_down(request: web.Request) -> web.Response:
    """POST /api/incidents/{id}/stand-down: close it; surge off, the report written."""
    user, desk, _, incident_id = await _act(request)
    incident = await desk.stand_down(incident_id, user)
    log.info("incident_stood_down_on_board", incident_id=incident_id, user_id=user.id)
    return await _incident_answer(request.app, incident)


# -- live updates --------------------------------------------------------------------------


class IncidentFeed(EventFeed):
    """One board's socket: `changed` for incident, surge and mobilisation events, `alarm` for
    overdue steps, due situation reports and rest reminders."""

    name = "incidents"

    def __init__(self, app: web.Application, ws: web.WebSocketResponse) -> None:
        self.incidents = app[dispatch_keys.INCIDENTS]
        super().__init__(ws, self.incidents.db.clock)
        self.app = app
        self.mobilisations: set[int] = set()

    async def is_mobilisation(self, dispatch_id: int) -> bool:
        """Whether a dispatch pages a team for an incident (remembered once seen)."""
        if dispatch_id in self.mobilisations:
            return True
        found = await self.incidents.db.fetchval(
            "SELECT incident_id FROM incident_teams WHERE dispatch_id = ?", (dispatch_id,)
        )
        if found is not None:
            self.mobilisations.add(dispatch_id)
        return found is not None

    async def frames(self, event: Event) -> list[dict[str, Any]]:
        """What the board is told of one event (often nothing)."""
        kind, _, ident = event.subject.partition(":")
        if event.kind.startswith("dispatch."):
            if kind != "dispatch" or not ident.isdigit():
                return []
            if not await self.is_mobilisation(int(ident)):
                return []
            return [{"type": "changed", "kind": event.kind, "dispatch_id": int(ident)}]
        if not event.kind.startswith(("incident.", "surge.")):
            return []
        incident_id = int(ident) if kind == "incident" and ident.isdigit() else None
        frames: list[dict[str, Any]] = [
            {"type": "changed", "kind": event.kind, "incident_id": incident_id}
        ]
        if event.kind in ALARM_KINDS and incident_id is not None:
            frames.append(await self.alarm(event, incident_id))
        return frames

    async def alarm(self, event: Event, incident_id: int) -> dict[str, Any]:
        """An alarm frame: enough for a banner without reading the board."""
        frame: dict[str, Any] = {
            "type": "alarm",
            "kind": ALARM_KINDS[event.kind],
            "incident_id": incident_id,
            "at": to_iso(event.at),
        }
        if event.kind == "incident.step_overdue":
            incident = await self.incidents.get(incident_id)
            step = next(
                (s for s in incident.plan.checklist if s.id == event.data.get("step")), None
            )
            frame["step"] = event.data.get("step")
            frame["title_zh"] = step.title_zh if step else frame["step"]
            frame["title_en"] = step.title_en if step else frame["step"]
        elif event.kind == "incident.sitrep_due":
            frame["due_at"] = event.data.get("due_at")
        else:
            responder = str(event.data.get("responder") or "")
            frame["responder"] = _views(self.app).responder(responder)
        return frame


async def incidents_socket(request: web.Request) -> web.StreamResponse:
    """WS /api/incidents/ws: live changes and alarms for the board (same-site pages only)."""
    app = request.app
    return await staff_page_socket(
        request, INCIDENT_ROLES, "incidents", lambda ws, _user: IncidentFeed(app, ws).run
    )


async def callin_status(request: web.Request) -> web.Response:
    """POST /twilio/incidents/callin-status?callin=ID: a call-in text's delivery status."""
    callin_id, status, _sid = await text_receipt(
        request, request.app[keys.CONFIG].telephony, "callin"
    )
    if not await request.app[dispatch_keys.INCIDENTS].callin_delivery(callin_id, status):
        raise web.HTTPNotFound(text="unknown call-in")
    return twiml(MessagingResponse())


def setup_incidents(app: web.Application) -> None:
    """Routes of mass incidents: the board, its API and socket, the report."""
    app.router.add_get("/incidents", incidents_page)
    app.router.add_get(r"/incidents/{incident_id:\d+}/report", report_page)
    app.router.add_get(r"/incidents/{incident_id:\d+}/report.md", report_markdown)
    app.router.add_get("/api/incidents/board", get_board)
    app.router.add_get("/api/incidents/ws", incidents_socket)
    app.router.add_post("/api/incidents", declare)
    base = r"/api/incidents/{incident_id:\d+}"
    app.router.add_get(base, get_incident)
    app.router.add_get(base + "/report", get_report)
    app.router.add_post(base + "/steps/{step}/done", complete_step)
    app.router.add_post(base + "/sitreps", add_sitrep)
    app.router.add_post(base + "/people", register_person)
    app.router.add_post(base + "/sessions", log_session)
    app.router.add_post(base + "/duty/{responder}/end", end_duty)
    app.router.add_post(base + "/stand-down", stand_down)
    app.router.add_post("/twilio/incidents/callin-status", callin_status)
