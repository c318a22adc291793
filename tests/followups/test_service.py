"""The follow-up service on a real SQLite file, with a manual clock.

Opening rules (consent or a reason), due dates, overdue alarms to the owner then the
supervisors, the failed-attempt flag, risk rises, grades and referrals, closing only with a
reason, a restart in between, and no number ever stored in clear.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from dispatch.config import load_dispatch_config
from dispatch.followups.cases import CaseSource, CaseState, Flag, NewCase, Outcome, Owner
from dispatch.followups.schedule import DueKind
from dispatch.followups.service import FollowUps
from dispatch.followups.settings import load_followup_settings
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.contacts import FollowUpRequest
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors
from hotline.crypto import FieldCipher
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.risk import RiskLevel
from hotline.store.database import Database
from hotline.users import Role, User

NUMBER = "+8613912345678"
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class World:
    path: Path
    db: Database
    cipher: FieldCipher
    config: Config
    clock: ManualClock
    followups: FollowUps
    conversations: Conversations
    counsellor: User
    other: User
    supervisor: User

    async def events(self, kind: str) -> list[dict[str, object]]:
        rows = await self.db.fetchall(
            "SELECT subject, actor, data FROM events WHERE kind = ? ORDER BY id", (kind,)
        )
        return [dict(r) for r in rows]

    async def reopen(self) -> None:
        """Close the database and open the service again, as a process restart does."""
        await self.db.close()
        self.db = await Database.open(self.path, self.clock)
        self.followups = _service(self.db, self.cipher, self.config)


def _service(db: Database, cipher: FieldCipher, config: Config) -> FollowUps:
    return FollowUps(
        db,
        cipher,
        config,
        load_followup_settings(config),
        load_dispatch_config(config).teams,
    )


@pytest.fixture
async def world(tmp_path: Path, config: Config, clock: ManualClock) -> AsyncIterator[World]:
    path = tmp_path / "hotline.sqlite3"
    db = await Database.open(path, clock)
    cipher = FieldCipher(os.urandom(32))
    counsellor = await _staff(db, "wang", Role.COUNSELLOR)
    other = await _staff(db, "li", Role.COUNSELLOR)
    supervisor = await _staff(db, "zhao", Role.SUPERVISOR)
    followups = _service(db, cipher, config)
    conversations = Conversations(db, cipher, config, Counsellors(db))
    w = World(
        path, db, cipher, config, clock, followups, conversations, counsellor, other, supervisor
    )
    yield w
    await w.db.close()


async def _staff(db: Database, username: str, role: Role) -> User:
    """A staff row (without argon2's deliberate slowness: these tests never log in)."""
    async with db.transaction() as tx:
        user_id = await tx.fetchval(
            "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
            " VALUES (?, ?, ?, 'not-a-login', '2026-11-23T00:00:00+00:00') RETURNING id",
            (username, b"\0", role.value),
        )
    return User(int(user_id), username, username, role)


def _new(world: World, risk: RiskLevel = RiskLevel.HIGH, **kw: object) -> NewCase:
    values: dict[str, object] = {
        "source": CaseSource.MANUAL,
        "risk": risk,
        "lang": "zh-CN",
        "owner": Owner(user_id=world.counsellor.id),
        "opened_by": f"user:{world.counsellor.id}",
        "district": "jinghu",
        "phone": NUMBER,
    }
    values.update(kw)
    return NewCase(**values)  # type: ignore[arg-type]


def _request(world: World, contact_id: int, **kw: object) -> FollowUpRequest:
    values: dict[str, object] = {
        "contact_id": contact_id,
        "counsellor_id": world.counsellor.id,
        "risk": RiskLevel.HIGH,
        "district": "jinghu",
        "lang": "zh-CN",
        "person_hash": world.cipher.keyed_hash(NUMBER),
        "phone": NUMBER,
        "consent": True,
        "reason": None,
        "caring": False,
        "owner_district": None,
    }
    values.update(kw)
    return FollowUpRequest(**values)  # type: ignore[arg-type]


async def _sms_contact(world: World, number: str = NUMBER) -> int:
    contact, _message, _new_thread = await world.conversations.sms_received(number, "在吗")
    return contact.id


# -- opening ---------------------------------------------------------------------------------


async def test_consent_opens_a_case_due_in_24_hours_with_an_owner(world: World) -> None:
    """A high-risk wrap-up with consent: a case, linked to the contact, due 24 h later."""
    contact_id = await _sms_contact(world)
    async with world.db.transaction() as tx:
        await world.followups.on_wrap_up(tx, _request(world, contact_id))
    [case] = await world.followups.cases.listed()
    assert case.state is CaseState.OPEN and case.source is CaseSource.WRAP_UP
    assert case.owner == Owner(user_id=world.counsellor.id)
    assert case.next_due_at == world.clock.now() + 24 * H and case.due_kind is DueKind.CONTACT
    assert case.pseudonym.startswith("F-") and case.has_phone
    links = await world.followups.cases.links(case.id)
    assert [(link["contact_id"], link["link"]) for link in links] == [(contact_id, "origin")]
    decision = await world.followups.cases.decision(contact_id)
    assert decision is not None and decision["case_id"] == case.id
    [opened] = await world.events("followup.opened")
    assert opened["subject"] == f"followup:{case.id}"


async def test_without_consent_no_case_opens_and_the_reason_is_recorded(world: World) -> None:
    """No consent: nothing to follow, but the contact carries the counsellor's reason."""
    contact_id = await _sms_contact(world)
    async with world.db.transaction() as tx:
        await world.followups.on_wrap_up(
            tx, _request(world, contact_id, consent=False, reason="person_declined")
        )
    assert await world.followups.cases.listed() == []
    decision = await world.followups.cases.decision(contact_id)
    assert decision is not None
    assert decision["case_id"] is None and decision["reason"] == "person_declined"


async def test_a_district_team_can_own_the_case(world: World) -> None:
    """The counsellor hands the case to the person's district team at wrap-up."""
    contact_id = await _sms_contact(world)
    async with world.db.transaction() as tx:
        await world.followups.on_wrap_up(tx, _request(world, contact_id, owner_district="wuwei"))
    [case] = await world.followups.cases.listed(owner_team_id="wuwei")
    assert case.owner == Owner(team_id="wuwei")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"district": "atlantis"}, "unknown_district"),
        ({"owner": Owner(team_id="city")}, "unknown_team"),
        ({"owner": Owner(team_id="nowhere")}, "unknown_team"),
        ({"owner": Owner(user_id=999)}, "unknown_user"),
        ({"caring": True, "phone": None}, "caring_needs_phone"),
        ({"grade": 6}, "invalid_grade"),
    ],
)
async def test_a_bad_case_is_refused_and_nothing_is_written(
    world: World, change: dict[str, object], code: str
) -> None:
    """Unknown districts, teams, staff; caring texts without a number; a grade out of range."""
    with pytest.raises(InvalidInput) as caught:
        await world.followups.open_case(_new(world, **change))
    assert caught.value.code == code
    assert await world.db.fetchval("SELECT COUNT(*) FROM followup_cases") == 0


