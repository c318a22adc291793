"""Retention purging at chosen instants, on data made by the real app and its services.

Two months of history are made on a manual clock: an old conversation with everything a
counsellor can write about it, an abandoned web chat, a person whose follow-up case is still
open, a case closed long ago, a stood-down incident with its registry, a contact still
waiting, and a recent one. Then the clock is moved three years and forty days on, past the
retention period of the first day, and the purge runs: the old personal data goes (from the
rows, and from the file's bytes), everything open, in progress or recent stays, and so do
the event log and the audit trail.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web
from structlog.testing import capture_logs

from dispatch.config import load_dispatch_config
from dispatch.followups.service import FollowUps
from dispatch.followups.settings import load_followup_settings
from dispatch.web import keys as dispatch_keys
from hotline.audit import verify
from hotline.cli import main
from hotline.clock import ManualClock, to_iso
from hotline.config import Config, load_config
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors, Presence
from hotline.crypto import FieldCipher
from hotline.retention import KINDS, RetentionSurvey, purge, survey
from hotline.risk import RiskLevel
from hotline.store.database import DB_FILE, Database
from hotline.store.keycheck import data_cipher, verify_data_key
from hotline.users import Role, User
from hotline.web import keys
from hotline.web.app import create_app
from hotline.web.retention_job import purge_forever
from tests.conftest import DEFAULT_CONFIG, PASSWORD

DAYS = 1095  # the shipped default: records are kept three years
D = timedelta(days=1)
# The purge looks at the world 40 days after the retention period ran out for the first day
# of the history: the cutoff falls 40 days after it began.
AFTER = timedelta(days=DAYS + 40)

OLD = "+8613900000001"  # a conversation closed on the first day: everything about it goes
OPEN_CASE = "+8613900000002"  # closed on the first day, but their follow-up case is open
CLOSED_CASE = "+8613900000003"  # closed on the first day, case closed ten days later
WAITING = "+8613900000004"  # still waiting in the queue, three years on
RECENT = "+8613900000005"  # a conversation two months after the first day
REGISTERED = "+8613900000006"  # in the registry of the incident stood down long ago
REGISTERED_OPEN = "+8613900000007"  # in the same registry, with a follow-up case still open
OPTED_OUT = "+8613900000008"  # texted STOP

WRAP = {"category": "emotional_distress", "outcome": "supported", "referral": "none"}
CSSRS = {
    "wish_dead": True,
    "suicidal_thoughts": False,
    "method": False,
    "intent": False,
    "plan": False,
    "behaviour": "none",
    "protective_factors": ["family_support"],
}

# Every piece of text written below: none may reach a log line.
WORDS = {
    "old_in": "甲的第一条短信：最近总是失眠",
    "old_reply": "甲的回复：我们在这里陪着你",
    "old_note": "甲的备注：独居，与家人疏远",
    "old_plan": "甲的安全计划：给姐姐打电话",
    "old_protocol": "甲的协议备注：本人拒绝报警",
    "old_dispatch": "甲的调度摘要：住在三楼",
    "old_cancel": "甲的取消原因：本人已到医院",
    "old_summary": "甲的小结：失眠两周，已给予支持",
    "chat": "网聊者的消息：我想找人聊聊",
    "open_in": "乙的短信：我又撑不下去了",
    "open_note": "乙的备注：有具体计划",
    "open_summary": "乙的小结：同意随访",
    "closed_in": "丙的短信：心里很乱",
    "closed_summary": "丙的小结：同意随访",
    "closed_attempt": "丙的随访记录：情况好转",
    "closed_note": "丙的结案备注：已稳定",
    "waiting_in": "丁的短信：有人吗",
    "recent_in": "戊的短信：想聊聊工作",
    "recent_summary": "戊的小结：工作压力",
    "description": "事件描述：江堤决口，某村被淹",
    "sitrep": "简报：安置点有三人情绪崩溃",
    "registered": "登记人甲",
    "registered_open": "登记人乙",
    "session": "团体备注：两位老人需要单独跟进",
}


class Line:
    """The real app, started and stopped as a process is (no HTTP server needed)."""

    def __init__(self, config: Config, clock: ManualClock) -> None:
        self.config = config
        self.clock = clock
        self._runner: web.AppRunner | None = None

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


@dataclass
class History:
    """What was made, by id, and the store it is in."""

    path: Path
    db: Database
    cipher: FieldCipher
    clock: ManualClock
    start: datetime
    counsellor_id: int = 0
    contacts: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    incident: int = 0
    dispatch: int = 0

    @property
    def purge_at(self) -> datetime:
        return self.start + AFTER

    async def rows(self, sql: str, *params: object) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.db.fetchall(sql, params)]

    async def value(self, sql: str, *params: object) -> Any:
        return await self.db.fetchval(sql, params)


async def _make_history(line: Line, history: History) -> None:
    """Two months of the line's life, through its own services (three years ago, as the
    purge will see it)."""
    app = line.app
    clock = line.clock
    conversations: Conversations = app[keys.CONVERSATIONS]
    users = app[keys.USERS]
    counsellor = await users.add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    coordinator = await users.add("zhao", "赵主任", Role.COORDINATOR, PASSWORD)
    await app[keys.COUNSELLORS].set_presence(counsellor.id, Presence.AVAILABLE)
    history.counsellor_id = counsellor.id
    me = counsellor.id

    # An old conversation with everything that can be written about it, and a dispatch.
    old, _, _ = await conversations.sms_received(OLD, WORDS["old_in"])
    await conversations.take(old.id, me)
    await conversations.counsellor_message(old.id, me, WORDS["old_reply"])
    await conversations.add_note(old.id, me, WORDS["old_note"])
    await conversations.assess(old.id, me, {**CSSRS, "safety_plan": WORDS["old_plan"]})
    await conversations.record_protocol_step(
        old.id,
        me,
        {
            "step": "emergency_services",
            "done": False,
            "service": "none",
            "note": WORDS["old_protocol"],
        },
    )
    desk = app[dispatch_keys.DESK]
    dispatch = await desk.request(
        actor=f"user:{coordinator.id}",
        risk=RiskLevel.HIGH,
        summary=WORDS["old_dispatch"],
        district_id="jinghu",
        contact_id=old.id,
    )
    await desk.cancel(dispatch.id, f"user:{coordinator.id}", WORDS["old_cancel"])
    await conversations.counsellor_end(old.id, me)
    await conversations.wrap_up(old.id, me, {**WRAP, "summary": WORDS["old_summary"]})
    history.contacts["old"] = old.id
    history.dispatch = dispatch.id

    # A web chat whose person left while waiting.
    chat, _token = await conversations.start_webchat(None, "zh-CN", secrets.token_urlsafe(32))
    await conversations.caller_message(chat.id, WORDS["chat"])
    await conversations.caller_end(chat.id)
    history.contacts["chat"] = chat.id

    # Two people at high risk who agreed to follow-up: one case stays open, one closes.
    for name, number in (("open", OPEN_CASE), ("closed", CLOSED_CASE)):
        contact, _, _ = await conversations.sms_received(number, WORDS[f"{name}_in"])
        await conversations.take(contact.id, me)
        await conversations.raise_risk(contact.id, RiskLevel.HIGH, "screener", ["test"])
        if name == "open":
            await conversations.add_note(contact.id, me, WORDS["open_note"])
        await conversations.counsellor_end(contact.id, me)
        await conversations.wrap_up(
            contact.id,
            me,
            {**WRAP, "follow_up_wanted": True, "summary": WORDS[f"{name}_summary"]},
        )
        history.contacts[name] = contact.id
        history.cases[name] = await history.value(
            "SELECT case_id FROM followup_contacts WHERE contact_id = ?", contact.id
        )
    followups = app[dispatch_keys.FOLLOWUPS]
    await followups.record_attempt(
        history.cases["closed"],
        counsellor,
        outcome="reached",
        risk="low",
        note=WORDS["closed_attempt"],
    )

    # A mass incident with its registry, a situation report and a group session.
    incidents = app[dispatch_keys.INCIDENTS]
    incident = await incidents.declare(coordinator, "flood", ["jinghu"], WORDS["description"])
    await incidents.add_sitrep(incident.id, coordinator, WORDS["sitrep"])
    person = await incidents.register(
        incident.id,
        coordinator,
        district="jinghu",
        tier=4,
        name=WORDS["registered"],
        phone=REGISTERED,
    )
    held = await incidents.register(
        incident.id,
        coordinator,
        district="jinghu",
        tier=4,
        risk="high",
        name=WORDS["registered_open"],
        phone=REGISTERED_OPEN,
    )
    assert held.case_id is not None and person.case_id is None
    await incidents.log_group_session(
        incident.id,
        coordinator,
        district="jinghu",
        kind="debriefing",
        participants=6,
        note=WORDS["session"],
    )
    history.incident = incident.id
    history.people = {"registered": person.id, "registered_open": held.id}
    history.cases["registered_open"] = held.case_id

    # Someone still waiting (never answered), and someone who asked for no more texts.
    waiting, _, _ = await conversations.sms_received(WAITING, WORDS["waiting_in"])
    history.contacts["waiting"] = waiting.id
    await conversations.sms_opt_out(OPTED_OUT)

    # Ten days on: the case closes and the incident is stood down.
    clock.advance(days=10)
    await followups.close(history.cases["closed"], counsellor, "safe_stable", WORDS["closed_note"])
    await incidents.stand_down(incident.id, coordinator)

    # Two months on: a recent conversation.
    clock.advance(days=50)
    recent, _, _ = await conversations.sms_received(RECENT, WORDS["recent_in"])
    await conversations.take(recent.id, me)
    await conversations.counsellor_end(recent.id, me)
    await conversations.wrap_up(recent.id, me, {**WRAP, "summary": WORDS["recent_summary"]})
    history.contacts["recent"] = recent.id


@pytest.fixture
async def history(config: Config, clock: ManualClock) -> AsyncIterator[History]:
    """The history above, made by the running app, then the app stopped and the store
    opened on its own at the instant the purge looks from."""
    start = clock.now()
    line = Line(config, clock)
    await line.start()
    path = config.data_dir / DB_FILE
    made = History(path, line.app[keys.DATABASE], data_cipher(config), clock, start)
    try:
        await _make_history(line, made)
    finally:
        await line.stop()
    clock.advance(seconds=(made.purge_at - clock.now()).total_seconds())
    made.db = await Database.open(path, clock)
    yield made
    await made.db.close()


# -- helpers ---------------------------------------------------------------------------------

SEALED_OLD = (
    ("messages", "body_enc", "contact_id", "old"),
    ("messages", "body_enc", "contact_id", "chat"),
    ("messages", "body_enc", "contact_id", "closed"),
    ("notes", "body_enc", "contact_id", "old"),
    ("contacts", "caller_number_enc", "id", "old"),
    ("contacts", "caller_number_enc", "id", "closed"),
    ("wrap_ups", "summary_enc", "contact_id", "old"),
    ("wrap_ups", "summary_enc", "contact_id", "closed"),
    ("assessments", "safety_plan_enc", "contact_id", "old"),
    ("protocol_steps", "note_enc", "contact_id", "old"),
)


async def _sealed_old(history: History) -> list[bytes]:
    """The ciphertexts of everything the purge must remove, read before it runs."""
    found: list[bytes] = []
    for table, column, key, name in SEALED_OLD:
        for row in await history.rows(
            f"SELECT {column} AS v FROM {table} WHERE {key} = ? AND {column} IS NOT NULL",
            history.contacts[name],
        ):
            found.append(row["v"])
    for sql, arg in (
        ("SELECT summary_enc AS v FROM dispatches WHERE id = ?", history.dispatch),
        ("SELECT cancel_reason_enc AS v FROM dispatches WHERE id = ?", history.dispatch),
        ("SELECT phone_enc AS v FROM followup_cases WHERE id = ?", history.cases["closed"]),
        ("SELECT close_note_enc AS v FROM followup_cases WHERE id = ?", history.cases["closed"]),
        ("SELECT note_enc AS v FROM followup_attempts WHERE case_id = ?", history.cases["closed"]),
        ("SELECT description_enc AS v FROM incidents WHERE id = ?", history.incident),
        ("SELECT body_enc AS v FROM incident_sitreps WHERE incident_id = ?", history.incident),
        ("SELECT note_enc AS v FROM group_sessions WHERE incident_id = ?", history.incident),
        ("SELECT name_enc AS v FROM affected_people WHERE id = ?", history.people["registered"]),
        ("SELECT phone_enc AS v FROM affected_people WHERE id = ?", history.people["registered"]),
    ):
        found.extend(row["v"] for row in await history.rows(sql, arg) if row["v"])
    return found


def _file_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show a dry run changes nothing."""
    tables = await db.table_names()
    return {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t}")] for t in tables}


