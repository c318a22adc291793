"""Declaring and running an incident on the real app (real SQLite, manual clock).

Declaring pages the plan's teams through dispatch, starts the checklist and surge mode in
one transaction; deadlines and reminders fire from durable timers; the registry opens
follow-up cases with the tier's schedule; a restart in the middle loses nothing; stand-down
switches the hotline back and writes the after-action report.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from dispatch.followups.cases import CaseSource
from dispatch.incidents.records import IncidentState
from dispatch.incidents.service import IncidentDesk
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.surge import current_surge
from hotline.users import Role, User
from hotline.web import keys
from hotline.web.app import create_app

H = timedelta(hours=1)
D = timedelta(days=1)
NAME, PHONE = "李秀英", "+8613700001111"


class Line:
    """The real app, started and stopped as a process is (no HTTP server needed here)."""

    def __init__(self, config: Config, clock: ManualClock) -> None:
        self.config = config
        self.clock = clock
        self._runner: web.AppRunner | None = None
        self.coordinator: User
        self.counsellor: User

    async def start(self) -> None:
        self._runner = web.AppRunner(create_app(self.config, clock=self.clock))
        await self._runner.setup()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def app(self) -> web.Application:
        assert self._runner is not None
        return self._runner.app

    @property
    def incidents(self) -> IncidentDesk:
        return self.app[dispatch_keys.INCIDENTS]

    async def events(self, kind: str) -> list[dict[str, Any]]:
        rows = await self.app[keys.DATABASE].fetchall(
            "SELECT subject, data FROM events WHERE kind = ? ORDER BY id", (kind,)
        )
        return [dict(r) for r in rows]

    async def dispatches(self) -> list[dict[str, Any]]:
        rows = await self.app[keys.DATABASE].fetchall(
            "SELECT id, kind, team_id, state FROM dispatches ORDER BY id"
        )
        return [dict(r) for r in rows]


async def _staff(app: web.Application, username: str, role: Role) -> User:
    async with app[keys.DATABASE].transaction() as tx:
        user_id = await tx.fetchval(
            "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
            " VALUES (?, ?, ?, 'x', '2026-11-23T00:00:00+00:00') RETURNING id",
            (username, b"\0", role.value),
        )
    return User(int(user_id), username, username, role)


@pytest.fixture
async def line(config: Config, clock: ManualClock) -> AsyncIterator[Line]:
    running = Line(config, clock)
    await running.start()
    running.coordinator = await _staff(running.app, "zhao", Role.COORDINATOR)
    running.counsellor = await _staff(running.app, "wang", Role.COUNSELLOR)
    yield running
    await running.stop()


async def test_declaring_pages_the_teams_starts_the_checklist_and_the_surge(line: Line) -> None:
    """A flood in two districts: the city team and both district teams are paged."""
    incident = await line.incidents.declare(
        line.coordinator, "flood", ["jinghu", "wuwei"], "江堤决口，多个村庄被淹"
    )
    assert incident.state is IncidentState.ACTIVE and incident.districts == ("jinghu", "wuwei")
    mobilised = await line.dispatches()
    assert [(d["kind"], d["team_id"]) for d in mobilised] == [
        ("mobilisation", "city"),
        ("mobilisation", "jinghu"),
        ("mobilisation", "wuwei"),
    ]
    rows = await line.app[keys.DATABASE].fetchall(
        "SELECT step_id, due_at FROM incident_checklist WHERE incident_id = ? ORDER BY due_at",
        (incident.id,),
    )
    assert rows[0]["step_id"] == "confirm_scope" and len(rows) == len(incident.plan.checklist)
    surge = await current_surge(line.app[keys.DATABASE])
    assert surge is not None and surge.incident_id == incident.id
    assert surge.affected_min_risk.value == "moderate"
    assert await line.incidents.description(incident.id) == "江堤决口，多个村庄被淹"
    with pytest.raises(Conflict):
        await line.incidents.declare(line.coordinator, "major_accident", ["sanshan"])


@pytest.mark.parametrize(
    ("plan", "districts", "error"),
    [
        ("meteor", ["jinghu"], InvalidInput),
        ("flood", [], InvalidInput),
        ("flood", ["atlantis"], InvalidInput),
        ("flood", "jinghu", InvalidInput),
    ],
)
async def test_a_bad_declaration_is_refused_and_nothing_starts(
    line: Line, plan: str, districts: object, error: type[Exception]
) -> None:
    """Unknown plans and districts are refused; no page, no surge."""
    with pytest.raises(error):
        await line.incidents.declare(line.coordinator, plan, districts)
    assert await line.dispatches() == []
    assert await current_surge(line.app[keys.DATABASE]) is None


async def test_only_a_coordinator_declares(line: Line) -> None:
    """A counsellor cannot mobilise the city."""
    with pytest.raises(Forbidden):
        await line.incidents.declare(line.counsellor, "flood", ["jinghu"])


async def test_checklist_deadlines_and_report_reminders_fire_on_time(line: Line) -> None:
    """The 30-minute step alarms when late unless done; the 4-hour report is reminded."""
    incident = await line.incidents.declare(line.coordinator, "flood", ["jinghu"])
    await line.incidents.complete_step(incident.id, "mobilise_teams", line.coordinator)
    line.clock.advance(minutes=31)
    await line.incidents.fire_due()
    overdue = [e["data"] for e in await line.events("incident.step_overdue")]
    assert overdue == ['{"step": "confirm_scope"}']
    line.clock.advance(minutes=30)
    await line.incidents.fire_due()
    assert len(await line.events("incident.step_overdue")) == 2  # hotline_surge at 1 h
    assert await line.events("incident.sitrep_due") == []
    line.clock.advance(hours=3)
    await line.incidents.fire_due()
    assert len(await line.events("incident.sitrep_due")) == 1
    await line.incidents.add_sitrep(incident.id, line.coordinator, "两个安置点已完成筛查")
    line.clock.advance(hours=3, minutes=59)
    await line.incidents.fire_due()
    assert len(await line.events("incident.sitrep_due")) == 1  # filed: next one in 4 h


async def test_the_registry_opens_follow_ups_with_the_tiers_schedule(line: Line) -> None:
    """Tier 1 opens a case on the tier's schedule; tier 3 does not, unless at high risk."""
    incident = await line.incidents.declare(line.coordinator, "flood", ["jinghu"])
    bereaved = await line.incidents.register(
        incident.id,
        line.coordinator,
        district="jinghu",
        tier=1,
        exposures=["bereaved", "home_lost"],
        risk="moderate",
        name=NAME,
        phone=PHONE,
    )
    assert bereaved.case_id is not None and bereaved.pseudonym.startswith("P-")
    case = await line.app[dispatch_keys.FOLLOWUPS].cases.get(bereaved.case_id)
    assert case is not None and case.source is CaseSource.INCIDENT
    assert case.owner.team_id == "jinghu"
    assert case.offsets == incident.plan.tiers[1].schedule
    relative = await line.incidents.register(
        incident.id, line.coordinator, district="jinghu", tier=3, risk="low"
    )
    assert relative.case_id is None
    frightened = await line.incidents.register(
        incident.id, line.coordinator, district="jinghu", tier=3, risk="high"
    )
    assert frightened.case_id is not None
    for bad in ({"tier": 5}, {"exposures": ["bored"]}, {"district": "atlantis"}, {"phone": "123"}):
        arguments: dict[str, Any] = {"district": "jinghu", "tier": 2, **bad}
        with pytest.raises(InvalidInput):
            await line.incidents.register(incident.id, line.coordinator, **arguments)


