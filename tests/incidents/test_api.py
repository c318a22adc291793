"""The incident board's API, report endpoints and socket (docs/incidents-api.md), through the
real app on real SQLite with a manual clock."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.followups.cases import CaseSource
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.risk import RiskLevel
from hotline.surge import current_surge
from hotline.users import Role
from hotline.web import keys
from tests.conftest import Staff, StaffFactory

NAME, PHONE = "李秀英", "+8613700001111"


def app_of(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def json_of(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status == status, await response.text()
    return dict(await response.json())


async def staff_login(login: StaffFactory, username: str, role: Role) -> Staff:
    """A staff member logged in, holding the CSRF token their own page gives them."""
    staff = await login(username, role, available=False)
    page = await staff.get("/followups" if role is Role.COUNSELLOR else "/incidents")
    token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert token, "the page has no CSRF token"
    staff.csrf = token.group(1)
    return staff


async def declare_flood(staff: Staff, districts: list[str] | None = None) -> dict[str, Any]:
    body = {
        "plan": "flood",
        "districts": districts or ["jinghu", "wuwei"],
        "description": "江堤决口，多个村庄被淹",
    }
    return await json_of(await staff.post("/api/incidents", body), 201)


async def test_the_board_needs_a_session_and_a_board_role(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A stranger is sent to log in; a counsellor is refused the page and the API."""
    page = await client.get("/incidents", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/incidents"
    assert (await client.get("/api/incidents/board")).status == 401
    wang = await staff_login(login, "wang", Role.COUNSELLOR)
    assert (await wang.get("/incidents")).status == 403
    refused = await wang.get("/api/incidents/board")
    assert refused.status == 403
    declared = await wang.post("/api/incidents", {"plan": "flood", "districts": ["jinghu"]})
    assert declared.status == 403
    assert (await wang.get("/incidents/1/report.md")).status == 403


async def test_with_no_incident_the_board_offers_the_plans(login: StaffFactory) -> None:
    """No incident: null, and every plan with the teams it mobilises, districts and choices."""
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    page = await zhao.get("/incidents")
    text = await page.text()
    assert page.status == 200 and "/static/incidents.js" in text and "/static/staff.js" in text
    board = await json_of(await zhao.get("/api/incidents/board"))
    assert board["incident"] is None
    flood = next(p for p in board["plans"] if p["id"] == "flood")
    assert flood["name_zh"] == "自然灾害：洪涝" and flood["kind"] == "natural_disaster"
    assert [m.get("id") for m in flood["mobilise"]] == ["city", "districts"]
    assert {d["id"] for d in board["districts"]} >= {"jinghu", "wuwei"}
    assert "bereaved" in board["exposures"] and "imminent" in board["risks"]


async def test_declaring_pages_teams_starts_the_checklist_and_surge(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Declared through the API: mobilisation dispatches, the checklist, surge mode on."""
    app = app_of(client)
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    incident = await declare_flood(zhao)
    assert incident["active"] and incident["plan"]["id"] == "flood"
    assert [d["id"] for d in incident["districts"]] == ["jinghu", "wuwei"]
    assert incident["description"] == "江堤决口，多个村庄被淹"
    rows = await app[keys.DATABASE].fetchall("SELECT kind, team_id FROM dispatches ORDER BY id")
    assert [(r["kind"], r["team_id"]) for r in rows] == [
        ("mobilisation", "city"),
        ("mobilisation", "jinghu"),
        ("mobilisation", "wuwei"),
    ]
    assert incident["teams_mobilised"] == 3 and incident["teams_accepted"] == 0
    assert [t["team"]["id"] for t in incident["teams"]] == ["city", "jinghu", "wuwei"]
    assert all(t["code"] and t["state"] for t in incident["teams"])
    steps = incident["checklist"]
    assert steps[0]["id"] == "confirm_scope" and steps[0]["owner"] == "coordinator"
    assert steps[0]["title_en"].startswith("Confirm the affected area")
    assert not any(s["overdue"] or s["done_at"] for s in steps)
    assert incident["sitrep"]["next_due_at"] and not incident["sitrep"]["overdue"]
    assert [t["tier"] for t in incident["tiers"]] == [1, 2, 3, 4]
    assert incident["timeline"][0]["kind"] == "incident.declared"
    surge = await current_surge(app[keys.DATABASE])
    assert surge is not None and surge.incident_id == incident["id"]
    board = await json_of(await zhao.get("/api/incidents/board"))
    assert board["incident"]["id"] == incident["id"]
    again = await zhao.post("/api/incidents", {"plan": "flood", "districts": ["jinghu"]})
    assert again.status == 409 and (await again.json())["error"] == "incident_active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan": "meteor", "districts": ["jinghu"]}, "plan"),
        ({"plan": "flood", "districts": []}, "districts"),
        ({"plan": "flood", "districts": ["atlantis"]}, "districts"),
    ],
)
async def test_a_bad_declaration_says_what_to_correct(
    client: TestClient[Any, Any], login: StaffFactory, body: dict[str, Any], field: str
) -> None:
    """400 with the field named; nothing is paged."""
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    answer = await zhao.post("/api/incidents", body)
    assert answer.status == 400 and (await answer.json())["field"] == field
    assert await app_of(client)[keys.DATABASE].fetchval("SELECT COUNT(*) FROM dispatches") == 0


async def test_a_supervisor_reads_and_works_but_does_not_declare_or_stand_down(
    login: StaffFactory,
) -> None:
    """Supervisors see the board and tick steps; declaring and standing down are 403."""
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    li = await staff_login(login, "li", Role.SUPERVISOR)
    refused = await li.post("/api/incidents", {"plan": "flood", "districts": ["jinghu"]})
    assert refused.status == 403
    incident = await declare_flood(zhao)
    iid = incident["id"]
    seen = await json_of(await li.get(f"/api/incidents/{iid}"))
    assert seen["id"] == iid
    done = await json_of(await li.post(f"/api/incidents/{iid}/steps/hotline_surge/done"))
    step = next(s for s in done["checklist"] if s["id"] == "hotline_surge")
    assert step["done_at"] and step["done_by"] == f"user:{li.user_id}"
    again = await li.post(f"/api/incidents/{iid}/steps/hotline_surge/done")
    assert again.status == 400
    assert (await li.post(f"/api/incidents/{iid}/stand-down")).status == 403
    no_csrf = await li.client.post(f"/api/incidents/{iid}/steps/confirm_scope/done", json={})
    assert no_csrf.status == 403


async def test_the_registry_opens_a_follow_up_and_never_shows_name_or_phone(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Tier 1 opens a follow-up case; the board shows the pseudonym, never name or phone."""
    app = app_of(client)
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    iid = (await declare_flood(zhao))["id"]
    body = {
        "district": "jinghu",
        "tier": "1",
        "exposures": ["bereaved", "home_lost"],
        "risk": "moderate",
        "name": NAME,
        "phone": PHONE,
    }
    answer = await zhao.post(f"/api/incidents/{iid}/people", body)
    raw = await answer.text()
    assert answer.status == 201, raw
    assert NAME not in raw and PHONE not in raw and PHONE[3:] not in raw
    person = json.loads(raw)["registered"]
    assert person["pseudonym"].startswith("P-") and person["tier"] == 1
    assert person["exposures"] == ["bereaved", "home_lost"]
    assert person["case_id"] is not None and person["case_pseudonym"]
    case = await app[dispatch_keys.FOLLOWUPS].cases.get(person["case_id"])
    assert case is not None and case.source is CaseSource.INCIDENT
    board = await (await zhao.get("/api/incidents/board")).text()
    assert NAME not in board and PHONE not in board and person["pseudonym"] in board
    bad = await zhao.post(f"/api/incidents/{iid}/people", {**body, "tier": 7})
    assert bad.status == 400 and (await bad.json())["field"] == "tier"
    relative = await json_of(
        await zhao.post(
            f"/api/incidents/{iid}/people", {"district": "wuwei", "tier": 3, "risk": "low"}
        ),
        201,
    )
    assert relative["registered"]["case_id"] is None


async def test_sitreps_sessions_and_contacts_by_risk(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """A report moves the next due time; sessions are listed; tagged contacts are counted."""
    app = app_of(client)
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    incident = await declare_flood(zhao)
    iid = incident["id"]
    first_due = incident["sitrep"]["next_due_at"]
    clock.advance(hours=5)
    late = await json_of(await zhao.get(f"/api/incidents/{iid}"))
    assert late["sitrep"]["overdue"] and late["checklist"][0]["overdue"]
    empty = await zhao.post(f"/api/incidents/{iid}/sitreps", {"body": "  "})
    assert empty.status == 400
    filed = await json_of(
        await zhao.post(f"/api/incidents/{iid}/sitreps", {"body": "两处安置点"}), 201
    )
    assert filed["sitrep"]["next_due_at"] > first_due and not filed["sitrep"]["overdue"]
    assert len(filed["sitrep"]["filed"]) == 1 and "两处安置点" not in json.dumps(filed)
    session = {"district": "wuwei", "kind": "debriefing", "participants": "12"}
    logged = await json_of(await zhao.post(f"/api/incidents/{iid}/sessions", session), 201)
    assert logged["group_sessions"][0]["participants"] == 12
    conversations = app[keys.CONVERSATIONS]
    for risk in (RiskLevel.HIGH, RiskLevel.HIGH, RiskLevel.MODERATE):
        contact, _ = await conversations.start_webchat("jinghu", "zh-CN")
        await conversations.raise_risk(contact.id, risk, "screener")
        async with app[keys.DATABASE].transaction() as tx:
            await tx.execute("UPDATE contacts SET incident_id = ? WHERE id = ?", (iid, contact.id))
    counted = await json_of(await zhao.get(f"/api/incidents/{iid}"))
    assert counted["contacts_by_risk"] == {
        "by_risk": {"none": 0, "low": 0, "moderate": 1, "high": 2, "imminent": 0},
        "total": 3,
    }


async def test_stand_down_writes_a_report_without_name_or_phone(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Stand-down: surge off; the report page and the Markdown name the plan and counts."""
    app = app_of(client)
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    iid = (await declare_flood(zhao))["id"]
    person = {"district": "wuwei", "tier": 1, "name": NAME, "phone": PHONE}
    assert (await zhao.post(f"/api/incidents/{iid}/people", person)).status == 201
    done = await json_of(await zhao.post(f"/api/incidents/{iid}/stand-down"))
    assert done["state"] == "stood_down" and not done["active"]
    assert await current_surge(app[keys.DATABASE]) is None
    assert (await json_of(await zhao.get("/api/incidents/board")))["incident"] is None
    late = await zhao.post(f"/api/incidents/{iid}/sitreps", {"body": "too late"})
    assert late.status == 409

    page = await zhao.get(f"/incidents/{iid}/report")
    html = await page.text()
    assert page.status == 200 and "自然灾害：洪涝" in html
    assert 'id="teams-accepted">0<' in html and 'id="teams-mobilised">3<' in html
    assert 'id="people-total">1<' in html
    markdown = await zhao.get(f"/incidents/{iid}/report.md")
    text = await markdown.text()
    assert markdown.status == 200 and markdown.content_type == "text/markdown"
    assert "attachment" in markdown.headers["Content-Disposition"]
    assert "自然灾害：洪涝" in text and "0 / 3 支队伍接受" in text
    data = await (await zhao.get(f"/api/incidents/{iid}/report")).text()
    for body in (html, text, data):
        assert NAME not in body and PHONE not in body and PHONE[3:] not in body
    assert (await zhao.get("/incidents/99/report")).status == 404


async def _frames_until(
    ws: aiohttp.ClientWebSocketResponse, done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while True:
        frame = await ws.receive_json(timeout=5)
        frames.append(frame)
        if done(frame):
            return frames


async def test_the_socket_tells_changes_and_alarms(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """Declaring, mobilisation and surge events are `changed`; an overdue step, a due report
    and a rest reminder are `alarm`s; a stranger's origin is refused."""
    app = app_of(client)
    zhao = await staff_login(login, "zhao", Role.COORDINATOR)
    wang = await staff_login(login, "wang", Role.COUNSELLOR)
    origin = str(client.make_url("")).rstrip("/")
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await zhao.client.ws_connect("/api/incidents/ws", headers={"Origin": "https://evil.test"})
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await wang.client.ws_connect("/api/incidents/ws", headers={"Origin": origin})
    async with zhao.client.ws_connect("/api/incidents/ws", headers={"Origin": origin}) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        iid = (await declare_flood(zhao, ["jinghu"]))["id"]
        frames = await _frames_until(ws, lambda f: f.get("kind") == "incident.declared")
        kinds = {f["kind"] for f in frames}
        assert "surge.started" in kinds or "surge.started" in {
            f["kind"] for f in await _frames_until(ws, lambda f: f["kind"] == "surge.started")
        }
        paged = await _frames_until(ws, lambda f: f["kind"].startswith("dispatch."))
        assert paged[-1]["type"] == "changed" and paged[-1]["dispatch_id"]

        clock.advance(minutes=31)
        await app[dispatch_keys.INCIDENTS].fire_due()
        alarm = (await _frames_until(ws, lambda f: f["type"] == "alarm"))[-1]
        assert alarm["kind"] == "step_overdue" and alarm["step"] == "confirm_scope"
        assert alarm["incident_id"] == iid and alarm["title_zh"].startswith("与应急指挥部")

        clock.advance(hours=4)
        await app[dispatch_keys.INCIDENTS].fire_due()
        due = await _frames_until(ws, lambda f: f["type"] == "alarm" and f["kind"] == "sitrep_due")
        assert due[-1]["due_at"]