# -- the purge -------------------------------------------------------------------------------


async def test_a_dry_run_changes_nothing_and_counts_what_the_purge_then_removes(
    history: History,
) -> None:
    """The survey touches nothing; the purge then removes exactly what it counted."""
    before = await _snapshot(history.db)
    planned = await survey(history.db, history.purge_at, DAYS)
    assert await _snapshot(history.db) == before
    assert planned.cutoff == history.start + timedelta(days=40)
    assert not planned.purged and planned.checkpointed is None
    done = await purge(history.db, history.purge_at, DAYS, "system")
    assert done.purged and done.counts == planned.counts and done.total == planned.total
    assert set(done.counts) == set(KINDS)
    assert {kind: n for kind, n in done.counts.items() if n} == {
        "messages": 4,  # the old conversation's two, the chat's and the closed case's
        "notes": 1,
        "caller_numbers": 2,
        "caller_links": 3,
        "wrap_up_summaries": 2,
        "assessment_texts": 1,
        "protocol_notes": 1,
        "dispatch_texts": 3,  # the old contact's, and the flood's two mobilisations
        "followup_cases": 1,
        "followup_attempt_notes": 1,
        "incident_descriptions": 1,
        "situation_reports": 1,
        "group_session_notes": 1,
        "affected_people": 1,
    }


