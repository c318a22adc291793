"""The incident desk: declaring an incident from a plan, running it, standing it down.

Declaring is one transaction: the incident with its plan frozen, one mobilisation dispatch per
team (paged through the dispatch desk like any dispatch, with its escalation), the checklist
with its deadlines, the first situation-report reminder, and the hotline's surge mode. A
restart therefore finds either all of it or none of it. Deadlines, reminders and rest
reminders are durable timers, fired by the application's timer loop.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from dispatch.desk import DispatchDesk
from dispatch.followups.cases import CaseSource, NewCase, Owner
from dispatch.followups.service import FollowUps, parse_phone_number
from dispatch.incidents.plans import Plans, plan_from_json, plan_to_json
from dispatch.incidents.records import (
    AffectedPerson,
    Exposure,
    Incident,
    IncidentState,
)
from dispatch.incidents.report import build_report, write_report
from dispatch.lifecycle import DispatchState
from dispatch.replies import Reply, ReplyAction
from dispatch.rosters import on_call
from hotline.clock import from_iso, to_iso
from hotline.config import Config
from hotline.crypto import FieldCipher
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.risk import RiskLevel
from hotline.store import timers
from hotline.store.database import Database, Transaction
from hotline.surge import SurgeMode, end_surge, start_surge
from hotline.users import Role, User

log = structlog.get_logger(__name__)

CHECKLIST_TIMER = "incident.checklist"
SITREP_TIMER = "incident.sitrep"
REST_TIMER = "incident.rest"
TIMER_KINDS = (CHECKLIST_TIMER, SITREP_TIMER, REST_TIMER)
DECLARE_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})
INCIDENT_ROLES = frozenset({Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN})
MAX_TEXT_CHARS = 2000
MOBILISATION = "mobilisation"
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCEPTED_STATES = frozenset(
    {DispatchState.ACCEPTED, DispatchState.EN_ROUTE, DispatchState.ON_SCENE, DispatchState.RESOLVED}
)


class IncidentDesk:
    """Live incidents: mobilisation, checklist, reports, registry, welfare, stand-down."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        config: Config,
        plans: Plans,
        desk: DispatchDesk,
        followups: FollowUps,
    ) -> None:
        self.db = db
        self.config = config
        self.plans = plans
        self.desk = desk
        self.followups = followups
        self._cipher = cipher

    # -- declaring -------------------------------------------------------------------------

    async def declare(
        self, actor: User, plan_id: object, districts: object, description: object = ""
    ) -> Incident:
        """Turn a plan into a live incident: teams paged, checklist started, surge on."""
        if actor.role not in DECLARE_ROLES:
            raise Forbidden("coordinators declare incidents", code="forbidden")
        plan = self.plans.get(plan_id) if isinstance(plan_id, str) else None
        if plan is None:
            known = ", ".join(p.id for p in self.plans)
            raise InvalidInput(f"choose a plan: {known}", code="unknown_plan", field="plan")
        chosen = self._districts(districts)
        text = _text(description, "description")
        who = f"user:{actor.id}"
        async with self.db.transaction() as tx:
            if await tx.fetchval("SELECT id FROM incidents WHERE state = 'active'") is not None:
                raise Conflict(
                    "an incident is already active: stand it down first", code="incident_active"
                )
            now = tx.clock.now()
            incident_id = await tx.fetchval(
                "INSERT INTO incidents (plan_id, plan, kind, districts, state, declared_by,"
                " declared_at, next_sitrep_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)"
                " RETURNING id",
                (
                    plan.id,
                    json.dumps(plan_to_json(plan), ensure_ascii=False),
                    plan.kind.value,
                    json.dumps(chosen),
                    who,
                    to_iso(now),
                    to_iso(now + plan.sitrep_every),
                ),
            )
            incident_id = int(incident_id)
            subject = _subject(incident_id)
            if text:
                await tx.execute(
                    "UPDATE incidents SET description_enc = ? WHERE id = ?",
                    (self._cipher.seal(text, f"incidents.description:{incident_id}"), incident_id),
                )
            await tx.append_event(
                "incident.declared",
                subject,
                who,
                {"plan": plan.id, "kind": plan.kind.value, "districts": list(chosen)},
            )
            for team_id in plan.teams_for(chosen, self.desk.dispatch_config):
                team = self.desk.dispatch_config.teams.get(team_id)
                assert team is not None  # the plan was validated against the teams
                dispatch_id = await self.desk.request_in(
                    tx,
                    actor=who,
                    risk=plan.page_risk,
                    summary=plan.name_zh,
                    team_id=team_id,
                    district_id=team.district_id or chosen[0],
                    kind=MOBILISATION,
                )
                await tx.execute(
                    "INSERT INTO incident_teams (incident_id, team_id, dispatch_id)"
                    " VALUES (?, ?, ?)",
                    (incident_id, team_id, dispatch_id),
                )
            for step in plan.checklist:
                due = now + step.due
                await tx.execute(
                    "INSERT INTO incident_checklist (incident_id, step_id, due_at)"
                    " VALUES (?, ?, ?)",
                    (incident_id, step.id, to_iso(due)),
                )
                await timers.schedule(tx, CHECKLIST_TIMER, subject, due, {"step": step.id})
            await timers.schedule(
                tx,
                SITREP_TIMER,
                subject,
                now + plan.sitrep_every,
                {"due": to_iso(now + plan.sitrep_every)},
            )
            await self._queue_callins(
                tx, incident_id, plan.surge.reserve_team, plan.surge.reserve_count
            )
            surge = plan.surge
            await start_surge(
                tx,
                SurgeMode(
                    incident_id=incident_id,
                    ivr_announcement_zh=surge.ivr_announcement_zh,
                    ivr_announcement_en=surge.ivr_announcement_en,
                    chat_announcement_zh=surge.chat_announcement_zh,
                    chat_announcement_en=surge.chat_announcement_en,
                    affected_question_zh=surge.affected_question_zh,
                    affected_question_en=surge.affected_question_en,
                    affected_min_risk=surge.affected_min_risk,
                ),
            )
            incident = await self._load(tx, incident_id)
        self.desk.pager.wake()
        log.info("incident_declared", incident_id=incident.id, plan=plan.id)
        await self.send_callins()
        return incident

    # -- calling in the reserve ------------------------------------------------------------

    async def _queue_callins(
        self, tx: Transaction, incident_id: int, team_id: str | None, count: int
    ) -> None:
        """Pick the reserve counsellors to call in, starting with the reserve roster's
        current primary, and queue one text each (sent after the commit)."""
        team = self.desk.dispatch_config.teams.get(team_id) if team_id else None
        if team is None or count == 0:
            return
        members = [m.id for m in team.members]
        first = on_call(team.roster, tx.clock.now()).primary
        if first in members:
            start = members.index(first)
            members = members[start:] + members[:start]
        for member_id in members[:count]:
            phone = await self.desk.store.phone(team.id, member_id)
            if phone is None:
                continue
            await tx.execute(
                "INSERT INTO incident_callins (incident_id, team_id, member_id, code,"
                " recipient_hash, status) VALUES (?, ?, ?, ?, ?, 'pending')",
                (
                    incident_id,
                    team.id,
                    member_id,
                    await self.desk.new_code(tx),
                    self._cipher.keyed_hash(phone),
                ),
            )
        await tx.append_event(
            "incident.reserve_called",
            _subject(incident_id),
            "system",
            {"team": team.id, "count": min(count, len(members))},
        )

    async def send_callins(self) -> int:
        """Text every queued call-in (again after a restart); returns how many were tried."""
        rows = await self.db.fetchall(
            "SELECT c.id, c.incident_id, c.team_id, c.member_id, c.code, i.plan, i.districts"
            " FROM incident_callins c JOIN incidents i ON i.id = c.incident_id"
            " WHERE c.status = 'pending' ORDER BY c.id"
        )
        paging = self.desk.dispatch_config.paging
        gateway = self.desk.pager.gateway
        for row in rows:
            status, sid = "failed", None
            phone = await self.desk.store.phone(row["team_id"], row["member_id"])
            if gateway is not None and phone is not None:
                plan = json.loads(row["plan"])
                names = [self._district_name(d) for d in json.loads(row["districts"])]
                body = paging.texts["callin_sms"].format(
                    code=row["code"], plan=plan["name_zh"], districts="、".join(names)
                )
                public = self.config.telephony.public_url
                try:
                    sid, status = await gateway.send_sms(
                        phone,
                        body,
                        f"{public}/twilio/incidents/callin-status?callin={row['id']}",
                        from_=paging.from_number,
                    )
                except Exception as exc:  # recorded on the call-in, never raised
                    log.warning("callin_failed", callin_id=row["id"], error_type=type(exc).__name__)
            async with self.db.transaction() as tx:
                await tx.execute(
                    "UPDATE incident_callins SET status = ?, provider_sid = ?, sent_at = ?"
                    " WHERE id = ?",
                    (status or "queued", sid, to_iso(tx.clock.now()), row["id"]),
                )
        return len(rows)

    async def callin_reply(self, tx: Transaction, reply: Reply, sender: str) -> str | None:
        """A reserve counsellor's answer to a call-in (hook on the dispatch desk): "1" coming,
        "ETA n" coming in n minutes, "2" cannot. None when the code is no call-in of theirs."""
        row = await tx.fetchone(
            "SELECT c.id, c.incident_id, c.member_id, c.code FROM incident_callins c"
            " JOIN incidents i ON i.id = c.incident_id WHERE c.code = ? AND c.recipient_hash = ?"
            " ORDER BY c.id DESC LIMIT 1",
            (reply.code, sender),
        )
        if row is None:
            return None
        texts = self.desk.dispatch_config.paging.texts
        answer = "cannot" if reply.action is ReplyAction.DECLINE else "coming"
        await tx.execute(
            "UPDATE incident_callins SET answer = ?, eta_minutes = ?, answered_at = ? WHERE id = ?",
            (answer, reply.minutes, to_iso(tx.clock.now()), row["id"]),
        )
        await tx.append_event(
            "incident.reserve_answered",
            _subject(row["incident_id"]),
            f"member:{row['member_id']}",
            {"member": row["member_id"], "answer": answer, "eta_minutes": reply.minutes},
        )
        return texts[f"callin_{answer}"].format(code=row["code"])

    async def callin_delivery(self, callin_id: int, status: str) -> bool:
        """The provider's word on a call-in text; False for an unknown one."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE incident_callins SET status = ? WHERE id = ?", (status, callin_id)
            )
            return bool(cursor.rowcount)

    # -- running ---------------------------------------------------------------------------

    async def complete_step(self, incident_id: int, step_id: object, actor: User) -> None:
        """Tick a checklist step (once)."""
        self._require(actor)
        async with self.db.transaction() as tx:
            await self._active(tx, incident_id)
            cursor = await tx.execute(
                "UPDATE incident_checklist SET done_at = ?, done_by = ?"
                " WHERE incident_id = ? AND step_id = ? AND done_at IS NULL",
                (to_iso(tx.clock.now()), f"user:{actor.id}", incident_id, step_id),
            )
            if not cursor.rowcount:
                raise InvalidInput("no such open step", code="unknown_step", field="step")
            await tx.append_event(
                "incident.step_done", _subject(incident_id), f"user:{actor.id}", {"step": step_id}
            )

    async def add_sitrep(self, incident_id: int, actor: User, body: object) -> None:
        """File a situation report; the next one is due an interval from now."""
        self._require(actor)
        text = _text(body, "body")
        if not text:
            raise InvalidInput("write the situation report", code="empty", field="body")
        async with self.db.transaction() as tx:
            incident = await self._active(tx, incident_id)
            now = tx.clock.now()
            # Sealed bound to its own id: the row is written first with an empty value.
            sitrep_id = await tx.fetchval(
                "INSERT INTO incident_sitreps (incident_id, author, body_enc, at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (incident_id, f"user:{actor.id}", b"", to_iso(now)),
            )
            await tx.execute(
                "UPDATE incident_sitreps SET body_enc = ? WHERE id = ?",
                (self._cipher.seal(text, f"incident_sitreps.body:{sitrep_id}"), sitrep_id),
            )
            due = now + incident.plan.sitrep_every
            await tx.execute(
                "UPDATE incidents SET next_sitrep_at = ? WHERE id = ?", (to_iso(due), incident_id)
            )
            await timers.cancel(tx, SITREP_TIMER, _subject(incident_id))
            await timers.schedule(
                tx, SITREP_TIMER, _subject(incident_id), due, {"due": to_iso(due)}
            )
            await tx.append_event(
                "incident.sitrep_filed",
                _subject(incident_id),
                f"user:{actor.id}",
                {"next_due_at": to_iso(due)},
            )

    async def register(
        self,
        incident_id: int,
        actor: User,
        *,
        district: object,
        tier: object,
        exposures: object = (),
        risk: object = RiskLevel.NONE.value,
        name: object = None,
        phone: object = None,
        owner: Owner | None = None,
    ) -> AffectedPerson:
        """Add a person to the registry; a tier that opens cases, or high risk, opens a
        follow-up case with the tier's schedule in the same transaction."""
        self._require(actor)
        district_id = self._districts([district])[0]
        tier_number = tier if isinstance(tier, int) and not isinstance(tier, bool) else None
        if tier_number not in range(1, 5):
            raise InvalidInput("choose a tier, 1 to 4", code="invalid_tier", field="tier")
        assert tier_number is not None
        if not isinstance(exposures, list | tuple):
            raise InvalidInput("exposures must be a list", field="exposures")
        try:
            factors = tuple(dict.fromkeys(Exposure(e) for e in exposures))
        except ValueError:
            known = ", ".join(e.value for e in Exposure)
            raise InvalidInput(
                f"unknown exposure; use: {known}", code="invalid_exposure", field="exposures"
            ) from None
        try:
            level = RiskLevel(str(risk))
        except ValueError:
            raise InvalidInput("choose a risk level", code="invalid_risk", field="risk") from None
        number = parse_phone_number(phone) if phone not in (None, "") else None
        person_name = _text(name, "name")[:80] or None
        owner = owner or Owner(team_id=self.desk.dispatch_config.teams.for_district(district_id).id)
        who = f"user:{actor.id}"
        async with self.db.transaction() as tx:
            incident = await self._active(tx, incident_id)
            tier_plan = incident.plan.tiers[tier_number]
            pseudonym = await self._pseudonym(tx)
            person_id = await tx.fetchval(
                "INSERT INTO affected_people (incident_id, pseudonym, district, tier, exposures,"
                " risk, owner_user_id, owner_team_id, registered_by, registered_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    incident_id,
                    pseudonym,
                    district_id,
                    tier_number,
                    json.dumps([f.value for f in factors]),
                    level.value,
                    owner.user_id,
                    owner.team_id,
                    who,
                    to_iso(tx.clock.now()),
                ),
            )
            person_id = int(person_id)
            await tx.execute(
                "UPDATE affected_people SET name_enc = ?, phone_enc = ? WHERE id = ?",
                (
                    self._cipher.seal_optional(person_name, f"affected_people.name:{person_id}"),
                    self._cipher.seal_optional(number, f"affected_people.phone:{person_id}"),
                    person_id,
                ),
            )
            case_id = None
            if tier_plan.opens_case or level.rank >= RiskLevel.HIGH.rank:
                case = await self.followups.open_in(
                    tx,
                    NewCase(
                        source=CaseSource.INCIDENT,
                        risk=level,
                        lang=self.config.ui.language,
                        owner=owner,
                        opened_by=who,
                        district=district_id,
                        phone=number,
                        name=person_name,
                        schedule=tier_plan.schedule if tier_plan.opens_case else None,
                    ),
                )
                case_id = case.id
                await tx.execute(
                    "UPDATE affected_people SET case_id = ? WHERE id = ?", (case_id, person_id)
                )
            await tx.append_event(
                "incident.person_registered",
                _subject(incident_id),
                who,
                {
                    "person_id": person_id,
                    "tier": tier_number,
                    "risk": level.value,
                    "district": district_id,
                    "exposures": [f.value for f in factors],
                    "case_id": case_id,
                },
            )
            return await self._person(tx, person_id)

    async def log_group_session(
        self,
        incident_id: int,
        actor: User,
        *,
        district: object,
        kind: object,
        participants: object,
        note: object = "",
    ) -> int:
        """Record a group session (a debriefing, a psychoeducation talk)."""
        self._require(actor)
        district_id = self._districts([district])[0]
        if kind not in ("debriefing", "psychoeducation", "support_group"):
            raise InvalidInput("kind is debriefing, psychoeducation or support_group", field="kind")
        if not isinstance(participants, int) or isinstance(participants, bool) or participants < 1:
            raise InvalidInput("participants must be a whole number above 0", field="participants")
        text = _text(note, "note")
        async with self.db.transaction() as tx:
            await self._active(tx, incident_id)
            session_id = await tx.fetchval(
                "INSERT INTO group_sessions (incident_id, district, kind, participants, led_by, at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    incident_id,
                    district_id,
                    kind,
                    participants,
                    f"user:{actor.id}",
                    to_iso(tx.clock.now()),
                ),
            )
            session_id = int(session_id)
            if text:
                await tx.execute(
                    "UPDATE group_sessions SET note_enc = ? WHERE id = ?",
                    (self._cipher.seal(text, f"group_sessions.note:{session_id}"), session_id),
                )
            await tx.append_event(
                "incident.group_session",
                _subject(incident_id),
                f"user:{actor.id}",
                {"district": district_id, "kind": kind, "participants": participants},
            )
            return session_id

    async def start_duty(self, incident_id: int, responder: str, actor: str) -> None:
        """A responder (team member id) goes on duty; a rest reminder is armed."""
        async with self.db.transaction() as tx:
            await self._start_duty(tx, await self._active(tx, incident_id), responder, actor)

    async def end_duty(self, incident_id: int, responder: str, actor: User) -> None:
        """A responder goes off duty (rests)."""
        self._require(actor)
        async with self.db.transaction() as tx:
            await self._active(tx, incident_id)
            cursor = await tx.execute(
                "UPDATE incident_duty SET ended_at = ? WHERE incident_id = ? AND responder = ?"
                " AND ended_at IS NULL",
                (to_iso(tx.clock.now()), incident_id, responder),
            )
            if not cursor.rowcount:
                raise InvalidInput("that responder is not on duty", field="responder")
            await tx.append_event(
                "incident.duty_ended",
                _subject(incident_id),
                f"user:{actor.id}",
                {"responder": responder},
            )

    async def _start_duty(
        self, tx: Transaction, incident: Incident, responder: str, actor: str
    ) -> bool:
        if await tx.fetchval(
            "SELECT 1 FROM incident_duty WHERE incident_id = ? AND responder = ?"
            " AND ended_at IS NULL",
            (incident.id, responder),
        ):
            return False
        now = tx.clock.now()
        duty_id = await tx.fetchval(
            "INSERT INTO incident_duty (incident_id, responder, started_at) VALUES (?, ?, ?)"
            " RETURNING id",
            (incident.id, responder, to_iso(now)),
        )
        await timers.schedule(
            tx,
            REST_TIMER,
            _subject(incident.id),
            now + incident.plan.rest_after,
            {"duty_id": int(duty_id), "responder": responder},
        )
        await tx.append_event(
            "incident.duty_started", _subject(incident.id), actor, {"responder": responder}
        )
        return True

    # -- the clock -------------------------------------------------------------------------

    async def fire_due(self) -> int:
        """Checklist deadlines, situation-report and rest reminders; responders who accepted
        a mobilisation go on duty."""
        fired = 0
        async with self.db.transaction() as tx:
            now = tx.clock.now()
            for timer in await timers.claim_due(tx, CHECKLIST_TIMER, now, 200):
                fired += await self._step_overdue(tx, timer)
            for timer in await timers.claim_due(tx, SITREP_TIMER, now, 50):
                fired += await self._sitrep_due(tx, timer)
            for timer in await timers.claim_due(tx, REST_TIMER, now, 200):
                fired += await self._rest_due(tx, timer)
            fired += await self._duty_from_acceptances(tx)
        await self.send_callins()
        return fired

    async def next_timer_due(self) -> datetime | None:
        """The earliest pending incident timer."""
        dues = [await timers.next_due(self.db, kind) for kind in TIMER_KINDS]
        return min((d for d in dues if d is not None), default=None)

    async def _step_overdue(self, tx: Transaction, timer: timers.Timer) -> int:
        incident_id = _incident_id(timer.subject)
        step = timer.data.get("step")
        cursor = await tx.execute(
            "UPDATE incident_checklist SET overdue_alarmed_at = ? WHERE incident_id = ?"
            " AND step_id = ? AND done_at IS NULL AND overdue_alarmed_at IS NULL",
            (to_iso(tx.clock.now()), incident_id, step),
        )
        if not cursor.rowcount:
            return 0
        await tx.append_event("incident.step_overdue", timer.subject, "system", {"step": step})
        return 1

    async def _sitrep_due(self, tx: Transaction, timer: timers.Timer) -> int:
        incident = await self._load(tx, _incident_id(timer.subject))
        if incident.state is not IncidentState.ACTIVE:
            return 0
        await tx.append_event(
            "incident.sitrep_due", timer.subject, "system", {"due_at": timer.data.get("due")}
        )
        # Remind again an interval later if nobody files one (filing re-arms the timer).
        due = tx.clock.now() + incident.plan.sitrep_every
        await timers.schedule(tx, SITREP_TIMER, timer.subject, due, {"due": to_iso(due)})
        return 1

    async def _rest_due(self, tx: Transaction, timer: timers.Timer) -> int:
        duty_id = timer.data.get("duty_id")
        cursor = await tx.execute(
            "UPDATE incident_duty SET rest_reminded_at = ? WHERE id = ? AND ended_at IS NULL",
            (to_iso(tx.clock.now()), duty_id),
        )
        if not cursor.rowcount:
            return 0
        await tx.append_event(
            "incident.rest_due",
            timer.subject,
            "system",
            {"responder": timer.data.get("responder")},
        )
        return 1

    async def _duty_from_acceptances(self, tx: Transaction) -> int:
        rows = await tx.fetchall(
            "SELECT i.id AS incident_id, d.accepted_member FROM incidents i"
            " JOIN incident_teams t ON t.incident_id = i.id"
            " JOIN dispatches d ON d.id = t.dispatch_id"
            " WHERE i.state = 'active' AND d.accepted_member IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM incident_duty u WHERE u.incident_id = i.id"
            " AND u.responder = d.accepted_member)"
        )
        started = 0
        for row in rows:
            incident = await self._load(tx, row["incident_id"])
            started += await self._start_duty(tx, incident, row["accepted_member"], "system")
        return started

    # -- standing down ---------------------------------------------------------------------

    async def stand_down(self, incident_id: int, actor: User) -> Incident:
        """Close the incident: surge off, reminders stopped, unanswered mobilisations
        cancelled; the after-action report is written by the caller (see report.py)."""
        if actor.role not in DECLARE_ROLES:
            raise Forbidden("coordinators stand incidents down", code="forbidden")
        who = f"user:{actor.id}"
        async with self.db.transaction() as tx:
            await self._active(tx, incident_id)
            now = tx.clock.now()
            await tx.execute(
                "UPDATE incidents SET state = 'stood_down', stood_down_by = ?, stood_down_at = ?,"
                " next_sitrep_at = NULL WHERE id = ?",
                (who, to_iso(now), incident_id),
            )
            await tx.execute(
                "UPDATE incident_duty SET ended_at = ? WHERE incident_id = ? AND ended_at IS NULL",
                (to_iso(now), incident_id),
            )
            for kind in TIMER_KINDS:
                await timers.cancel(tx, kind, _subject(incident_id))
            await end_surge(tx, incident_id)
            await tx.append_event("incident.stood_down", _subject(incident_id), who, {})
            open_dispatches = await self._mobilisations(tx, incident_id)
        for dispatch_id, state in open_dispatches:
            if state.awaiting_acceptance:
                await self.desk.cancel(dispatch_id, who, "事件已解除 / incident stood down")
        incident = await self.get(incident_id)
        path = write_report(self.config.data_dir, await self.report(incident))
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE incidents SET report_path = ? WHERE id = ?", (str(path), incident_id)
            )
            await tx.append_event(
                "incident.report_written", _subject(incident_id), "system", {"file": path.name}
            )
        log.info("incident_stood_down", incident_id=incident_id)
        return await self.get(incident_id)

    async def report(self, incident: Incident) -> dict[str, Any]:
        """The after-action report's contents (also while the incident runs: a draft)."""
        return await build_report(self.db, incident, ZoneInfo(self.config.time_zone))

    # -- reading ---------------------------------------------------------------------------

    async def get(self, incident_id: int) -> Incident:
        """An incident by id."""
        async with self.db.transaction() as tx:
            return await self._load(tx, incident_id)

    async def active(self) -> Incident | None:
        """The incident in force, if any."""
        value = await self.db.fetchval("SELECT id FROM incidents WHERE state = 'active'")
        return None if value is None else await self.get(int(value))

    async def description(self, incident_id: int) -> str:
        """The declared description, opened."""
        sealed = await self.db.fetchval(
            "SELECT description_enc FROM incidents WHERE id = ?", (incident_id,)
        )
        return self._cipher.open_optional(sealed, f"incidents.description:{incident_id}")

    async def _mobilisations(
        self, tx: Transaction, incident_id: int
    ) -> list[tuple[int, DispatchState]]:
        rows = await tx.fetchall(
            "SELECT d.id, d.state FROM incident_teams t JOIN dispatches d ON d.id = t.dispatch_id"
            " WHERE t.incident_id = ?",
            (incident_id,),
        )
        return [(r["id"], DispatchState(r["state"])) for r in rows]

    # -- internals -------------------------------------------------------------------------

    async def _load(self, tx: Transaction, incident_id: int) -> Incident:
        row = await tx.fetchone("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist")
        return Incident(
            id=row["id"],
            plan=plan_from_json(json.loads(row["plan"])),
            districts=tuple(json.loads(row["districts"])),
            state=IncidentState(row["state"]),
            declared_by=row["declared_by"],
            declared_at=from_iso(row["declared_at"]),
            stood_down_by=row["stood_down_by"],
            stood_down_at=from_iso(row["stood_down_at"]) if row["stood_down_at"] else None,
            next_sitrep_at=from_iso(row["next_sitrep_at"]) if row["next_sitrep_at"] else None,
            report_path=row["report_path"],
        )

    async def _active(self, tx: Transaction, incident_id: int) -> Incident:
        incident = await self._load(tx, incident_id)
        if incident.state is not IncidentState.ACTIVE:
            raise Conflict("this incident has been stood down", code="stood_down")
        return incident

    async def _person(self, tx: Transaction, person_id: int) -> AffectedPerson:
        row = await tx.fetchone("SELECT * FROM affected_people WHERE id = ?", (person_id,))
        assert row is not None
        return AffectedPerson(
            id=row["id"],
            incident_id=row["incident_id"],
            pseudonym=row["pseudonym"],
            district=row["district"],
            tier=row["tier"],
            exposures=tuple(Exposure(e) for e in json.loads(row["exposures"])),
            risk=RiskLevel(row["risk"]),
            owner_user_id=row["owner_user_id"],
            owner_team_id=row["owner_team_id"],
            case_id=row["case_id"],
            registered_by=row["registered_by"],
            registered_at=from_iso(row["registered_at"]),
        )

    async def _pseudonym(self, tx: Transaction) -> str:
        while True:
            code = "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(5))
            if not await tx.fetchval("SELECT 1 FROM affected_people WHERE pseudonym = ?", (code,)):
                return code

    def _districts(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not value:
            raise InvalidInput(
                "choose at least one district", code="no_district", field="districts"
            )
        chosen: list[str] = []
        for item in value:
            if not isinstance(item, str) or self.config.district(item) is None:
                known = ", ".join(d.id for d in self.config.districts)
                raise InvalidInput(
                    f"unknown district {item!r}; choose from: {known}",
                    code="unknown_district",
                    field="districts",
                )
            chosen.append(item)
        return tuple(dict.fromkeys(chosen))

    def _district_name(self, district_id: str) -> str:
        district = self.config.district(district_id)
        return district.name_zh if district else district_id

    @staticmethod
    def _require(actor: User) -> None:
        if actor.role not in INCIDENT_ROLES:
            raise Forbidden(
                "the incident board is for coordinators and supervisors", code="forbidden"
            )


def _subject(incident_id: int) -> str:
    return f"incident:{incident_id}"


def _incident_id(subject: str) -> int:
    return int(subject.split(":", 1)[1])


def _text(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"{field} is limited to {MAX_TEXT_CHARS} characters", code="too_long", field=field
        )
    return value.strip()


def accepted(state: DispatchState) -> bool:
    """Whether a mobilised team has accepted (and is on its way or there)."""
    return state in ACCEPTED_STATES