async def test_numbers_names_and_notes_are_never_stored_in_clear(world: World) -> None:
    """The number, name and notes are sealed; the file and its WAL never hold them in clear,
    and reading the number is audited."""
    case = await world.followups.open_case(_new(world, name="张三丰"))
    attempt_note, close_note = "说最近睡不着，想过结束一切", "已转介至市第四人民医院门诊"
    await world.followups.record_attempt(
        case.id, world.counsellor, outcome="reached", risk="high", note=attempt_note
    )
    raw = b"".join(p.read_bytes() for p in world.path.parent.glob("hotline.sqlite3*"))
    for secret in (NUMBER, NUMBER[3:], "张三丰", attempt_note):
        assert secret.encode() not in raw
    details = await world.followups.contact_details(case.id, world.counsellor)
    assert details == {"phone": NUMBER, "name": "张三丰"}
    [audit] = await world.events("audit.case_details_read")
    assert audit["actor"] == f"user:{world.counsellor.id}"
    trail = await world.db.fetchall("SELECT actor, action, purpose FROM audit_log")
    assert [tuple(r) for r in trail] == [
        (f"user:{world.counsellor.id}", "case.details_read", "follow_up_call")
    ]
    await world.followups.close(case.id, world.counsellor, "in_care", close_note)
    raw = b"".join(p.read_bytes() for p in world.path.parent.glob("hotline.sqlite3*"))
    assert close_note.encode() not in raw
    [attempt] = await world.followups.cases.attempts(case.id)
    assert attempt.note == attempt_note


# -- attempts, alarms, flags -----------------------------------------------------------------