async def test_old_personal_data_goes_and_the_aggregates_stay(history: History) -> None:
    """Texts, numbers, links, names and notes of records that ended before the cutoff are
    gone; the rows' states, levels, codes and times, and the whole event log, remain."""
    events_before = await history.rows("SELECT * FROM events ORDER BY id")
    await purge(history.db, history.purge_at, DAYS, "system")
    old, chat, closed = (history.contacts[k] for k in ("old", "chat", "closed"))
    for contact in (old, chat, closed):
        assert (
            await history.value("SELECT COUNT(*) FROM messages WHERE contact_id = ?", contact) == 0
        )
        row = (await history.rows("SELECT * FROM contacts WHERE id = ?", contact))[0]
        assert row["caller_number_enc"] is None and row["caller_hash"] is None
        assert row["caller_token_hash"] is None and row["call_sid"] is None
        assert row["state"] in ("closed", "abandoned") and row["risk"] and row["created_at"]
    assert await history.value("SELECT COUNT(*) FROM notes WHERE contact_id = ?", old) == 0
    [wrap] = await history.rows("SELECT * FROM wrap_ups WHERE contact_id = ?", old)
    assert wrap["summary_enc"] is None and wrap["category"] == "emotional_distress"
    [assessment] = await history.rows("SELECT * FROM assessments WHERE contact_id = ?", old)
    assert assessment["safety_plan_enc"] is None and assessment["level"] == "low"
    assert json.loads(assessment["protective_factors"]) == ["family_support"]
    assert (
        await history.value(
            "SELECT COUNT(*) FROM protocol_steps WHERE contact_id = ? AND note_enc IS NOT NULL", old
        )
        == 0
    )
    [dispatch] = await history.rows("SELECT * FROM dispatches WHERE id = ?", history.dispatch)
    assert dispatch["summary_enc"] is None and dispatch["cancel_reason_enc"] is None
    assert dispatch["state"] == "cancelled" and dispatch["team_id"]

    [case] = await history.rows(
        "SELECT * FROM followup_cases WHERE id = ?", history.cases["closed"]
    )
    assert [
        case[c] for c in ("phone_enc", "name_enc", "close_note_enc", "person_hash", "phone_hash")
    ] == [None] * 5
    assert case["state"] == "closed" and case["close_reason"] == "safe_stable" and case["pseudonym"]
    assert (
        await history.value(
            "SELECT COUNT(*) FROM followup_attempts WHERE case_id = ? AND note_enc IS NULL",
            history.cases["closed"],
        )
        == 1
    )

    [incident] = await history.rows("SELECT * FROM incidents WHERE id = ?", history.incident)
    assert incident["description_enc"] is None and incident["state"] == "stood_down"
    assert (
        await history.value(
            "SELECT body_enc FROM incident_sitreps WHERE incident_id = ?", history.incident
        )
        == b""
    )
    [session] = await history.rows(
        "SELECT * FROM group_sessions WHERE incident_id = ?", history.incident
    )
    assert session["note_enc"] is None and session["participants"] == 6
    [person] = await history.rows(
        "SELECT * FROM affected_people WHERE id = ?", history.people["registered"]
    )
    assert person["name_enc"] is None and person["phone_enc"] is None and person["tier"] == 4

    events_after = await history.rows("SELECT * FROM events ORDER BY id")
    assert events_after[: len(events_before)] == events_before, "the event log is kept whole"
    [added] = events_after[len(events_before) :]
    assert added["kind"] == "retention.purged" and added["subject"] == "retention"
    data = json.loads(added["data"])
    assert data["cutoff"] == to_iso(history.start + timedelta(days=40))
    assert set(data) == {"cutoff", "records_days", "counts", "total"}