async def test_a_responder_who_accepts_goes_on_duty_and_is_told_to_rest(line: Line) -> None:
    """Accepting the mobilisation starts the responder's duty; 12 h later, a rest reminder."""
    incident = await line.incidents.declare(line.coordinator, "flood", ["jinghu"])
    city = next(d for d in await line.dispatches() if d["team_id"] == "city")
    team = line.app[dispatch_keys.DISPATCH_CONFIG].teams.get("city")
    assert team is not None
    member = team.members[0].id
    await line.app[dispatch_keys.DESK].acknowledge(
        city["id"], f"user:{line.coordinator.id}", "city", member, 30
    )
    await line.incidents.fire_due()
    assert [e["data"] for e in await line.events("incident.duty_started")] == [
        f'{{"responder": "{member}"}}'
    ]
    line.clock.advance(hours=12)
    await line.incidents.fire_due()
    assert len(await line.events("incident.rest_due")) == 1
    report = await line.incidents.report(await line.incidents.get(incident.id))
    assert report["duty_hours"] == {member: 12.0}
    assert report["teams_accepted"] == 1 and report["teams_mobilised"] == 2


async def test_a_restart_in_the_middle_loses_nothing(line: Line) -> None:
    """The process stops mid-incident: the incident, surge and pending deadlines survive."""
    incident = await line.incidents.declare(line.coordinator, "flood", ["jinghu"])
    await line.stop()
    line.clock.advance(minutes=45)
    await line.start()
    assert (await line.incidents.active()) == await line.incidents.get(incident.id)
    assert await current_surge(line.app[keys.DATABASE]) is not None
    await line.incidents.fire_due()
    assert len(await line.events("incident.step_overdue")) == 1


async def test_stand_down_switches_back_and_writes_the_report(line: Line) -> None:
    """Surge off, unanswered pages cancelled, reminders stopped, the report on disk."""
    incident = await line.incidents.declare(line.coordinator, "flood", ["jinghu", "wuwei"])
    await line.incidents.register(
        incident.id, line.coordinator, district="wuwei", tier=1, name=NAME, phone=PHONE
    )
    await line.incidents.log_group_session(
        incident.id, line.coordinator, district="wuwei", kind="debriefing", participants=12
    )
    line.clock.advance(hours=2)
    done = await line.incidents.stand_down(incident.id, line.coordinator)
    assert done.state is IncidentState.STOOD_DOWN and done.report_path
    assert await current_surge(line.app[keys.DATABASE]) is None
    assert {d["state"] for d in await line.dispatches()} == {"cancelled"}
    line.clock.advance(days=2)
    assert await line.incidents.fire_due() == 0
    text = await asyncio.to_thread(Path(done.report_path).read_text, encoding="utf-8")
    assert "自然灾害：洪涝" in text and "0 / 3 支队伍接受" in text
    assert "| 1 | 1 |" in text  # one person in tier 1
    assert "debriefing: 1 场 sessions, 12 人次" in text
    assert "随访个案：已建立 1，仍在随访 1" in text
    assert NAME not in text and PHONE not in text and PHONE[3:] not in text
    with pytest.raises(Conflict):
        await line.incidents.add_sitrep(incident.id, line.coordinator, "too late")