async def test_an_overdue_follow_up_alarms_the_owner_then_the_supervisor(world: World) -> None:
    """Due at 24 h: nothing before 25 h, the owner at 25 h, the supervisors at 36 h, once each."""
    case = await world.followups.open_case(_new(world))
    world.clock.advance(hours=24, minutes=59)
    await world.followups.fire_due()
    assert await world.events("followup.overdue") == []
    world.clock.advance(minutes=1)
    await world.followups.fire_due()
    [owner_alarm] = await world.events("followup.overdue")
    assert '"stage": "owner"' in str(owner_alarm["data"])
    assert f'"owner": "user:{world.counsellor.id}"' in str(owner_alarm["data"])
    world.clock.advance(hours=11)
    await world.followups.fire_due()
    alarms = await world.events("followup.overdue")
    assert len(alarms) == 2 and '"stage": "supervisor"' in str(alarms[1]["data"])
    world.clock.advance(days=3)
    await world.followups.fire_due()
    assert len(await world.events("followup.overdue")) == 2
    refreshed = await world.followups.cases.get(case.id)
    assert refreshed is not None and refreshed.overdue_stage == 2


async def test_an_attempt_in_time_silences_the_alarm_and_moves_the_due_date(world: World) -> None:
    """Reached at 23 h: the 24-hour follow-up is done, the next is at 72 h, no alarm fires."""
    case = await world.followups.open_case(_new(world))
    world.clock.advance(hours=23)
    result = await world.followups.record_attempt(
        case.id, world.counsellor, outcome="reached", risk="high", note="睡眠改善"
    )
    assert result.case.next_due_at == case.opened_at + 72 * H and not result.risk_rose
    world.clock.advance(hours=30)
    await world.followups.fire_due()
    assert await world.events("followup.overdue") == []
    world.clock.advance(hours=20)  # 73 h + 1 h after opening: the 72-hour follow-up is late
    await world.followups.fire_due()
    assert len(await world.events("followup.overdue")) == 1
    [attempt] = await world.followups.cases.attempts(case.id)
    assert attempt.note == "睡眠改善" and attempt.outcome is Outcome.REACHED


async def test_three_failed_attempts_in_a_row_flag_the_case_to_a_supervisor(world: World) -> None:
    """No answer, declined, wrong number: flagged once; reaching the person clears it."""
    case = await world.followups.open_case(_new(world))
    world.clock.advance(hours=24)
    for outcome in ("no_answer", "declined"):
        result = await world.followups.record_attempt(case.id, world.counsellor, outcome=outcome)
        assert result.case.flagged is None
        world.clock.advance(hours=4)
    result = await world.followups.record_attempt(case.id, world.counsellor, outcome="no_answer")
    assert result.case.flagged is Flag.FAILED_ATTEMPTS and result.case.failed_streak == 3
    assert len(await world.events("followup.flagged")) == 1
    assert [c.id for c in await world.followups.cases.listed(flagged_only=True)] == [case.id]
    result = await world.followups.record_attempt(case.id, world.counsellor, outcome="wrong_number")
    assert len(await world.events("followup.flagged")) == 1  # flagged once, not per attempt
    # Each failure keeps the follow-up due, retried four hours later.
    assert result.case.next_due_at == world.clock.now() + 4 * H
    result = await world.followups.record_attempt(
        case.id, world.counsellor, outcome="reached", risk="moderate"
    )
    assert result.case.flagged is None and result.case.failed_streak == 0


async def test_a_rise_in_risk_restarts_the_schedule_and_offers_a_dispatch(world: World) -> None:
    """A moderate person found at imminent risk: the 24-hour schedule starts from now."""
    case = await world.followups.open_case(_new(world, RiskLevel.MODERATE))
    assert case.next_due_at == case.opened_at + 72 * H
    world.clock.advance(hours=70)
    result = await world.followups.record_attempt(
        case.id, world.counsellor, outcome="reached", risk="imminent"
    )
    assert result.risk_rose and result.case.risk is RiskLevel.IMMINENT
    assert result.case.next_due_at == world.clock.now() + 24 * H