async def test_open_in_progress_and_recent_records_are_kept(history: History) -> None:
    """The person with an open case keeps their contact and case; the waiting contact and
    the recent one keep everything; so do staff, opt-outs and the registry entry of a
    person whose case is open."""
    await purge(history.db, history.purge_at, DAYS, "system")
    conversations = Conversations(
        history.db, history.cipher, _config(history), Counsellors(history.db)
    )
    for name, number, text in (
        ("open", OPEN_CASE, "open_in"),
        ("waiting", WAITING, "waiting_in"),
        ("recent", RECENT, "recent_in"),
    ):
        contact = history.contacts[name]
        assert WORDS[text] in [m.text for m in await conversations.messages(contact)]
        assert await conversations.caller_number(contact) == number
        assert (
            await conversations.caller_summary(contact)
        ).person_hash == conversations.caller_hash(number)
    assert [n.text for n in await conversations.notes(history.contacts["open"])] == [
        WORDS["open_note"]
    ]
    wrap = await conversations.wrap_up_of(history.contacts["open"])
    assert wrap is not None and wrap.summary == WORDS["open_summary"]
    recent = await conversations.wrap_up_of(history.contacts["recent"])
    assert recent is not None and recent.summary == WORDS["recent_summary"]
    [case] = await history.rows("SELECT * FROM followup_cases WHERE id = ?", history.cases["open"])
    assert case["state"] == "open" and case["phone_enc"] is not None and case["person_hash"]
    [person] = await history.rows(
        "SELECT * FROM affected_people WHERE id = ?", history.people["registered_open"]
    )
    assert (
        history.cipher.open(person["name_enc"], f"affected_people.name:{person['id']}")
        == WORDS["registered_open"]
    )
    [staff] = await history.rows("SELECT * FROM users WHERE id = ?", history.counsellor_id)
    assert (
        history.cipher.open(staff["display_name_enc"], f"users.display_name:{staff['id']}")
        == "王老师"
    )
    assert await conversations.opted_out(OPTED_OUT)

    # Ten years on, a contact still in the queue is still not touched.
    later = history.purge_at + timedelta(days=3650)
    await purge(history.db, later, DAYS, "system")
    waiting = history.contacts["waiting"]
    assert await conversations.caller_number(waiting) == WAITING
    assert [m.text for m in await conversations.messages(waiting)] == [WORDS["waiting_in"]]


