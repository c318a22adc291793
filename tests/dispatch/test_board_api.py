"""The coordinators' board API and websocket (docs/dispatch-api.md), through the real app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.rosters import OnCall, on_call
from dispatch.web import board
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.events import Event, Subscription
from hotline.users import Role
from hotline.web import keys
from tests.conftest import Staff, StaffFactory

JINGHU = "jinghu"


async def board_login(login: StaffFactory, username: str, role: Role = Role.COORDINATOR) -> Staff:
    """A staff member logged in, holding the CSRF token the board page gives them."""
    staff = await login(username, role, available=False)
    page = await staff.client.get("/dispatch")
    token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert token, "the board page has no CSRF token"
    return Staff(staff.client, staff.user_id, token.group(1))


def app_of(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


def on_call_now(app: web.Application, team_id: str) -> OnCall:
    """Who is on call for a team at the app's clock's now."""
    team = app[dispatch_keys.DISPATCH_CONFIG].teams.get(team_id)
    assert team is not None
    return on_call(team.roster, app[keys.CLOCK].now())


def primary_of(app: web.Application, team_id: str) -> str:
    """The member on call as primary for a team now."""
    primary = on_call_now(app, team_id).primary
    assert primary is not None
    return primary


async def request_dispatch(staff: Staff, **body: Any) -> dict[str, Any]:
    response = await staff.post(
        "/dispatch/api/dispatches",
        {"district_id": JINGHU, "risk": "high", "summary": "独居老人，情绪激动", **body},
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def eventually(check: Any, seconds: float = 5.0) -> Any:
    """Poll an async check until it returns something truthy (background loops run meanwhile)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never became true")
        await asyncio.sleep(0.05)


async def view_of(staff: Staff, dispatch_id: int) -> dict[str, Any]:
    board_json = await (await staff.get("/dispatch/api/board")).json()
    [view] = [d for d in board_json["dispatches"] if d["id"] == dispatch_id]
    return dict(view)


# -- who may use the board ---------------------------------------------------------------


async def test_board_needs_a_session(client: TestClient[Any, Any]) -> None:
    """A stranger is sent to log in (and back to the board); the API answers 401."""
    page = await client.get("/dispatch", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/dispatch"
    assert (await client.get("/dispatch/api/board")).status == 401
    assert (await client.post("/dispatch/api/dispatches", json={})).status == 401


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN])
async def test_board_roles_see_the_board(login: StaffFactory, role: Role) -> None:
    """Coordinators, supervisors and admins get the page and every team on call."""
    staff = await board_login(login, "li", role)
    page = await staff.get("/dispatch")
    assert page.status == 200
    assert "/static/board.js" in await page.text()
    answer = await (await staff.get("/dispatch/api/board")).json()
    teams = {t["id"]: t for t in answer["teams"]}
    assert {"city", JINGHU, "supervisors"} <= set(teams)
    jinghu = teams[JINGHU]
    assert jinghu["on_call"]["primary"]["name"] in {m["name"] for m in jinghu["members"]}
    assert "phone" not in str(answer)
    assert {o["id"] for o in answer["outcomes"]} >= {"person_safe", "false_alarm"}
    assert any(d["id"] == JINGHU and d["name_zh"] == "镜湖区" for d in answer["districts"])


async def test_a_counsellor_is_refused_the_board(login: StaffFactory) -> None:
    """A counsellor sees a plain refusal page, and the board's API and actions say 403."""
    wang = await login("wang")
    page = await wang.get("/dispatch")
    assert page.status == 403 and "调度台" in await page.text()
    english = await wang.get("/dispatch?lang=en")
    assert "dispatch board" in await english.text()
    assert (await wang.get("/dispatch/api/board")).status == 403
    cancel = await wang.post("/dispatch/api/dispatches/1/cancel", {"reason": "x"})
    assert cancel.status == 403 and (await cancel.json())["error"] == "wrong_role"


