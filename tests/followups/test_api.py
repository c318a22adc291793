"""The follow-up pages' API, websocket and Twilio callback (docs/followups-api.md), through
the real app on real SQLite."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from dispatch.followups.cases import Owner
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock, from_iso
from hotline.config import Config
from hotline.logs import configure_logging
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from tests.channels.conftest import AUTH_TOKEN, PUBLIC_URL
from tests.conftest import Staff, StaffFactory
from tests.followups.pages import (
    JINGHU,
    NUMBER,
    PERSON,
    followup_login,
    log_in_again,
    open_case,
)

NOTE = "她说这周睡得好一些，女儿周末回家"


def app_of(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def json_of(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status == status, await response.text()
    return dict(await response.json())


async def listing(staff: Staff, scope: str = "mine") -> dict[str, Any]:
    return await json_of(await staff.get(f"/api/followups?scope={scope}"))


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


async def ended_high_risk_contact(app: web.Application) -> int:
    """A web chat at high risk whose person left while waiting (no wrap-up, no decision)."""
    conversations = app[keys.CONVERSATIONS]
    contact, _ = await conversations.start_webchat(JINGHU, "zh-CN")
    await conversations.raise_risk(contact.id, RiskLevel.HIGH, "screener")
    ended = await conversations.caller_end(contact.id)
    assert ended.state.value == "abandoned"
    return contact.id


# -- who may see what --------------------------------------------------------------------


async def test_pages_and_api_need_a_session(client: TestClient[Any, Any]) -> None:
    """A stranger is sent to log in (and back); the API answers 401."""
    page = await client.get("/followups", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/followups"
    case_page = await client.get("/followups/3", allow_redirects=False)
    assert case_page.headers["Location"] == "/login?next=/followups/3"
    assert (await client.get("/api/followups")).status == 401
    assert (await client.post("/api/followups", json={"risk": "high"})).status == 401


@pytest.mark.parametrize("role", list(Role))
async def test_every_staff_role_opens_the_list_page(login: StaffFactory, role: Role) -> None:
    """Counsellors, supervisors, coordinators and admins all work follow-ups."""
    staff = await followup_login(login, "li", role)
    page = await staff.get("/followups")
    text = await page.text()
    assert page.status == 200
    assert "/static/followups.js" in text and "/static/followups.css" in text
    assert 'name="time-zone" content="Asia/Shanghai"' in text
    assert f'name="user-role" content="{role.value}"' in text


async def test_a_counsellor_sees_only_their_own_cases(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Their list is theirs; another's case, the other scopes and actions on it are 403."""
    app = app_of(client)
    wang = await followup_login(login, "wang")
    zhao = await followup_login(login, "zhao")
    own = await open_case(app, owner=Owner(user_id=wang.user_id))
    other = await open_case(app, owner=Owner(user_id=zhao.user_id))

    mine = await listing(wang)
    assert mine["scope"] == "mine"
    assert ids(mine["upcoming"]) == [own.id]
    assert "undecided" not in mine, "the undecided contacts are for oversight roles"
    assert (await json_of(await wang.get(f"/api/followups/{own.id}")))["id"] == own.id

    refused = await wang.get(f"/api/followups/{other.id}")
    assert refused.status == 403 and (await refused.json())["error"] == "not_yours"
    page = await wang.get(f"/followups/{other.id}")
    assert page.status == 403 and "不由您负责" in await page.text()
    assert (await wang.get(f"/followups/{own.id}")).status == 200
    assert (await wang.get("/followups/999")).status == 404
    for scope in ("all", "flagged", f"team:{JINGHU}"):
        answer = await wang.get(f"/api/followups?scope={scope}")
        assert answer.status == 403, scope
    attempt = await wang.post(f"/api/followups/{other.id}/attempts", {"outcome": "no_answer"})
    assert attempt.status == 403
    details = await wang.post(f"/api/followups/{other.id}/details")
    assert details.status == 403
    events = await app[keys.DATABASE].events_for(f"followup:{other.id}")
    assert [e.kind for e in events] == ["followup.opened"], "a refused call changes nothing"