async def test_a_contact_of_an_open_case_goes_once_the_case_closes(history: History) -> None:
    """Closing the case frees its old contact at the next run; the case itself is kept for
    the period from its own closing."""
    await purge(history.db, history.purge_at, DAYS, "system")
    case_id = history.cases["open"]
    config = _config(history)
    followups = FollowUps(
        history.db,
        history.cipher,
        config,
        load_followup_settings(config),
        load_dispatch_config(config).teams,
    )
    owner = User(history.counsellor_id, "wang", "王老师", Role.COUNSELLOR)
    await followups.close(case_id, owner, "safe_stable")
    freed = await purge(history.db, history.purge_at + D, DAYS, "system")
    assert freed.counts["messages"] == 1 and freed.counts["notes"] == 1
    assert freed.counts["followup_cases"] == 0
    contact = history.contacts["open"]
    assert (
        await history.value("SELECT caller_number_enc FROM contacts WHERE id = ?", contact) is None
    )
    assert await history.value("SELECT phone_enc FROM followup_cases WHERE id = ?", case_id)
    gone = await purge(history.db, history.purge_at + timedelta(days=DAYS + 1), DAYS, "system")
    assert gone.counts["followup_cases"] == 1
    assert await history.value("SELECT phone_enc FROM followup_cases WHERE id = ?", case_id) is None