async def test_actions_need_the_csrf_token(login: StaffFactory) -> None:
    """A post without the page's token is refused and creates nothing."""
    li = await board_login(login, "li")
    body = {"district_id": JINGHU, "risk": "high"}
    forged = await li.client.post("/dispatch/api/dispatches", json=body)
    assert forged.status == 403 and (await forged.json())["error"] == "csrf"
    guessed = await li.client.post(
        "/dispatch/api/dispatches", json=body, headers={"X-CSRF-Token": "guess"}
    )
    assert guessed.status == 403
    assert (await (await li.get("/dispatch/api/board")).json())["dispatches"] == []


# -- requesting, paging, escalating ------------------------------------------------------


async def test_a_district_dispatch_pages_its_primary_at_once(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A dispatch for 镜湖区 goes to its team; the primary on call is paged by text and call."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    app = app_of(client)
    primary = primary_of(app, JINGHU)
    assert view["team_id"] == JINGHU and view["district_id"] == JINGHU
    assert view["state"] == "paging" and view["step_index"] == 0
    assert re.fullmatch(r"\d{4,6}", view["code"])
    assert view["requested_by"] == f"user:{li.user_id}"
    assert view["actor_names"][f"user:{li.user_id}"] == {"name": "li 老师", "role": "coordinator"}
    assert view["summary"] == "独居老人，情绪激动"
    assert {(p["member"]["id"], p["channel"]) for p in view["pages"]} == {
        (primary, "sms"),
        (primary, "voice"),
    }
    next_step = datetime.fromisoformat(view["next_step_at"]) - app[keys.CLOCK].now()
    assert next_step.total_seconds() == 180  # the district policy's first wait

    async def failed() -> bool:
        pages = (await view_of(li, view["id"]))["pages"]
        return all(p["state"] == "failed" for p in pages)

    await eventually(failed)
    pages = (await view_of(li, view["id"]))["pages"]
    assert {p["error"] for p in pages} == {"telephony_off"}  # telephony is off in tests


async def test_an_unanswered_page_escalates_on_time(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """Nobody answers for three minutes: the secondary is paged, not a moment before."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    clock.advance(seconds=179)
    await asyncio.sleep(0.6)  # a few escalation ticks
    assert (await view_of(li, view["id"]))["step_index"] == 0
    clock.advance(seconds=2)

    async def escalated() -> dict[str, Any] | None:
        now = await view_of(li, view["id"])
        return now if now["step_index"] == 1 else None

    later = await eventually(escalated)
    secondary = on_call_now(app_of(client), JINGHU).secondary
    assert any(p["member"]["id"] == secondary and p["step_index"] == 1 for p in later["pages"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"district_id": "atlantis", "risk": "high"}, "district_id"),
        ({"team_id": "nobody", "risk": "high"}, "team_id"),
        ({"district_id": JINGHU, "risk": "very"}, "risk"),
        ({"district_id": JINGHU}, "risk"),
        ({"district_id": JINGHU, "risk": "high", "summary": "长" * 501}, "summary"),
        ({"district_id": JINGHU, "risk": "high", "summary": 5}, "summary"),
        ({"district_id": JINGHU, "risk": "high", "contact_id": "x"}, "contact_id"),
    ],
)
async def test_bad_requests_name_the_field(
    login: StaffFactory, body: dict[str, Any], field: str
) -> None:
    """Bad input is a 400 naming the field to correct, and nothing is paged."""
    li = await board_login(login, "li")
    response = await li.post("/dispatch/api/dispatches", body)
    assert response.status == 400
    assert (await response.json())["field"] == field
    assert (await (await li.get("/dispatch/api/board")).json())["dispatches"] == []


async def test_an_unknown_contact_is_not_found(login: StaffFactory) -> None:
    """A dispatch for a contact that does not exist is a 404."""
    li = await board_login(login, "li")
    response = await li.post(
        "/dispatch/api/dispatches", {"district_id": JINGHU, "risk": "high", "contact_id": 999}
    )
    assert response.status == 404


# -- actions -----------------------------------------------------------------------------


async def test_cancel_needs_a_reason_and_is_audited(login: StaffFactory) -> None:
    """Cancelling says why, names who did it, and cannot happen twice."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    path = f"/dispatch/api/dispatches/{view['id']}/cancel"
    blank = await li.post(path, {"reason": "  "})
    assert blank.status == 400 and (await blank.json())["field"] == "reason"
    done = await li.post(path, {"reason": "家属已陪同就医"})
    assert done.status == 200
    cancelled = await done.json()
    assert cancelled["state"] == "cancelled" and cancelled["closed_at"]
    last = cancelled["timeline"][-1]
    assert last["kind"] == "dispatch.cancelled" and last["actor"] == f"user:{li.user_id}"
    assert cancelled["cancel_reason"] == "家属已陪同就医"
    # Free text stays out of the (append-only, long-kept) event log.
    assert "家属" not in json.dumps(last, ensure_ascii=False)
    again = await li.post(path, {"reason": "again"})
    assert again.status == 409 and (await again.json())["error"] == "dispatch_state"
    missing = await li.post("/dispatch/api/dispatches/4242/cancel", {"reason": "x"})
    assert missing.status == 404


async def test_acknowledge_on_behalf_is_recorded_as_such(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A coordinator records a phoned acceptance: the responder, the ETA and who clicked."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    primary = primary_of(app_of(client), JINGHU)
    path = f"/dispatch/api/dispatches/{view['id']}/acknowledge"
    stranger = await li.post(path, {"team_id": JINGHU, "member_id": "city_01"})
    assert stranger.status == 400 and (await stranger.json())["field"] == "member_id"
    bad_eta = await li.post(path, {"team_id": JINGHU, "member_id": primary, "eta_minutes": 0})
    assert bad_eta.status == 400 and (await bad_eta.json())["field"] == "eta_minutes"
    response = await li.post(path, {"team_id": JINGHU, "member_id": primary, "eta_minutes": "15"})
    assert response.status == 200, await response.text()
    accepted = await response.json()
    assert accepted["state"] == "accepted" and accepted["next_step_at"] is None
    assert accepted["accepted"]["member"]["id"] == primary
    assert accepted["accepted"]["eta_minutes"] == 15
    assert accepted["accepted"]["via"] == "board"
    assert accepted["accepted"]["actor"] == f"user:{li.user_id}"
    [event] = [e for e in accepted["timeline"] if e["kind"] == "dispatch.accepted"]
    assert event["actor"] == f"user:{li.user_id}" and event["data"]["on_behalf"] is True
    trail = await app_of(client)[keys.DATABASE].fetchall(
        "SELECT actor, action, subject FROM audit_log WHERE action LIKE 'dispatch.%'"
    )
    assert [tuple(r) for r in trail] == [
        (f"user:{li.user_id}", "dispatch.acknowledged_on_behalf", f"dispatch:{view['id']}")
    ]
    twice = await li.post(path, {"team_id": JINGHU, "member_id": primary})
    assert twice.status == 409


async def test_resolve_needs_an_accepted_dispatch(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Nobody accepted: no outcome yet. Accepted, on the way, there: then resolved."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    base = f"/dispatch/api/dispatches/{view['id']}"
    early = await li.post(base + "/resolve", {"outcome": "person_safe"})
    assert early.status == 409 and (await early.json())["error"] == "dispatch_state"
    primary = primary_of(app_of(client), JINGHU)
    await li.post(base + "/acknowledge", {"team_id": JINGHU, "member_id": primary})
    wrong_state = await li.post(base + "/state", {"state": "resolved"})
    assert wrong_state.status == 400 and (await wrong_state.json())["field"] == "state"
    assert (await (await li.post(base + "/state", {"state": "en_route"})).json())[
        "state"
    ] == "en_route"
    assert (await (await li.post(base + "/state", {"state": "on_scene"})).json())[
        "state"
    ] == "on_scene"
    unknown = await li.post(base + "/resolve", {"outcome": "teleported"})
    assert unknown.status == 400 and (await unknown.json())["field"] == "outcome"
    resolved = await (await li.post(base + "/resolve", {"outcome": "person_safe"})).json()
    assert resolved["state"] == "resolved" and resolved["outcome"] == "person_safe"
    assert resolved["timeline"][-1]["actor"] == f"user:{li.user_id}"


async def test_page_a_member_now(login: StaffFactory) -> None:
    """A coordinator pages the team's lead at once, outside the policy (audited)."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    response = await li.post(
        f"/dispatch/api/dispatches/{view['id']}/page", {"team_id": JINGHU, "member_id": "jinghu_01"}
    )
    assert response.status == 200
    paged = await response.json()
    lead_pages = [p for p in paged["pages"] if p["member"]["id"] == "jinghu_01"]
    assert {p["channel"] for p in lead_pages} == {"sms", "voice"}
    assert lead_pages[0]["member"]["name"] == "黄芳"
    [event] = [e for e in paged["timeline"] if e["kind"] == "dispatch.paged_manually"]
    assert event["actor"] == f"user:{li.user_id}"


async def test_disclosing_a_number_needs_an_acceptance(login: StaffFactory) -> None:
    """The caller's number goes only to a responder who accepted."""
    li = await board_login(login, "li")
    view = await request_dispatch(li)
    response = await li.post(f"/dispatch/api/dispatches/{view['id']}/disclose")
    assert response.status == 409


# -- counsellors -------------------------------------------------------------------------


async def test_a_counsellor_requests_dispatch_only_for_a_contact_they_hold(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Without a contact, or for one not theirs: 403. For their own: 201, in its district."""
    app = app_of(client)
    wang = await login("wang")
    zhao = await login("zhao", available=False)
    contact, _ = await app[keys.CONVERSATIONS].start_webchat(JINGHU, "zh-CN")
    body = {"risk": "high", "summary": "说已经准备好了药"}
    alone = await wang.post("/dispatch/api/dispatches", body)
    assert alone.status == 403 and (await alone.json())["error"] == "not_yours"
    queued = await wang.post("/dispatch/api/dispatches", {**body, "contact_id": contact.id})
    assert queued.status == 403  # still waiting in the queue: nobody holds it
    taken = await wang.post("/console/api/take-next")
    assert (await taken.json())["contact"]["id"] == contact.id
    not_mine = await zhao.post("/dispatch/api/dispatches", {**body, "contact_id": contact.id})
    assert not_mine.status == 403 and (await not_mine.json())["error"] == "not_yours"
    mine = await wang.post("/dispatch/api/dispatches", {**body, "contact_id": contact.id})
    assert mine.status == 201, await mine.text()
    view = await mine.json()
    assert view["contact_id"] == contact.id
    assert view["district_id"] == JINGHU and view["team_id"] == JINGHU
    assert view["requested_by"] == f"user:{wang.user_id}"
    assert (
        await wang.post(f"/dispatch/api/dispatches/{view['id']}/cancel", {"reason": "x"})
    ).status == 403


# -- the live board ----------------------------------------------------------------------


async def _frame(ws: aiohttp.ClientWebSocketResponse, kind: str, seconds: float = 5) -> Any:
    """The next frame of a type (others are skipped)."""
    async with asyncio.timeout(seconds):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind:
                return frame


async def test_the_websocket_checks_origin_and_role(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Another site's page, or a counsellor, cannot open the board's socket."""
    li = await board_login(login, "li")
    wang = await login("wang")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await li.client.ws_connect("/dispatch/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    origin = str(client.make_url("")).rstrip("/")
    with pytest.raises(aiohttp.WSServerHandshakeError) as counsellor:
        await wang.client.ws_connect("/dispatch/ws", headers={"Origin": origin})
    assert counsellor.value.status == 403


async def test_the_websocket_follows_every_change(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """The board on connect; then each change as a dispatch frame, and notices worth a banner."""
    li = await board_login(login, "li")
    origin = str(client.make_url("")).rstrip("/")
    async with li.client.ws_connect("/dispatch/ws", headers={"Origin": origin}) as ws:
        first = await ws.receive_json()
        assert first["type"] == "board" and len(first["teams"]) >= 10
        view = await request_dispatch(li)
        frame = await _frame(ws, "dispatch")
        assert frame["dispatch"]["id"] == view["id"]
        assert frame["dispatch"]["actor_names"][f"user:{li.user_id}"]["name"] == "li 老师"
        notice = await _frame(ws, "notify")
        assert notice["kind"] == "page" and notice["code"] == view["code"]
        assert notice["team_id"] == JINGHU and notice["step"] == 0

        primary = primary_of(app_of(client), JINGHU)
        await li.post(
            f"/dispatch/api/dispatches/{view['id']}/acknowledge",
            {"team_id": JINGHU, "member_id": primary},
        )
        while True:
            frame = await _frame(ws, "dispatch")
            if frame["dispatch"]["state"] == "accepted":
                break
        notice = await _frame(ws, "notify")
        assert notice["kind"] == "accepted" and notice["on_behalf"] is True
        assert notice["member"]["id"] == primary


async def test_the_board_is_resent_while_nothing_happens(
    client: TestClient[Any, Any], login: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On-call names change with the clock: the whole board comes again on a timer."""
    monkeypatch.setattr(board, "BOARD_REFRESH_SECONDS", 0.2)
    li = await board_login(login, "li")
    origin = str(client.make_url("")).rstrip("/")
    async with li.client.ws_connect("/dispatch/ws", headers={"Origin": origin}) as ws:
        assert (await ws.receive_json())["type"] == "board"
        assert (await _frame(ws, "board", seconds=2))["teams"]


async def test_an_overflowed_subscription_resyncs_with_a_whole_board(
    client: TestClient[Any, Any],
) -> None:
    """A board that fell behind was dropped events: it gets the whole board, not guesses."""
    sent: list[str] = []

    class RecordingSocket:
        closed = False

        async def send_json(self, data: dict[str, Any]) -> None:
            sent.append(data["type"])

    app = app_of(client)
    feed = board._BoardFeed(app, RecordingSocket())  # type: ignore[arg-type]
    subscription = Subscription(buffer=1)
    at = app[keys.CLOCK].now()
    for event_id in (1, 2):  # the second does not fit: the subscription overflows
        subscription.offer(Event(event_id, at, "system", "dispatch.cancelled", "dispatch:999"))
    assert subscription.overflowed
    follower = asyncio.create_task(feed.follow(subscription))

    async def resynced() -> bool:
        return len(sent) >= 2

    try:
        await eventually(resynced)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    assert sent == ["board", "board"]
    assert not subscription.overflowed


async def test_a_coordinator_lands_on_the_board_after_login(
    client: TestClient[Any, Any],
) -> None:
    """Coordinators work at /dispatch; counsellors still land on the console."""
    from hotline.users import Role
    from hotline.web import keys
    from tests.conftest import PASSWORD, submit_login

    app = client.server.app
    assert app is not None
    await app[keys.USERS].add("zhao", "协调员 赵", Role.COORDINATOR, PASSWORD)
    await app[keys.USERS].add("wang2", "咨询员 王", Role.COUNSELLOR, PASSWORD)
    coordinator = await submit_login(client, "zhao")
    assert coordinator.status == 303 and coordinator.headers["Location"] == "/dispatch"
    client.session.cookie_jar.clear()
    counsellor = await submit_login(client, "wang2")
    assert counsellor.headers["Location"] == "/console"
