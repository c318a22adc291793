"""The follow-up service: opening cases, recording attempts, alarms, caring texts, closing.

Every method is one transaction that appends an event (`followup.*`, subject
`followup:<id>`); live pages learn of changes from the bus. Alarms and caring texts are
durable timers, so a restart neither loses nor repeats one. Hotline code reaches this service
only through the hooks the application sets on `Conversations` (`on_wrap_up`,
`on_contact_started`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from dispatch.followups.cases import (
    Case,
    CaseSource,
    CaseState,
    Flag,
    LinkKind,
    NewCase,
    Outcome,
    Owner,
)
from dispatch.followups.schedule import (
    Due,
    next_due,
    points,
    points_done_after_reaching,
)
from dispatch.followups.settings import FollowUpSettings
from dispatch.followups.store import CaseRepository, offsets_json
from dispatch.teams import TeamKind, Teams
from hotline import audit
from hotline.clock import to_iso
from hotline.config import Config
from hotline.contacts import Channel, Contact, FollowUpRequest
from hotline.crypto import FieldCipher
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.risk import RiskLevel
from hotline.store import timers
from hotline.store.contacts import ContactRepository
from hotline.store.database import Database, Transaction
from hotline.users import Role, User

log = structlog.get_logger(__name__)

OVERDUE_TIMER = "followup.overdue"
CARING_TIMER = "followup.caring"
MAX_NOTE_CHARS = 2000
MAX_NAME_CHARS = 80
# Unambiguous letters and digits (no 0/O, 1/I/L): a pseudonym is read aloud and typed at 3 a.m.
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
OVERSIGHT_ROLES = frozenset({Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN})

# Opens a dispatch inside the caller's transaction; returns its id (DispatchDesk.request_in).
DispatchOpener = Callable[..., Awaitable[int]]


class TextSender(Protocol):
    """What caring texts need of the telephony gateway (TwilioGateway has it)."""

    def url(self, path: str) -> str: ...

    async def send_sms(
        self, to: str, body: str, status_callback: str, *, from_: str | None = None
    ) -> tuple[str, str]: ...


@dataclass(frozen=True)
class AttemptResult:
    """The case after an attempt, and whether the fresh assessment raised its risk."""

    case: Case
    risk_rose: bool


def parse_phone_number(value: object, field: str = "phone") -> str:
    """A number as E.164 (+ and 8 to 16 digits, spaces and dashes ignored)."""
    if not isinstance(value, str):
        raise InvalidInput(
            "enter a phone number like +8613800000000", code="invalid_phone", field=field
        )
    number = value.replace(" ", "").replace("-", "")
    if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
        raise InvalidInput(
            "enter a phone number like +8613800000000", code="invalid_phone", field=field
        )
    return number


class FollowUps:
    """Cases of people at risk, from opening to a reasoned close."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        config: Config,
        settings: FollowUpSettings,
        teams: Teams,
        *,
        sender: TextSender | None = None,
        caring_from: str | None = None,
        open_dispatch: DispatchOpener | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.settings = settings
        self.teams = teams
        self.cases = CaseRepository(db, cipher)
        self._contacts = ContactRepository(db, cipher)
        self._cipher = cipher
        self._sender = sender
        self._caring_from = caring_from
        self._open_dispatch = open_dispatch
        self._zone = ZoneInfo(config.time_zone)

    # -- opening ---------------------------------------------------------------------------

    async def open_in(self, tx: Transaction, new: NewCase) -> Case:
        """Open a case inside the caller's transaction (a wrap-up, the registry, a form)."""
        self._check_new(new)
        await self._check_owner(tx, new.owner)
        phone_hash = self._cipher.keyed_hash(new.phone) if new.phone else None
        case_id = await self.cases.insert(
            tx,
            new,
            pseudonym=await self._new_pseudonym(tx),
            offsets=new.schedule or self.settings.schedules[new.risk],
            phone_hash=phone_hash,
        )
        if new.contact_id is not None:
            await self.cases.link(tx, case_id, new.contact_id, LinkKind.ORIGIN)
        case = await self._load(tx, case_id)
        if new.grade is not None:
            case = await self._flag_referral_if_due(tx, case, new.opened_by)
        due = await self._set_due(tx, case)
        if case.caring_sms and case.has_phone:
            await timers.schedule(
                tx,
                CARING_TIMER,
                _subject(case_id),
                case.opened_at + self.settings.caring_schedule[0],
                {"seq": 0},
            )
        await tx.append_event(
            "followup.opened",
            _subject(case_id),
            new.opened_by,
            {
                "source": new.source.value,
                "risk": new.risk.value,
                "grade": new.grade,
                "district": new.district,
                "owner": new.owner.subject,
                "contact_id": new.contact_id,
                "caring": case.caring_sms,
                "next_due_at": to_iso(due.at),
            },
        )
        log.info("followup_opened", case_id=case_id, source=new.source.value, risk=new.risk.value)
        return await self._load(tx, case_id)

    async def open_case(self, new: NewCase, *, undecided_only: bool = False) -> Case:
        """Open a case in a transaction of its own (by hand, or from the incident registry);
        a contact it names gets its follow-up decision too. With `undecided_only`, a contact
        that already has a decision is refused (two supervisors deciding at once)."""
        async with self.db.transaction() as tx:
            case = await self.open_in(tx, new)
            if new.contact_id is not None:
                decided = await self.cases.decide(
                    tx, new.contact_id, case_id=case.id, reason=None, actor=new.opened_by
                )
                if not decided and undecided_only:
                    raise Conflict("this contact already has a follow-up decision", code="decided")
            return case

    async def on_wrap_up(self, tx: Transaction, request: FollowUpRequest) -> None:
        """A wrap-up's decision (hook set on Conversations): a case with consent, else the
        reason why none, recorded in the wrap-up's own transaction."""
        actor = f"user:{request.counsellor_id}"
        if not request.consent:
            await self.cases.decide(
                tx, request.contact_id, case_id=None, reason=request.reason or "other", actor=actor
            )
            return
        owner = (
            Owner(team_id=self.teams.for_district(request.owner_district).id)
            if request.owner_district
            else Owner(user_id=request.counsellor_id)
        )
        case = await self.open_in(
            tx,
            NewCase(
                source=CaseSource.WRAP_UP,
                risk=request.risk,
                lang=request.lang,
                owner=owner,
                opened_by=actor,
                district=request.district,
                phone=request.phone,
                person_hash=request.person_hash,
                caring=request.caring and request.phone is not None,
                contact_id=request.contact_id,
            ),
        )
        await self.cases.decide(tx, request.contact_id, case_id=case.id, reason=None, actor=actor)

    async def on_contact_started(self, tx: Transaction, contact: Contact) -> None:
        """A new contact from a person with an open case is linked to it (hook on
        Conversations): a reply to a caring text, or the person calling again."""
        person = await self.cases.contact_hash(tx, contact.id)
        if person is None:
            return
        for case in await self.cases.open_for_hash(tx, person):
            kind = (
                LinkKind.REPLY
                if contact.channel is Channel.SMS and case.caring_sent > 0
                else LinkKind.REPEAT
            )
            if await self.cases.link(tx, case.id, contact.id, kind):
                await tx.append_event(
                    "followup.contact_linked",
                    _subject(case.id),
                    "system",
                    {
                        "contact_id": contact.id,
                        "link": kind.value,
                        "channel": contact.channel.value,
                    },
                )

    async def open_from_contact(
        self,
        contact_id: int,
        actor: User,
        *,
        owner: Owner,
        caring: bool = False,
        phone: str | None = None,
    ) -> Case:
        """A supervisor's decision on a high-risk contact that ended without a wrap-up
        (abandoned, cut off): open a case from it, with its own number when it has one."""
        self._require_oversight(actor)
        contact = await self._contact(contact_id)
        number = phone or await self._contacts.caller_number(contact_id)
        return await self.open_case(
            NewCase(
                source=CaseSource.MANUAL,
                risk=max(contact.risk, RiskLevel.LOW, key=lambda r: r.rank),
                lang=contact.lang,
                owner=owner,
                opened_by=f"user:{actor.id}",
                district=contact.district,
                phone=number,
                person_hash=await self.cases.contact_hash(None, contact_id),
                caring=caring,
                contact_id=contact_id,
            ),
            undecided_only=True,
        )

    async def decide_no_case(self, contact_id: int, actor: User, reason: str) -> None:
        """A supervisor records why a high-risk contact gets no case."""
        self._require_oversight(actor)
        if reason not in {r.id for r in self.config.wrap_up.no_follow_up_reasons}:
            raise InvalidInput("choose a reason", code="invalid_reason", field="reason")
        await self._contact(contact_id)
        async with self.db.transaction() as tx:
            if not await self.cases.decide(
                tx, contact_id, case_id=None, reason=reason, actor=f"user:{actor.id}"
            ):
                raise Conflict("this contact already has a follow-up decision", code="decided")
            await tx.append_event(
                "followup.declined", f"contact:{contact_id}", f"user:{actor.id}", {"reason": reason}
            )

    # -- working a case --------------------------------------------------------------------

    async def record_attempt(
        self,
        case_id: int,
        actor: User,
        *,
        outcome: object,
        risk: object = None,
        grade: object = None,
        note: object = "",
    ) -> AttemptResult:
        """Record an attempt and its fresh assessment; reschedule, flag or re-anchor."""
        outcome_value = _enum(Outcome, outcome, "outcome", "choose how the attempt went")
        grade_value = _grade(grade)
        note_text = _note(note)
        async with self.db.transaction() as tx:
            case = await self._open_case_for(tx, case_id, actor)
            if risk is None or risk == "":
                if outcome_value is Outcome.REACHED:
                    raise InvalidInput(
                        "record the person's risk now", code="risk_required", field="risk"
                    )
                new_risk = case.risk
            else:
                new_risk = _enum(RiskLevel, risk, "risk", "choose a risk level")
            now = tx.clock.now()
            await self.cases.add_attempt(
                tx,
                case.id,
                actor.id,
                outcome_value,
                new_risk,
                grade_value,
                note_text,
                case.next_due_at,
            )
            columns: dict[str, Any] = {}
            flagged_now = False
            if outcome_value is Outcome.REACHED:
                columns.update(
                    failed_streak=0,
                    last_reached_at=now,
                    done_points=points_done_after_reaching(
                        case.anchor_at, case.offsets, case.done_points, now
                    ),
                )
                if case.flagged is Flag.FAILED_ATTEMPTS:
                    columns.update(flagged=None, flagged_at=None)
            else:
                streak = case.failed_streak + 1
                columns.update(failed_streak=streak, last_failed_at=now)
                if streak >= self.settings.flag_after_failed and case.flagged is None:
                    columns.update(flagged=Flag.FAILED_ATTEMPTS.value, flagged_at=now)
                    flagged_now = True
            rose = new_risk.rank > case.risk.rank
            if new_risk is not case.risk:
                # A new level brings its own schedule, counted from this assessment.
                columns.update(
                    risk=new_risk.value,
                    anchor_at=now,
                    schedule=offsets_json(self.settings.schedules[new_risk]),
                    done_points=0,
                )
            if grade_value is not None and grade_value != case.grade:
                columns.update(grade=grade_value, grade_at=now)
            await self.cases.update(tx, case.id, **columns)
            case = await self._load(tx, case.id)
            if grade_value is not None:
                case = await self._flag_referral_if_due(tx, case, f"user:{actor.id}")
            due = await self._set_due(tx, case)
            await tx.append_event(
                "followup.attempted",
                _subject(case.id),
                f"user:{actor.id}",
                {
                    "outcome": outcome_value.value,
                    "risk": new_risk.value,
                    "risk_rose": rose,
                    "grade": grade_value,
                    "failed_streak": case.failed_streak,
                    "next_due_at": to_iso(due.at),
                    "due_kind": due.kind.value,
                },
            )
            if flagged_now:
                await tx.append_event(
                    "followup.flagged",
                    _subject(case.id),
                    "system",
                    {"flag": Flag.FAILED_ATTEMPTS.value, "failed_streak": case.failed_streak},
                )
            return AttemptResult(await self._load(tx, case.id), rose)

    async def close(self, case_id: int, actor: User, reason: object, note: object = "") -> Case:
        """Close a case; only with a configured reason."""
        if not isinstance(reason, str) or self.settings.close_reason(reason) is None:
            raise InvalidInput(
                "a case closes only with a reason: choose one",
                code="close_reason_required",
                field="reason",
            )
        note_text = _note(note)
        async with self.db.transaction() as tx:
            case = await self._open_case_for(tx, case_id, actor)
            now = tx.clock.now()
            await self.cases.update(
                tx,
                case.id,
                state=CaseState.CLOSED.value,
                closed_at=now,
                close_reason=reason,
                next_due_at=None,
                overdue_stage=0,
            )
            if note_text:
                await self.cases.seal_close_note(tx, case.id, note_text)
            await timers.cancel(tx, OVERDUE_TIMER, _subject(case.id))
            await timers.cancel(tx, CARING_TIMER, _subject(case.id))
            await tx.append_event(
                "followup.closed", _subject(case.id), f"user:{actor.id}", {"reason": reason}
            )
            return await self._load(tx, case.id)

    async def reassign(self, case_id: int, actor: User, owner: Owner) -> Case:
        """Hand a case to another counsellor or a district team."""
        async with self.db.transaction() as tx:
            case = await self._open_case_for(tx, case_id, actor)
            await self._check_owner(tx, owner)
            if owner == case.owner:
                return case
            await self.cases.update(
                tx, case.id, owner_user_id=owner.user_id, owner_team_id=owner.team_id
            )
            await tx.append_event(
                "followup.reassigned",
                _subject(case.id),
                f"user:{actor.id}",
                {"from": case.owner.subject, "to": owner.subject},
            )
            return await self._load(tx, case.id)

    async def link_contact(self, case_id: int, contact_id: int, actor: User) -> None:
        """Link a contact to a case by hand (the person called from another number)."""
        await self._contact(contact_id)
        async with self.db.transaction() as tx:
            case = await self._open_case_for(tx, case_id, actor)
            if await self.cases.link(tx, case.id, contact_id, LinkKind.MANUAL):
                await tx.append_event(
                    "followup.contact_linked",
                    _subject(case.id),
                    f"user:{actor.id}",
                    {"contact_id": contact_id, "link": LinkKind.MANUAL.value},
                )

    async def request_dispatch(
        self, case_id: int, actor: User, *, risk: object, summary: object = ""
    ) -> int:
        """A rise in risk found on a follow-up: dispatch the district's team from the case."""
        if self._open_dispatch is None:
            raise Conflict("dispatch is not available", code="dispatch_unavailable")
        level = _enum(RiskLevel, risk, "risk", "choose a risk level")
        if not isinstance(summary, str):
            raise InvalidInput("the summary must be text", field="summary")
        async with self.db.transaction() as tx:
            case = await self._open_case_for(tx, case_id, actor)
            dispatch_id = await self._open_dispatch(
                tx,
                actor=f"user:{actor.id}",
                risk=level,
                summary=summary,
                district_id=case.district,
                contact_id=await self.cases.latest_contact(tx, case.id),
            )
            await tx.append_event(
                "followup.dispatch_requested",
                _subject(case.id),
                f"user:{actor.id}",
                {"dispatch_id": dispatch_id, "risk": level.value},
            )
            return dispatch_id

    async def contact_details(self, case_id: int, actor: User) -> dict[str, str | None]:
        """The case's number and name, for the person about to call; each read is audited."""
        async with self.db.transaction() as tx:
            case = await self._open_case_for(tx, case_id, actor, allow_closed=True)
            await tx.append_event(
                "audit.case_details_read",
                _subject(case.id),
                f"user:{actor.id}",
                {"purpose": "follow_up_call", "role": actor.role.value},
            )
            await audit.record(
                tx,
                actor=f"user:{actor.id}",
                action="case.details_read",
                subject=_subject(case.id),
                purpose="follow_up_call",
                data={"role": actor.role.value},
            )
        return {"phone": await self.cases.phone(case_id), "name": await self.cases.name(case_id)}

    async def notes_read(self, case_id: int, actor: User, notes: int) -> None:
        """Record that someone was shown a case's attempt notes (the case page shows them to
        whoever may see the case, so the next caller knows what was said)."""
        async with self.db.transaction() as tx:
            await audit.record(
                tx,
                actor=f"user:{actor.id}",
                action="case.notes_read",
                subject=_subject(case_id),
                purpose="case_page",
                data={"notes": notes, "role": actor.role.value},
            )

    # -- the clock: alarms and caring texts -------------------------------------------------

    async def fire_due(self) -> int:
        """Fire due overdue alarms and caring texts, then send queued caring texts."""
        fired = 0
        async with self.db.transaction() as tx:
            now = tx.clock.now()
            for timer in await timers.claim_due(tx, OVERDUE_TIMER, now, 200):
                fired += 1
                await self._overdue(tx, timer)
            for timer in await timers.claim_due(tx, CARING_TIMER, now, 200):
                fired += 1
                await self._caring_due(tx, timer)
        await self.send_pending_texts()
        return fired

    async def next_timer_due(self) -> datetime | None:
        """The earliest pending alarm or caring text."""
        dues = [await timers.next_due(self.db, k) for k in (OVERDUE_TIMER, CARING_TIMER)]
        return min((d for d in dues if d is not None), default=None)

    async def _overdue(self, tx: Transaction, timer: timers.Timer) -> None:
        case = await self.cases.load(tx, _case_id(timer.subject))
        stage = int(timer.data.get("stage", 1))
        if (
            case is None
            or case.state is not CaseState.OPEN
            or case.next_due_at is None
            or to_iso(case.next_due_at) != timer.data.get("due")
            or case.overdue_stage >= stage
        ):
            return  # a stale alarm: the due date moved or the case closed
        await self.cases.update(tx, case.id, overdue_stage=stage)
        await tx.append_event(
            "followup.overdue",
            _subject(case.id),
            "system",
            {
                "stage": "owner" if stage == 1 else "supervisor",
                "owner": case.owner.subject,
                "due_at": to_iso(case.next_due_at),
                "due_kind": case.due_kind.value,
                "risk": case.risk.value,
            },
        )
        log.warning("followup_overdue", case_id=case.id, stage=stage)

    async def _caring_due(self, tx: Transaction, timer: timers.Timer) -> None:
        case = await self.cases.load(tx, _case_id(timer.subject))
        seq = int(timer.data.get("seq", 0))
        if case is None or case.state is not CaseState.OPEN or not case.caring_sms:
            return
        if seq + 1 < len(self.settings.caring_schedule):
            await timers.schedule(
                tx,
                CARING_TIMER,
                timer.subject,
                case.opened_at + self.settings.caring_schedule[seq + 1],
                {"seq": seq + 1},
            )
        if case.phone_hash is None or await self.cases.opted_out(tx, case.phone_hash):
            await tx.append_event(
                "followup.caring_skipped",
                _subject(case.id),
                "system",
                {"seq": seq, "why": "opted_out"},
            )
            return
        texts = self._texts(case.lang)
        await self.cases.add_caring_text(tx, case.id, seq, seq % len(texts))
        await self.cases.update(tx, case.id, caring_sent=case.caring_sent + 1)
        await tx.append_event("followup.caring_queued", _subject(case.id), "system", {"seq": seq})

    async def send_pending_texts(self) -> int:
        """Hand queued caring texts to the provider (again after a restart); returns how many."""
        pending = await self.cases.pending_caring_texts()
        for row in pending:
            await self._send_caring(row["id"], row["case_id"], row["template"], row["lang"])
        return len(pending)

    async def _send_caring(self, text_id: int, case_id: int, template: int, lang: str) -> None:
        status, sid = "not_sent", None
        number = await self.cases.phone(case_id)
        if self._sender is not None and number is not None:
            texts = self._texts(lang)
            try:
                sid, status = await self._sender.send_sms(
                    number,
                    texts[template % len(texts)],
                    self._sender.url(f"/twilio/followups/caring-status?text={text_id}"),
                    from_=self._caring_from,
                )
            except Exception as exc:  # the provider failed: record it, the case stays open
                log.warning("caring_text_failed", case_id=case_id, error_type=type(exc).__name__)
                status = "failed"
        async with self.db.transaction() as tx:
            await self.cases.caring_status(tx, text_id, status or "queued", sid)
            await tx.append_event(
                "followup.caring_sent", _subject(case_id), "system", {"status": status or "queued"}
            )

    async def caring_delivery(self, text_id: int, status: str, sid: str | None) -> bool:
        """The provider's word on a caring text; False for an unknown text."""
        async with self.db.transaction() as tx:
            return await self.cases.caring_status(tx, text_id, status, sid) is not None

    def _texts(self, lang: str) -> tuple[str, ...]:
        texts = self.settings.caring_texts
        return texts.get(lang) or texts.get(self.config.ui.language) or next(iter(texts.values()))

    # -- reading ---------------------------------------------------------------------------

    async def get(self, case_id: int, viewer: User) -> Case:
        """A case the viewer may see."""
        case = await self.cases.get(case_id)
        if case is None:
            raise NotFound(f"follow-up case {case_id} does not exist")
        self._check_access(viewer, case)
        return case

    async def open_cases_for(self, person_hash: str) -> list[Case]:
        """The open cases of a person, by the keyed hash of their number or chat identity."""
        return await self.cases.open_for_hash(None, person_hash)

    def schedule_points(self, case: Case) -> list[dict[str, Any]]:
        """The risk schedule's instants, with which are done."""
        return [
            {"at": to_iso(at), "done": index < case.done_points}
            for index, at in enumerate(points(case.anchor_at, case.offsets))
        ]

    def end_of_today(self) -> datetime:
        """The end of today in the hotline's time zone ('due today' means before this)."""
        local = self.db.clock.now().astimezone(self._zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(), self._zone)
        return tomorrow

    # -- internals -------------------------------------------------------------------------

    async def _set_due(self, tx: Transaction, case: Case) -> Due:
        """Store the case's next due date and arm its two overdue alarms (owner, supervisor)."""
        due = next_due(case.schedule_state, self.settings)
        await self.cases.update(
            tx, case.id, next_due_at=due.at, due_kind=due.kind.value, overdue_stage=0
        )
        subject = _subject(case.id)
        await timers.cancel(tx, OVERDUE_TIMER, subject)
        stamp = to_iso(due.at)
        await timers.schedule(
            tx,
            OVERDUE_TIMER,
            subject,
            due.at + self.settings.owner_after,
            {"stage": 1, "due": stamp},
        )
        await timers.schedule(
            tx,
            OVERDUE_TIMER,
            subject,
            due.at + self.settings.supervisor_after,
            {"stage": 2, "due": stamp},
        )
        return due

    async def _flag_referral_if_due(self, tx: Transaction, case: Case, actor: str) -> Case:
        if case.grade is None or not self.settings.grades[case.grade].referral:
            return case
        if case.referral_flagged_at is not None:
            return case
        await self.cases.update(tx, case.id, referral_flagged_at=tx.clock.now())
        await tx.append_event(
            "followup.referral_flagged", _subject(case.id), actor, {"grade": case.grade}
        )
        return await self._load(tx, case.id)

    async def _new_pseudonym(self, tx: Transaction) -> str:
        while True:
            code = "F-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(5))
            if not await self.cases.pseudonym_taken(tx, code):
                return code

    def _check_new(self, new: NewCase) -> None:
        if new.district is not None and self.config.district(new.district) is None:
            raise InvalidInput(
                f"unknown district {new.district!r}", code="unknown_district", field="district"
            )
        if new.grade is not None and new.grade not in self.settings.grades:
            raise InvalidInput("the danger grade is 0 to 5", code="invalid_grade", field="grade")
        if new.caring and new.phone is None:
            raise InvalidInput(
                "caring texts need a number", code="caring_needs_phone", field="caring"
            )
        if new.name is not None and len(new.name) > MAX_NAME_CHARS:
            raise InvalidInput("the name is too long", code="too_long", field="name")

    async def _check_owner(self, tx: Transaction, owner: Owner) -> None:
        if owner.team_id is not None:
            team = self.teams.get(owner.team_id)
            if team is None or team.kind is not TeamKind.DISTRICT:
                raise InvalidInput(
                    f"unknown district team {owner.team_id!r}", code="unknown_team", field="owner"
                )
            return
        role = await tx.fetchval(
            "SELECT role FROM users WHERE id = ? AND active = 1", (owner.user_id,)
        )
        if role is None:
            raise InvalidInput("no such active staff member", code="unknown_user", field="owner")

    async def _load(self, tx: Transaction, case_id: int) -> Case:
        case = await self.cases.load(tx, case_id)
        if case is None:
            raise NotFound(f"follow-up case {case_id} does not exist")
        return case

    async def _open_case_for(
        self, tx: Transaction, case_id: int, actor: User, *, allow_closed: bool = False
    ) -> Case:
        case = await self._load(tx, case_id)
        self._check_access(actor, case)
        if case.state is not CaseState.OPEN and not allow_closed:
            raise Conflict("this case is closed", code="case_closed")
        return case

    @staticmethod
    def _check_access(viewer: User, case: Case) -> None:
        if viewer.role in OVERSIGHT_ROLES or case.owner.user_id == viewer.id:
            return
        raise Forbidden("this follow-up case belongs to someone else", code="not_yours")

    @staticmethod
    def _require_oversight(actor: User) -> None:
        if actor.role not in OVERSIGHT_ROLES:
            raise Forbidden("supervisors and coordinators decide this", code="forbidden")

    async def _contact(self, contact_id: int) -> Contact:
        contact = await self._contacts.get(contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return contact


def _subject(case_id: int) -> str:
    return f"followup:{case_id}"


def _case_id(subject: str) -> int:
    return int(subject.split(":", 1)[1])


def _enum(kind: Any, value: object, field: str, message: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(message, code=f"invalid_{field}", field=field) from None


def _grade(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 5:
        raise InvalidInput("the danger grade is 0 to 5", code="invalid_grade", field="grade")
    return value


def _note(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("the note must be text", field="note")
    if len(value) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"the note is limited to {MAX_NOTE_CHARS} characters", code="too_long", field="note"
        )
    return value.strip()