async def test_a_note_added_after_the_end_is_kept_for_its_own_period(history: History) -> None:
    """A note written on an old contact long after it ended stays until the note itself is
    older than the period."""
    conversations = Conversations(
        history.db, history.cipher, _config(history), Counsellors(history.db)
    )
    old = history.contacts["old"]
    await conversations.add_note(old, history.counsellor_id, "后补的备注")
    first = await purge(history.db, history.purge_at, DAYS, "system")
    assert first.counts["notes"] == 1
    assert [n.text for n in await conversations.notes(old)] == ["后补的备注"]
    later = await purge(history.db, history.purge_at + timedelta(days=DAYS + 1), DAYS, "system")
    assert later.counts["notes"] == 1 and await conversations.notes(old) == []


async def test_a_second_run_purges_nothing_and_leaves_no_record(history: History) -> None:
    """Idempotent: the second scheduled run finds nothing, and appends no event or audit
    record; a manual run is recorded even when it finds nothing."""
    first = await purge(history.db, history.purge_at, DAYS, "system")
    assert first.total > 0 and first.checkpointed is True
    events = await history.value("SELECT COUNT(*) FROM events")
    audits = await history.value("SELECT COUNT(*) FROM audit_log")
    second = await purge(history.db, history.purge_at, DAYS, "system")
    assert second.total == 0 and second.checkpointed is None
    assert (await survey(history.db, history.purge_at, DAYS)).total == 0
    assert await history.value("SELECT COUNT(*) FROM events") == events
    assert await history.value("SELECT COUNT(*) FROM audit_log") == audits
    await purge(history.db, history.purge_at, DAYS, "admin", purpose="manual")
    assert await history.value("SELECT COUNT(*) FROM audit_log") == audits + 1


async def test_the_run_is_audited_and_the_chain_still_verifies(history: History) -> None:
    """One audit record per run, with counts only; the hash chain holds."""
    done = await purge(history.db, history.purge_at, DAYS, "system")
    [row] = await history.rows(
        "SELECT actor, action, subject, purpose, data FROM audit_log WHERE action = ?",
        "retention.purged",
    )
    assert (row["actor"], row["subject"], row["purpose"]) == ("system", "retention", "scheduled")
    assert json.loads(row["data"])["counts"] == done.as_dict()["counts"]
    result = await verify(history.db)
    assert result.intact and result.checked >= 1


@pytest.mark.parametrize("writer_secure_delete", [None, 0])
async def test_purged_bytes_are_gone_from_the_database_file_and_its_wal(
    history: History, writer_secure_delete: int | None
) -> None:
    """No ciphertext, number hash or chat token digest of a purged record is left anywhere
    in the file or the write-ahead log; what is kept is still there. Also where the SQLite
    build does not zero freed space by default (0): the purge turns it on for itself, and
    back to the connection's own setting afterwards."""
    if writer_secure_delete is not None:
        async with history.db.transaction() as tx:
            await tx.execute(f"PRAGMA secure_delete = {writer_secure_delete}")
    sealed = await _sealed_old(history)
    assert len(sealed) >= 19
    links = [
        r["caller_hash"]
        for r in await history.rows(
            "SELECT caller_hash FROM contacts WHERE id IN (?, ?, ?)",
            *(history.contacts[k] for k in ("old", "chat", "closed")),
        )
    ]
    token = await history.value(
        "SELECT caller_token_hash FROM contacts WHERE id = ?", history.contacts["chat"]
    )
    kept = await history.value(
        "SELECT body_enc FROM messages WHERE contact_id = ?", history.contacts["open"]
    )
    raw = _file_bytes(history.path)
    assert all(blob in raw for blob in sealed), "the search finds them before the purge"
    await purge(history.db, history.purge_at, DAYS, "system")
    raw = _file_bytes(history.path)
    assert history.path.with_name(DB_FILE + "-wal").stat().st_size == 0
    for blob in sealed:
        assert blob not in raw
    for digest in [*links, token]:
        assert digest.encode() not in raw
    assert kept in raw
    if writer_secure_delete is not None:
        async with history.db.transaction() as tx:
            assert await tx.fetchval("PRAGMA secure_delete") == writer_secure_delete