async def test_oversight_roles_choose_a_scope(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A coordinator lists a district team's cases, all cases, or the flagged ones."""
    app = app_of(client)
    chen = await followup_login(login, "chen", Role.COORDINATOR)
    wang = await followup_login(login, "wang")
    team_case = await open_case(app, owner=Owner(team_id=JINGHU))
    user_case = await open_case(app, owner=Owner(user_id=wang.user_id))
    referral = await open_case(app, owner=Owner(user_id=wang.user_id), grade=4)

    team = await listing(chen, f"team:{JINGHU}")
    assert team["scope"] == f"team:{JINGHU}" and ids(team["upcoming"]) == [team_case.id]
    [row] = team["upcoming"]
    assert row["owner"] == {
        "kind": "team",
        "id": JINGHU,
        "label": "镜湖区心理援助队",
        "name_zh": "镜湖区心理援助队",
        "name_en": row["owner"]["name_en"],
    }
    assert sorted(ids((await listing(chen, "all"))["upcoming"])) == sorted(
        [team_case.id, user_case.id, referral.id]
    )
    flagged = await listing(chen, "flagged")
    assert ids(flagged["upcoming"]) == [referral.id], "grade 4 flags a referral at once"
    assert flagged["upcoming"][0]["referral_flagged_at"] is not None
    default = await json_of(await chen.get("/api/followups"))
    assert default["scope"] == "all" and default["undecided"] == []
    for bad in ("team:city", "team:atlantis", "everything"):
        answer = await chen.get(f"/api/followups?scope={bad}")
        assert answer.status == 400 and (await answer.json())["field"] == "scope", bad
    user_row = next(r for r in (await listing(chen, "all"))["upcoming"] if r["id"] == user_case.id)
    assert user_row["owner"] == {
        "kind": "user",
        "id": wang.user_id,
        "label": "wang 老师",
        "role": "counsellor",
    }


async def test_lists_put_overdue_first_then_due_today_then_later(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """'Today' ends at midnight in the hotline's time zone (Asia/Shanghai), not UTC."""
    app = app_of(client)
    wang = await followup_login(login, "wang")
    owner = Owner(user_id=wang.user_id)
    start = clock.now()  # 03:00 UTC = 11:00 in Shanghai
    late = await open_case(app, owner=owner)  # due start + 24 h
    clock.advance(hours=4)
    today = await open_case(app, owner=owner)  # due start + 28 h
    clock.advance(hours=16)
    later = await open_case(app, owner=owner)  # due start + 44 h
    clock.advance(hours=5)  # start + 25 h: 04:00 UTC, noon in Shanghai
    wang = await log_in_again(wang, "wang")

    answer = await listing(wang)
    assert ids(answer["overdue"]) == [late.id]
    assert ids(answer["due_today"]) == [today.id]
    assert ids(answer["upcoming"]) == [later.id]
    assert answer["counts"] == {"overdue": 1, "due_today": 1, "upcoming": 1}
    assert from_iso(answer["end_of_today"]) == start + timedelta(hours=37)  # 16:00 UTC
    assert from_iso(answer["now"]) == clock.now()
    [overdue] = answer["overdue"]
    assert overdue["overdue"] is True and overdue["due_kind"] == "contact"
    assert from_iso(overdue["next_due_at"]) == start + timedelta(hours=24)
    assert answer["due_today"][0]["overdue"] is False


# -- opening by hand ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        ({"risk": "high", "phone": "13800138000"}, 400, "invalid_phone", "phone"),
        ({"risk": "high", "phone": "+86 abc"}, 400, "invalid_phone", "phone"),
        ({"risk": "high", "district": "atlantis"}, 400, "unknown_district", "district"),
        ({"risk": "high", "owner": "team:atlantis"}, 400, "unknown_team", "owner"),
        ({"risk": "high", "owner": "team:city"}, 400, "unknown_team", "owner"),
        ({"risk": "high", "owner": "user:999"}, 400, "unknown_user", "owner"),
        ({"risk": "high", "owner": "somebody"}, 400, "invalid_owner", "owner"),
        ({"risk": "very"}, 400, "invalid_risk", "risk"),
        ({}, 400, "invalid_risk", "risk"),
        ({"risk": "high", "grade": 7}, 400, "invalid_grade", "grade"),
        ({"risk": "high", "caring": True}, 400, "caring_needs_phone", "caring"),
        ({"risk": "high", "name": "长" * 81}, 400, "too_long", "name"),
        ({"risk": "high", "contact_id": "x"}, 400, "invalid", "contact_id"),
        ({"risk": "high", "contact_id": 999}, 404, "not_found", None),
    ],
)
async def test_opening_by_hand_says_what_to_correct(
    login: StaffFactory, body: dict[str, Any], status: int, error: str, field: str | None
) -> None:
    """A bad field is refused with its name, and no case is opened."""
    li = await followup_login(login, "li", Role.SUPERVISOR)
    answer = await li.post("/api/followups", body)
    assert answer.status == status, await answer.text()
    data = await answer.json()
    assert data["error"] == error and data.get("field") == field
    assert (await listing(li, "all"))["counts"] == {"overdue": 0, "due_today": 0, "upcoming": 0}