async def test_reached_needs_a_fresh_risk_assessment(world: World) -> None:
    """A person reached must be assessed; a missed call keeps the last level."""
    case = await world.followups.open_case(_new(world))
    with pytest.raises(InvalidInput) as caught:
        await world.followups.record_attempt(case.id, world.counsellor, outcome="reached")
    assert caught.value.code == "risk_required"
    with pytest.raises(InvalidInput):
        await world.followups.record_attempt(case.id, world.counsellor, outcome="maybe")
    assert await world.followups.cases.attempts(case.id) == []


async def test_a_grade_3_flags_a_referral_at_once_and_follow_up_within_two_weeks(
    world: World,
) -> None:
    """Severe-mental-disorder management: grade 3 means referral now, next within 14 days."""
    case = await world.followups.open_case(_new(world, RiskLevel.LOW))
    assert case.next_due_at == case.opened_at + 7 * D
    world.clock.advance(days=7)
    result = await world.followups.record_attempt(
        case.id, world.counsellor, outcome="reached", risk="low", grade=3
    )
    assert result.case.grade == 3 and result.case.referral_flagged_at == world.clock.now()
    assert result.case.next_due_at == world.clock.now() + 14 * D
    assert len(await world.events("followup.referral_flagged")) == 1
    # Grade 0 later: three months from the last time reached.
    world.clock.advance(days=14)
    result = await world.followups.record_attempt(
        case.id, world.counsellor, outcome="reached", risk="low", grade=0
    )
    assert result.case.next_due_at == world.clock.now() + 90 * D


async def test_a_case_closes_only_with_a_reason(world: World) -> None:
    """No reason, no close; once closed, nothing is due and no alarm fires."""
    case = await world.followups.open_case(_new(world))
    for reason in (None, "", "bored"):
        with pytest.raises(InvalidInput) as caught:
            await world.followups.close(case.id, world.counsellor, reason)
        assert caught.value.code == "close_reason_required"
    closed = await world.followups.close(case.id, world.counsellor, "safe_stable", "已转介门诊")
    assert closed.state is CaseState.CLOSED and closed.next_due_at is None
    world.clock.advance(days=2)
    await world.followups.fire_due()
    assert await world.events("followup.overdue") == []
    with pytest.raises(Conflict):
        await world.followups.record_attempt(case.id, world.counsellor, outcome="no_answer")


async def test_a_counsellor_works_only_their_own_cases(world: World) -> None:
    """Another counsellor is refused; supervisors oversee every case."""
    case = await world.followups.open_case(_new(world))
    with pytest.raises(Forbidden):
        await world.followups.get(case.id, world.other)
    with pytest.raises(Forbidden):
        await world.followups.record_attempt(case.id, world.other, outcome="no_answer")
    assert (await world.followups.get(case.id, world.supervisor)).id == case.id
    moved = await world.followups.reassign(case.id, world.supervisor, Owner(user_id=world.other.id))
    assert (await world.followups.get(moved.id, world.other)).owner == Owner(user_id=world.other.id)


async def test_alarms_survive_a_restart(world: World) -> None:
    """The process dies after a case opens; the restarted one still alarms on time."""
    case = await world.followups.open_case(_new(world))
    await world.reopen()
    world.clock.advance(hours=25)
    assert await world.followups.fire_due() >= 1
    [alarm] = await world.events("followup.overdue")
    assert alarm["subject"] == f"followup:{case.id}"


async def test_a_returning_person_is_linked_to_their_open_case(world: World) -> None:
    """A new contact from the case's number is linked (by keyed hash); another number is not."""
    world.conversations.on_contact_started = world.followups.on_contact_started
    case = await world.followups.open_case(_new(world))
    world.clock.advance(hours=5)
    again = await _sms_contact(world)
    stranger = await _sms_contact(world, "+8613000000000")
    linked = {
        link["contact_id"]: link["link"] for link in await world.followups.cases.links(case.id)
    }
    assert linked == {again: "repeat"}
    assert stranger not in linked


async def test_an_undecided_contact_gets_one_decision_only(world: World) -> None:
    """Two supervisors deciding at once: the second is refused and opens no second case."""
    contact_id = await _sms_contact(world)
    owner = Owner(user_id=world.counsellor.id)
    case = await world.followups.open_from_contact(contact_id, world.supervisor, owner=owner)
    with pytest.raises(Conflict):
        await world.followups.open_from_contact(contact_id, world.supervisor, owner=owner)
    with pytest.raises(Conflict):
        await world.followups.decide_no_case(contact_id, world.supervisor, "person_declined")
    assert [c.id for c in await world.followups.cases.listed()] == [case.id]