# -- logs and the scheduled job --------------------------------------------------------------


def _assert_no_personal_data(entries: Sequence[Mapping[str, Any]]) -> None:
    text = json.dumps([dict(e) for e in entries], ensure_ascii=False, default=str)
    for words in WORDS.values():
        assert words not in text
    for number in (OLD, OPEN_CASE, CLOSED_CASE, WAITING, RECENT, REGISTERED, REGISTERED_OPEN):
        assert number not in text and number[3:] not in text


async def test_the_job_logs_counts_never_personal_data(history: History) -> None:
    """A scheduled pass logs what kinds went and how many, and nothing anyone wrote."""
    sleeps: list[float] = []

    async def stop_after_one(seconds: float) -> None:
        sleeps.append(seconds)
        raise asyncio.CancelledError

    async def run_once() -> RetentionSurvey:
        return await purge(history.db, history.purge_at, DAYS, "system")

    with capture_logs() as entries, pytest.raises(asyncio.CancelledError):
        await purge_forever(run_once, 24 * 3600.0, sleep=stop_after_one)
    assert sleeps == [24 * 3600.0]
    [line] = [e for e in entries if e["event"] == "retention_purged"]
    assert line["counts"]["messages"] == 4 and line["total"] > 0
    _assert_no_personal_data(entries)


async def test_the_loop_outlives_a_failed_pass_and_logs_only_the_error_type() -> None:
    """A pass that raises is logged by type (its message could hold anything) and the loop
    goes on to the next pass after its sleep."""
    passes: list[str] = []

    async def run_once() -> RetentionSurvey:
        passes.append("run")
        if len(passes) == 1:
            raise RuntimeError(f"cannot purge {OLD}: {WORDS['old_in']}")
        raise asyncio.CancelledError

    async def no_wait(seconds: float) -> None:
        return None

    with capture_logs() as entries, pytest.raises(asyncio.CancelledError):
        await purge_forever(run_once, 3600.0, sleep=no_wait)
    assert passes == ["run", "run"]
    assert [e for e in entries if e["event"] == "retention_failed"] == [
        {"event": "retention_failed", "error_type": "RuntimeError", "log_level": "error"}
    ]
    _assert_no_personal_data(entries)


async def test_the_app_purges_at_start_up(config: Config, clock: ManualClock) -> None:
    """Started after three years, the app purges at once (then sleeps until the next run)."""
    line = Line(config, clock)
    await line.start()
    conversations: Conversations = line.app[keys.CONVERSATIONS]
    contact, _, _ = await conversations.sms_received(OLD, WORDS["old_in"])
    await conversations.caller_end(contact.id)
    await line.stop()
    clock.advance(days=DAYS + 1)
    with capture_logs() as entries:
        await line.start()
        try:
            db = line.app[keys.DATABASE]
            # The pass runs in the background; its log line comes last (after the checkpoint).
            for _ in range(500):
                if any(e["event"] == "retention_purged" for e in entries):
                    break
                await asyncio.sleep(0.01)
            assert (
                await db.fetchval(
                    "SELECT COUNT(*) FROM messages WHERE contact_id = ?", (contact.id,)
                )
                == 0
            )
            assert (
                await db.fetchval(
                    "SELECT caller_number_enc FROM contacts WHERE id = ?", (contact.id,)
                )
                is None
            )
            [row] = await db.fetchall(
                "SELECT actor, purpose FROM audit_log WHERE action = 'retention.purged'"
            )
            assert (row["actor"], row["purpose"]) == ("system", "scheduled")
        finally:
            await line.stop()
    assert any(e["event"] == "retention_purged" for e in entries)
    _assert_no_personal_data(entries)