async def test_opening_needs_the_csrf_token_and_a_counsellor_names_no_colleague(
    login: StaffFactory,
) -> None:
    """A forged post opens nothing; a counsellor may take a case or give it to a team only."""
    wang = await followup_login(login, "wang")
    zhao = await followup_login(login, "zhao")
    forged = await wang.client.post("/api/followups", json={"risk": "high"})
    assert forged.status == 403 and (await forged.json())["error"] == "csrf"
    colleague = await wang.post("/api/followups", {"risk": "high", "owner": f"user:{zhao.user_id}"})
    assert colleague.status == 403
    team = await json_of(
        await wang.post("/api/followups", {"risk": "high", "owner": f"team:{JINGHU}"}), 201
    )
    assert team["owner"]["kind"] == "team"
    mine = await json_of(await wang.post("/api/followups", {"risk": "moderate"}), 201)
    assert mine["owner"]["id"] == wang.user_id and mine["source"] == "manual"
    assert ids((await listing(wang))["upcoming"]) == [mine["id"]]


async def test_an_attempt_moves_the_next_due_date(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """Opened by hand; reached an hour later: the 24 h follow-up is done, the 72 h one is next.
    A reached attempt needs the fresh risk; a failed one keeps the same follow-up due."""
    wang = await followup_login(login, "wang")
    start = clock.now()
    opened = await json_of(
        await wang.post(
            "/api/followups",
            {"risk": "high", "district": JINGHU, "phone": "+86 138-0013-8000", "name": PERSON},
        ),
        201,
    )
    assert from_iso(opened["next_due_at"]) == start + timedelta(hours=24)
    assert opened["opened_by"]["id"] == wang.user_id
    assert opened["has_phone"] is True and opened["has_name"] is True
    assert [p["done"] for p in opened["schedule"]] == [False] * 5
    base = f"/api/followups/{opened['id']}"

    clock.advance(hours=1)
    no_risk = await wang.post(f"{base}/attempts", {"outcome": "reached"})
    assert no_risk.status == 400 and (await no_risk.json())["error"] == "risk_required"
    reached = await json_of(
        await wang.post(
            f"{base}/attempts", {"outcome": "reached", "risk": "high", "grade": "", "note": NOTE}
        )
    )
    assert reached["risk_rose"] is False and reached["offer_dispatch"] is False
    assert from_iso(reached["next_due_at"]) == start + timedelta(hours=72)
    assert [p["done"] for p in reached["schedule"]] == [True, False, False, False, False]
    [attempt] = reached["attempts"]
    assert attempt["outcome"] == "reached" and attempt["risk"] == "high"
    assert attempt["note"] == NOTE, "the owner reads the notes of their own case"
    assert attempt["actor"]["label"] == "wang 老师"

    clock.advance(hours=71, minutes=30)  # past due (not yet alarmed); the next try fails
    wang = await log_in_again(wang, "wang")
    failed = await json_of(await wang.post(f"{base}/attempts", {"outcome": "no_answer"}))
    assert failed["failed_streak"] == 1 and failed["risk"] == "high"
    assert from_iso(failed["next_due_at"]) == clock.now() + timedelta(hours=4)  # retry_after
    assert [a["outcome"] for a in failed["attempts"]] == ["no_answer", "reached"]
    kinds = [entry["kind"] for entry in failed["history"]]
    assert kinds == ["followup.opened", "followup.attempted", "followup.attempted"]


async def test_a_case_closes_only_with_a_reason(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """No reason, or one not configured, is refused; a closed case takes no more attempts."""
    wang = await followup_login(login, "wang")
    case = await open_case(app_of(client), owner=Owner(user_id=wang.user_id))
    base = f"/api/followups/{case.id}"
    for body in ({}, {"reason": ""}, {"reason": "bored"}):
        refused = await wang.post(f"{base}/close", body)
        data = await json_of(refused, 400)
        assert data["error"] == "close_reason_required" and data["field"] == "reason"
    assert (await json_of(await wang.get(base)))["state"] == "open"
    closed = await json_of(await wang.post(f"{base}/close", {"reason": "safe_stable"}))
    assert closed["state"] == "closed" and closed["close_reason"] == "safe_stable"
    assert closed["next_due_at"] is None and closed["closed_at"] is not None
    again = await wang.post(f"{base}/attempts", {"outcome": "no_answer"})
    assert again.status == 409 and (await again.json())["error"] == "case_closed"
    assert ids((await listing(wang))["upcoming"]) == []


async def test_reassigning_hands_the_case_over(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A supervisor gives a case to a counsellor; a counsellor hands theirs to a team (and
    then no longer sees it)."""
    app = app_of(client)
    li = await followup_login(login, "li", Role.SUPERVISOR)
    wang = await followup_login(login, "wang")
    case = await open_case(app, owner=Owner(team_id=JINGHU))
    given = await json_of(
        await li.post(f"/api/followups/{case.id}/owner", {"owner": f"user:{wang.user_id}"})
    )
    assert given["owner"]["id"] == wang.user_id
    assert ids((await listing(wang))["upcoming"]) == [case.id]
    handed = await json_of(
        await wang.post(f"/api/followups/{case.id}/owner", {"owner": f"team:{JINGHU}"})
    )
    assert handed["owner"]["kind"] == "team"
    assert (await wang.get(f"/api/followups/{case.id}")).status == 403
    history = (await json_of(await li.get(f"/api/followups/{case.id}")))["history"]
    moves = [e["data"] for e in history if e["kind"] == "followup.reassigned"]
    assert [(m["from"]["kind"], m["to"]["kind"]) for m in moves] == [
        ("team", "user"),
        ("user", "team"),
    ]


async def test_a_contact_is_linked_by_hand(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """The person called from another phone: the counsellor links that contact."""
    app = app_of(client)
    wang = await followup_login(login, "wang")
    case = await open_case(app, owner=Owner(user_id=wang.user_id))
    contact, _ = await app[keys.CONVERSATIONS].start_webchat(JINGHU, "zh-CN")
    missing = await wang.post(f"/api/followups/{case.id}/links", {})
    assert (await json_of(missing, 400))["field"] == "contact_id"
    linked = await json_of(
        await wang.post(f"/api/followups/{case.id}/links", {"contact_id": str(contact.id)})
    )
    [link] = linked["links"]
    assert link["contact_id"] == contact.id and link["link"] == "manual"
    assert link["channel"] == "webchat"


# -- personal data -----------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The app's structlog output (the production JSON renderer) in a buffer."""
    stream = io.StringIO()
    configure_logging(stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_contact_details_are_read_only_through_the_audited_call(
    client: TestClient[Any, Any], login: StaffFactory, log_stream: io.StringIO
) -> None:
    """Lists, the case view and the socket never carry the number or name; the details call
    returns them and records who read them; nothing personal reaches the logs."""
    app = app_of(client)
    wang = await followup_login(login, "wang")
    li = await followup_login(login, "li", Role.SUPERVISOR)
    opened = await json_of(
        await wang.post("/api/followups", {"risk": "high", "phone": NUMBER, "name": PERSON}), 201
    )
    case_id = opened["id"]
    digits = NUMBER[3:]
    texts = [
        json.dumps(opened, ensure_ascii=False),
        await (await wang.get("/api/followups")).text(),
        await (await li.get("/api/followups?scope=all")).text(),
        await (await wang.get(f"/api/followups/{case_id}")).text(),
        await (await wang.get(f"/followups/{case_id}")).text(),
    ]
    for text in texts:
        assert digits not in text and PERSON not in text

    forged = await wang.client.post(f"/api/followups/{case_id}/details")
    assert forged.status == 403
    audits = [
        e
        for e in await app[keys.DATABASE].events_for(f"followup:{case_id}")
        if e.kind == "audit.case_details_read"
    ]
    assert audits == [], "a refused read is not a read"

    details = await json_of(await wang.post(f"/api/followups/{case_id}/details"))
    assert details["phone"] == NUMBER and details["name"] == PERSON
    assert details["audited"] is True
    [audit] = [
        e
        for e in await app[keys.DATABASE].events_for(f"followup:{case_id}")
        if e.kind == "audit.case_details_read"
    ]
    assert audit.actor == f"user:{wang.user_id}"
    assert audit.data == {"purpose": "follow_up_call", "role": "counsellor"}
    assert digits not in json.dumps(audit.data) and PERSON not in json.dumps(audit.data)
    history = (await json_of(await wang.get(f"/api/followups/{case_id}")))["history"]
    assert history[-1]["kind"] == "audit.case_details_read"
    assert history[-1]["actor"]["id"] == wang.user_id
    logs = log_stream.getvalue()
    assert "followup_details_read" in logs
    assert digits not in logs and PERSON not in logs


# -- dispatch from a case ----------------------------------------------------------------


async def test_a_risk_rise_offers_a_dispatch_that_pages_the_district_team(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Reached at a higher risk: the answer says so and the case offers a dispatch; the
    dispatch goes to the case's district team and shows on the board."""
    app = app_of(client)
    wang = await followup_login(login, "wang")
    chen = await followup_login(login, "chen", Role.COORDINATOR)
    case = await open_case(app, owner=Owner(user_id=wang.user_id), risk=RiskLevel.MODERATE)
    base = f"/api/followups/{case.id}"
    rose = await json_of(
        await wang.post(f"{base}/attempts", {"outcome": "reached", "risk": "high"})
    )
    assert rose["risk_rose"] is True and rose["offer_dispatch"] is True and rose["risk"] == "high"

    dispatch = await json_of(
        await wang.post(f"{base}/dispatch", {"risk": "imminent", "summary": "说已经准备好了"}), 201
    )
    assert dispatch["team_id"] == JINGHU and dispatch["district_id"] == JINGHU
    assert dispatch["risk"] == "imminent" and dispatch["requested_by"] == f"user:{wang.user_id}"
    assert dispatch["state"] in ("requested", "paging")
    board = await json_of(await chen.get("/dispatch/api/board"))
    assert [d["id"] for d in board["dispatches"]] == [dispatch["id"]]

    after = await json_of(await wang.get(base))
    assert after["offer_dispatch"] is False, "asked for already"
    [asked] = after["dispatches"]
    assert asked["dispatch_id"] == dispatch["id"] and asked["risk"] == "imminent"
    bad = await wang.post(f"{base}/dispatch", {"risk": "very"})
    assert (await json_of(bad, 400))["field"] == "risk"

    async def paged() -> bool:
        view = await app[dispatch_keys.DESK].dispatch_view(dispatch["id"])
        return bool(view["pages"]) and all(p["state"] == "failed" for p in view["pages"])

    deadline = asyncio.get_running_loop().time() + 5
    while not await paged():  # the pager was woken: its pages went out (telephony is off)
        assert asyncio.get_running_loop().time() < deadline, "the pager never sent the pages"
        await asyncio.sleep(0.05)


# -- undecided high-risk contacts --------------------------------------------------------


async def test_oversight_decides_on_contacts_that_ended_without_a_decision(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A supervisor sees them, opens a case for one (with its district team) and records
    why none for another; a counsellor cannot decide; a decision is made once."""
    app = app_of(client)
    li = await followup_login(login, "li", Role.SUPERVISOR)
    wang = await followup_login(login, "wang")
    first = await ended_high_risk_contact(app)
    second = await ended_high_risk_contact(app)

    undecided = (await listing(li, "all"))["undecided"]
    assert [u["contact_id"] for u in undecided] == [first, second]
    assert undecided[0]["risk"] == "high" and undecided[0]["state"] == "abandoned"
    assert undecided[0]["district"]["name_zh"] == "镜湖区"

    counsellor = await wang.post(f"/api/followups/decisions/{first}", {"action": "no_case"})
    assert counsellor.status == 403
    bad_reason = await li.post(
        f"/api/followups/decisions/{first}", {"action": "no_case", "reason": "tired"}
    )
    assert (await json_of(bad_reason, 400))["field"] == "reason"
    bad_action = await li.post(f"/api/followups/decisions/{first}", {"action": "maybe"})
    assert (await json_of(bad_action, 400))["field"] == "action"
    assert (
        await li.post("/api/followups/decisions/999", {"action": "no_case", "reason": "other"})
    ).status == 404

    declined = await json_of(
        await li.post(
            f"/api/followups/decisions/{first}", {"action": "no_case", "reason": "could_not_ask"}
        )
    )
    assert declined == {"contact_id": first, "action": "no_case", "reason": "could_not_ask"}
    opened = await json_of(
        await li.post(
            f"/api/followups/decisions/{second}", {"action": "open", "owner": f"team:{JINGHU}"}
        ),
        201,
    )
    assert opened["owner"]["id"] == JINGHU and opened["risk"] == "high"
    assert [(link["contact_id"], link["link"]) for link in opened["links"]] == [(second, "origin")]
    assert (await listing(li, "all"))["undecided"] == []
    twice = await li.post(
        f"/api/followups/decisions/{second}", {"action": "open", "owner": f"team:{JINGHU}"}
    )
    assert (await json_of(twice, 409))["error"] == "decided"
    again = await li.post(
        f"/api/followups/decisions/{first}", {"action": "no_case", "reason": "other"}
    )
    assert (await json_of(again, 409))["error"] == "decided"


async def test_options_list_every_choice(login: StaffFactory) -> None:
    """Outcomes, risks, grades with their intervals, reasons, districts, district teams; the
    people a case can be given to only for oversight roles."""
    wang = await followup_login(login, "wang")
    li = await followup_login(login, "li", Role.SUPERVISOR)
    await followup_login(login, "chen", Role.COORDINATOR)
    options = await json_of(await wang.get("/api/followups/options"))
    assert options["outcomes"] == ["reached", "no_answer", "declined", "wrong_number"]
    assert options["risks"] == ["imminent", "high", "moderate", "low", "none"]
    assert [(g["grade"], g["referral"]) for g in options["grades"]] == [
        (0, False),
        (1, False),
        (2, False),
        (3, True),
        (4, True),
        (5, True),
    ]
    assert options["grades"][1]["every_seconds"] == 14 * 86400
    assert {r["id"] for r in options["close_reasons"]} >= {"safe_stable", "unreachable"}
    assert {r["id"] for r in options["no_follow_up_reasons"]} >= {"person_declined", "other"}
    assert len(options["districts"]) == 8 and len(options["teams"]) == 8
    assert options["time_zone"] == "Asia/Shanghai"
    assert "staff" not in options
    staff = (await json_of(await li.get("/api/followups/options")))["staff"]
    assert {(s["label"], s["role"]) for s in staff} == {
        ("wang 老师", "counsellor"),
        ("li 老师", "supervisor"),
    }


# -- the live socket ---------------------------------------------------------------------


async def _frames_until(
    ws: aiohttp.ClientWebSocketResponse, found: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Frames received until one satisfies `found` (that one last)."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while True:
            frame = await ws.receive_json()
            frames.append(frame)
            if found(frame):
                return frames


async def test_the_socket_checks_origin(client: TestClient[Any, Any], login: StaffFactory) -> None:
    """Another site's page cannot open the socket."""
    wang = await followup_login(login, "wang")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await wang.client.ws_connect(
            "/api/followups/ws", headers={"Origin": "https://evil.example"}
        )
    assert refused.value.status == 403


async def test_the_socket_tells_changes_and_alarms_to_whom_they_concern(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """The owner hears of changes to their case and its first overdue alarm; another
    counsellor hears nothing of it; supervisors get the later alarm and the flag; the
    coordinators get the first alarm of a team's case."""
    app = app_of(client)
    followups = app[dispatch_keys.FOLLOWUPS]
    wang = await followup_login(login, "wang")
    zhao = await followup_login(login, "zhao")
    li = await followup_login(login, "li", Role.SUPERVISOR)
    chen = await followup_login(login, "chen", Role.COORDINATOR)
    origin = str(client.make_url("")).rstrip("/")
    headers = {"Origin": origin}
    case = await open_case(app, owner=Owner(user_id=wang.user_id))
    team_case = await open_case(app, owner=Owner(team_id=JINGHU))

    sockets = [
        await staff.client.ws_connect("/api/followups/ws", headers=headers)
        for staff in (wang, zhao, li, chen)
    ]
    own_ws, other_ws, super_ws, coord_ws = sockets
    try:
        for ws in sockets:
            assert (await ws.receive_json())["type"] == "hello"
        await wang.post(f"/api/followups/{case.id}/attempts", {"outcome": "no_answer"})
        changed = await _frames_until(own_ws, lambda f: f["type"] == "changed")
        assert changed[-1] == {"type": "changed", "case_id": case.id, "kind": "followup.attempted"}
        seen = await _frames_until(super_ws, lambda f: f["type"] == "changed")
        assert seen[-1]["case_id"] == case.id

        # Still due at 24 h (a failed try is retried no sooner); the owner is alarmed 1 h on.
        clock.advance(hours=25, minutes=1)
        await followups.fire_due()
        alarm = (await _frames_until(own_ws, lambda f: f["type"] == "alarm"))[-1]
        assert alarm["case_id"] == case.id and alarm["stage"] == "owner"
        assert alarm["kind"] == "overdue" and alarm["pseudonym"] == case.pseudonym
        assert alarm["owner"]["id"] == wang.user_id

        # 12 h after the due time the supervisors are alarmed as well.
        clock.advance(hours=12)
        await followups.fire_due()
        late = (
            await _frames_until(
                super_ws, lambda f: f["type"] == "alarm" and f["case_id"] == case.id
            )
        )[-1]
        assert late["stage"] == "supervisor" and late["kind"] == "overdue"

        # The team's case: its first alarm goes to the coordinators, its owner.
        team_alarms = await _frames_until(
            coord_ws, lambda f: f["type"] == "alarm" and f["case_id"] == team_case.id
        )
        assert team_alarms[-1]["stage"] == "owner"
        assert team_alarms[-1]["owner"]["kind"] == "team"

        # Two more failed attempts flag the case to the supervisors.
        wang = await log_in_again(wang, "wang")
        zhao = await log_in_again(zhao, "zhao")
        for _ in range(2):
            await wang.post(f"/api/followups/{case.id}/attempts", {"outcome": "no_answer"})
        flagged = (
            await _frames_until(super_ws, lambda f: f["type"] == "alarm" and f["kind"] == "flagged")
        )[-1]
        assert flagged["case_id"] == case.id and flagged["failed_streak"] == 3

        # Zhao owns nothing: a change to a case of his own is the first thing he hears.
        zhao_case = await open_case(app, owner=Owner(user_id=zhao.user_id))
        await zhao.post(f"/api/followups/{zhao_case.id}/attempts", {"outcome": "no_answer"})
        heard = await _frames_until(
            other_ws, lambda f: f.get("case_id") == zhao_case.id and f["type"] == "changed"
        )
        assert all(f.get("case_id") == zhao_case.id for f in heard), heard
        own_alarms = [f for f in await _drain(own_ws) if f["type"] == "alarm"]
        assert all(f["stage"] == "owner" for f in own_alarms), "no supervisor alarm for wang"
    finally:
        for ws in sockets:
            await ws.close()


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every frame that arrives within a short while."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            frames.append(await ws.receive_json(timeout=0.3))
        except TimeoutError:
            return frames


async def test_oversight_sockets_hear_of_new_undecided_contacts(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A high-risk contact ending unanswered changes the supervisors' undecided list."""
    app = app_of(client)
    li = await followup_login(login, "li", Role.SUPERVISOR)
    origin = str(client.make_url("")).rstrip("/")
    async with li.client.ws_connect("/api/followups/ws", headers={"Origin": origin}) as ws:
        assert (await ws.receive_json())["type"] == "hello"
        await ended_high_risk_contact(app)
        frames = await _frames_until(ws, lambda f: f.get("kind") == "contact.abandoned")
        assert frames[-1] == {"type": "changed", "case_id": None, "kind": "contact.abandoned"}


# -- Twilio's delivery callback for caring texts -----------------------------------------


@pytest.fixture
async def phone_app_client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
    config: Config,
    clock: ManualClock,
) -> TestClient[Any, Any]:
    """The real app with Twilio credentials, behind a public https address."""
    from dataclasses import replace

    telephony = replace(
        config.telephony, account_sid="AC" + "0" * 32, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL
    )
    return await aiohttp_client(create_app(replace(config, telephony=telephony), clock=clock))


def _signed(path: str, params: dict[str, str]) -> dict[str, str]:
    return {
        "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
            PUBLIC_URL + path, params
        )
    }


async def test_the_caring_text_status_callback_is_signed_and_recorded(
    phone_app_client: TestClient[Any, Any],
) -> None:
    """A signed delivery status is recorded on the text; a forged one changes nothing; an
    unknown text is 404, an unknown status 400."""
    app = app_of(phone_app_client)
    followups = app[dispatch_keys.FOLLOWUPS]
    case = await open_case(app, owner=Owner(team_id=JINGHU), phone=NUMBER, caring=True)
    async with followups.db.transaction() as tx:
        text_id = await followups.cases.add_caring_text(tx, case.id, 0, 0)
        # handed to the provider already, so the background sender leaves it alone
        await followups.cases.caring_status(tx, text_id, "queued", "SM" + "1" * 32)
    path = f"/twilio/followups/caring-status?text={text_id}"
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}

    forged = await phone_app_client.post(path, data=params, headers={"X-Twilio-Signature": "x"})
    assert forged.status == 403
    assert (await followups.cases.caring_texts(case.id))[0]["status"] == "queued"

    answer = await phone_app_client.post(path, data=params, headers=_signed(path, params))
    assert answer.status == 200, await answer.text()
    assert (await followups.cases.caring_texts(case.id))[0]["status"] == "delivered"

    unknown = "/twilio/followups/caring-status?text=999"
    missing = await phone_app_client.post(unknown, data=params, headers=_signed(unknown, params))
    assert missing.status == 404
    odd = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "exploded"}
    assert (await phone_app_client.post(path, data=odd, headers=_signed(path, odd))).status == 400


async def test_the_caring_text_callback_says_when_telephony_is_off(
    client: TestClient[Any, Any],
) -> None:
    """Without Twilio credentials the callback answers 503 and records nothing."""
    path = "/twilio/followups/caring-status?text=1"
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    off = await client.post(path, data=params, headers=_signed(path, params))
    assert off.status == 503


async def test_reading_attempt_notes_is_audited(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """The case page shows attempt notes (personal words) to whoever may see the case: each
    showing is an audit record naming the reader; a case without notes records nothing."""
    from hotline import audit as audit_trail

    app = app_of(client)
    wang = await followup_login(login, "wang")
    li = await followup_login(login, "li", Role.SUPERVISOR)
    opened = await json_of(await wang.post("/api/followups", {"risk": "high"}), 201)
    base = f"/api/followups/{opened['id']}"
    await json_of(await wang.get(base))
    db = app[keys.DATABASE]

    async def reads() -> list[tuple[str, str, str]]:
        rows = await db.fetchall(
            "SELECT actor, subject, data FROM audit_log WHERE action = 'case.notes_read'"
        )
        return [(r["actor"], r["subject"], r["data"]) for r in rows]

    assert await reads() == []
    await json_of(
        await wang.post(f"{base}/attempts", {"outcome": "reached", "risk": "high", "note": NOTE})
    )
    await json_of(await li.get(base))
    recorded = await reads()
    assert [(actor, subject) for actor, subject, _ in recorded] == [
        (f"user:{wang.user_id}", f"followup:{opened['id']}"),
        (f"user:{li.user_id}", f"followup:{opened['id']}"),
    ]
    assert all(NOTE not in data for _, _, data in recorded)
    assert (await audit_trail.verify(db)).intact