def _config(history: History) -> Config:
    return load_config(DEFAULT_CONFIG, environ={"HOTLINE_DATA_DIR": str(history.path.parent)})


# -- the command -----------------------------------------------------------------------------

KEY = base64.b64encode(b"r" * 32).decode()
LONG_AGO = datetime(2020, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def cli_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Config]:
    """A data dir with one text from 2020 (a person who left), for the command to judge."""
    data = tmp_path / "var"
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(data))
    monkeypatch.setenv("HOTLINE_DATA_KEY", KEY)
    config = load_config(DEFAULT_CONFIG, environ=dict(os.environ))

    async def make() -> None:
        cipher = data_cipher(config)
        db = await Database.open(config.data_dir / DB_FILE, ManualClock(LONG_AGO))
        try:
            await verify_data_key(db, cipher)  # seals the canary, as the first start does
            conversations = Conversations(db, cipher, config, Counsellors(db))
            contact, _, _ = await conversations.sms_received(OLD, WORDS["old_in"])
            await conversations.caller_end(contact.id)
        finally:
            await db.close()

    asyncio.run(make())
    yield config
    structlog.reset_defaults()  # main() configures logging to the captured stdout


def _hotline(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["--config", str(DEFAULT_CONFIG), "retention", "run", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_shows_then_purges_then_finds_nothing(
    cli_data: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run counts and changes nothing; the run purges the same; again finds nothing."""
    at = "2024-01-01T00:00:00Z"
    status, out, _ = _hotline(capsys, "--dry-run", "--at", at, "--json")
    assert status == 0
    planned = json.loads(out)
    assert planned["dry_run"] is True and planned["purged"] is False
    assert planned["cutoff"] == to_iso(datetime(2021, 1, 1, tzinfo=UTC))
    assert planned["counts"]["messages"] == 1 and planned["counts"]["caller_numbers"] == 1
    status, out, _ = _hotline(capsys, "--dry-run", "--at", at, "--json")
    assert json.loads(out)["counts"] == planned["counts"], "the dry run changed nothing"

    status, out, _ = _hotline(capsys, "--at", at)
    assert status == 0
    assert "purged:" in out and "2021-01-01 08:00:00+08:00" in out
    assert [
        line.split()[:2] for line in out.splitlines() if line.strip().startswith("messages")
    ] == [["messages", "1"]]
    assert OLD not in out and WORDS["old_in"] not in out

    status, out, _ = _hotline(capsys, "--json")
    assert status == 0 and json.loads(out)["total"] == 0

    async def check() -> None:
        db = await Database.open(cli_data.data_dir / DB_FILE, ManualClock(LONG_AGO))
        try:
            assert await db.fetchval("SELECT COUNT(*) FROM messages") == 0
            rows = await db.fetchall(
                "SELECT actor, purpose FROM audit_log WHERE action = 'retention.purged'"
            )
            assert [(r["actor"], r["purpose"]) for r in rows] == [("admin", "manual")] * 2
            assert (await verify(db)).intact
        finally:
            await db.close()

    asyncio.run(check())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "2999-01-01T00:00:00Z"], "in the future"),
        (["--at", "next tuesday"], "ISO 8601"),
    ],
)
def test_the_command_refuses_a_future_or_unreadable_instant(
    cli_data: Config, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """A real run may not judge from the future (it would purge young records); an
    unreadable instant is a usage error; both exit 2 and purge nothing."""
    status, _, err = _hotline(capsys, *args)
    assert status == 2 and message in err
    status, out, _ = _hotline(capsys, "--dry-run", "--at", "2999-01-01T00:00:00Z", "--json")
    assert status == 0 and json.loads(out)["counts"]["messages"] == 1


def test_the_command_exits_2_on_a_wrong_key(
    cli_data: Config, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key that does not open the data is a configuration error, as for every command."""
    monkeypatch.setenv("HOTLINE_DATA_KEY", base64.b64encode(b"x" * 32).decode())
    status, _, err = _hotline(capsys, "--dry-run")
    assert status == 2 and "configuration error" in err
