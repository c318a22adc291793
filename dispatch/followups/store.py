"""SQL for follow-up cases, their attempts, links, caring texts and decisions.

Names, numbers and notes are sealed with a context naming their row, so a sealed value
copied onto another row does not open. Everything else is in clear: it drives the alarms
and the statistics and identifies nobody.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from dispatch.followups.cases import (
    Attempt,
    Case,
    CaseSource,
    CaseState,
    Flag,
    LinkKind,
    NewCase,
    Outcome,
    Owner,
)
from dispatch.followups.schedule import DueKind
from hotline.clock import from_iso, to_iso
from hotline.crypto import FieldCipher
from hotline.risk import RiskLevel
from hotline.store.database import Database, Row, Transaction

HIGH_LEVELS = (RiskLevel.HIGH.value, RiskLevel.IMMINENT.value)
_ENDED_STATES = ("closed", "abandoned", "transferred")

_CASE_COLUMNS = (
    "id, pseudonym, state, source, lang, district, risk, grade, grade_at, referral_flagged_at,"
    " owner_user_id, owner_team_id, caring_sms, caring_sent, anchor_at, schedule, done_points,"
    " last_reached_at, last_failed_at, failed_streak, next_due_at, due_kind, overdue_stage,"
    " flagged, flagged_at, opened_by, opened_at, updated_at, closed_at, close_reason,"
    " person_hash, phone_hash, phone_enc IS NOT NULL AS has_phone, name_enc IS NOT NULL AS has_name"
)


def _when(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


def _case(row: Row) -> Case:
    return Case(
        id=row["id"],
        pseudonym=row["pseudonym"],
        state=CaseState(row["state"]),
        source=CaseSource(row["source"]),
        lang=row["lang"],
        district=row["district"],
        risk=RiskLevel(row["risk"]),
        grade=row["grade"],
        grade_at=_when(row["grade_at"]),
        referral_flagged_at=_when(row["referral_flagged_at"]),
        owner=Owner(row["owner_user_id"], row["owner_team_id"]),
        caring_sms=bool(row["caring_sms"]),
        caring_sent=row["caring_sent"],
        anchor_at=from_iso(row["anchor_at"]),
        offsets=tuple(timedelta(seconds=s) for s in json.loads(row["schedule"])),
        done_points=row["done_points"],
        last_reached_at=_when(row["last_reached_at"]),
        last_failed_at=_when(row["last_failed_at"]),
        failed_streak=row["failed_streak"],
        next_due_at=_when(row["next_due_at"]),
        due_kind=DueKind(row["due_kind"]),
        overdue_stage=row["overdue_stage"],
        flagged=Flag(row["flagged"]) if row["flagged"] else None,
        flagged_at=_when(row["flagged_at"]),
        opened_by=row["opened_by"],
        opened_at=from_iso(row["opened_at"]),
        updated_at=from_iso(row["updated_at"]),
        closed_at=_when(row["closed_at"]),
        close_reason=row["close_reason"],
        person_hash=row["person_hash"],
        phone_hash=row["phone_hash"],
        has_phone=bool(row["has_phone"]),
        has_name=bool(row["has_name"]),
    )


def offsets_json(offsets: Sequence[timedelta]) -> str:
    """A schedule as stored: whole seconds, frozen when the risk was set."""
    return json.dumps([int(o.total_seconds()) for o in offsets])


class CaseRepository:
    """Follow-up cases and everything hanging off them."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    # -- cases -----------------------------------------------------------------------------

    async def insert(
        self,
        tx: Transaction,
        new: NewCase,
        *,
        pseudonym: str,
        offsets: Sequence[timedelta],
        phone_hash: str | None,
    ) -> int:
        """Store a new open case; its phone and name are sealed against its own row."""
        now = to_iso(tx.clock.now())
        case_id = await tx.fetchval(
            "INSERT INTO followup_cases (pseudonym, state, source, person_hash, phone_hash, lang,"
            " district, risk, grade, grade_at, owner_user_id, owner_team_id, caring_sms,"
            " anchor_at, schedule, opened_by, opened_at, updated_at)"
            " VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                pseudonym,
                new.source.value,
                new.person_hash,
                phone_hash,
                new.lang,
                new.district,
                new.risk.value,
                new.grade,
                now if new.grade is not None else None,
                new.owner.user_id,
                new.owner.team_id,
                int(new.caring),
                now,
                offsets_json(offsets),
                new.opened_by,
                now,
                now,
            ),
        )
        case_id = int(case_id)
        if new.phone is not None or new.name is not None:
            await tx.execute(
                "UPDATE followup_cases SET phone_enc = ?, name_enc = ? WHERE id = ?",
                (
                    self._cipher.seal_optional(new.phone, f"followup_cases.phone:{case_id}"),
                    self._cipher.seal_optional(new.name, f"followup_cases.name:{case_id}"),
                    case_id,
                ),
            )
        return case_id

    async def pseudonym_taken(self, tx: Transaction, pseudonym: str) -> bool:
        """Whether a pseudonym is already in use."""
        return bool(
            await tx.fetchval("SELECT 1 FROM followup_cases WHERE pseudonym = ?", (pseudonym,))
        )

    async def load(self, tx: Transaction, case_id: int) -> Case | None:
        """A case inside a transaction (read under the write lock)."""
        row = await tx.fetchone(
            f"SELECT {_CASE_COLUMNS} FROM followup_cases WHERE id = ?", (case_id,)
        )
        return _case(row) if row else None

    async def get(self, case_id: int) -> Case | None:
        """A case by id."""
        row = await self._db.fetchone(
            f"SELECT {_CASE_COLUMNS} FROM followup_cases WHERE id = ?", (case_id,)
        )
        return _case(row) if row else None

    async def update(self, tx: Transaction, case_id: int, **columns: Any) -> None:
        """Set columns of a case (datetimes stored as ISO text) and touch `updated_at`."""
        values = {k: to_iso(v) if isinstance(v, datetime) else v for k, v in columns.items()}
        values["updated_at"] = to_iso(tx.clock.now())
        assignments = ", ".join(f"{name} = ?" for name in values)
        await tx.execute(
            f"UPDATE followup_cases SET {assignments} WHERE id = ?",
            (*values.values(), case_id),
        )

    async def open_for_hash(self, tx: Transaction | None, person: str) -> list[Case]:
        """Open cases of the person a keyed hash (of a number or chat identity) belongs to."""
        sql = (
            f"SELECT {_CASE_COLUMNS} FROM followup_cases WHERE state = 'open'"
            " AND (person_hash = ? OR phone_hash = ?) ORDER BY id"
        )
        if tx is not None:
            rows = await tx.fetchall(sql, (person, person))
        else:
            rows = await self._db.fetchall(sql, (person, person))
        return [_case(r) for r in rows]

    async def listed(
        self,
        *,
        owner_user_id: int | None = None,
        owner_team_id: str | None = None,
        flagged_only: bool = False,
        state: CaseState = CaseState.OPEN,
        limit: int = 500,
    ) -> list[Case]:
        """Cases for a list page, soonest due first."""
        where = ["state = ?"]
        params: list[Any] = [state.value]
        if owner_user_id is not None:
            where.append("owner_user_id = ?")
            params.append(owner_user_id)
        if owner_team_id is not None:
            where.append("owner_team_id = ?")
            params.append(owner_team_id)
        if flagged_only:
            where.append(
                "(flagged IS NOT NULL OR overdue_stage >= 2 OR referral_flagged_at IS NOT NULL)"
            )
        order = (
            "next_due_at IS NULL, next_due_at, id" if state is CaseState.OPEN else "closed_at DESC"
        )
        rows = await self._db.fetchall(
            f"SELECT {_CASE_COLUMNS} FROM followup_cases WHERE {' AND '.join(where)}"
            f" ORDER BY {order} LIMIT ?",
            (*params, limit),
        )
        return [_case(r) for r in rows]

    async def phone(self, case_id: int) -> str | None:
        """The number on a case, opened (for a call or a caring text only)."""
        sealed = await self._db.fetchval(
            "SELECT phone_enc FROM followup_cases WHERE id = ?", (case_id,)
        )
        if sealed is None:
            return None
        return self._cipher.open(sealed, f"followup_cases.phone:{case_id}")

    async def name(self, case_id: int) -> str | None:
        """The name on a case, opened (shown only to those who work the case)."""
        sealed = await self._db.fetchval(
            "SELECT name_enc FROM followup_cases WHERE id = ?", (case_id,)
        )
        if sealed is None:
            return None
        return self._cipher.open(sealed, f"followup_cases.name:{case_id}")

    async def seal_close_note(self, tx: Transaction, case_id: int, note: str) -> None:
        """Keep the closing note, sealed."""
        await tx.execute(
            "UPDATE followup_cases SET close_note_enc = ? WHERE id = ?",
            (self._cipher.seal(note, f"followup_cases.close_note:{case_id}"), case_id),
        )

    # -- links -----------------------------------------------------------------------------

    async def link(self, tx: Transaction, case_id: int, contact_id: int, kind: LinkKind) -> bool:
        """Link a contact to a case; False when it already was."""
        cursor = await tx.execute(
            "INSERT INTO followup_contacts (case_id, contact_id, link, at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (case_id, contact_id, kind.value, to_iso(tx.clock.now())),
        )
        return cursor.rowcount == 1

    async def links(self, case_id: int) -> list[dict[str, Any]]:
        """The contacts of a case with what the case page shows of them (no personal data)."""
        rows = await self._db.fetchall(
            "SELECT l.contact_id, l.link, l.at, c.channel, c.risk, c.state, c.created_at"
            " FROM followup_contacts l JOIN contacts c ON c.id = l.contact_id"
            " WHERE l.case_id = ? ORDER BY c.created_at DESC, c.id DESC",
            (case_id,),
        )
        return [
            {
                "contact_id": r["contact_id"],
                "link": r["link"],
                "linked_at": r["at"],
                "channel": r["channel"],
                "risk": r["risk"],
                "state": r["state"],
                "started_at": r["created_at"],
            }
            for r in rows
        ]

    async def contact_hash(self, tx: Transaction | None, contact_id: int) -> str | None:
        """The keyed hash of a contact's number or chat identity (None: it has neither)."""
        sql = "SELECT caller_hash FROM contacts WHERE id = ?"
        if tx is not None:
            value = await tx.fetchval(sql, (contact_id,))
        else:
            value = await self._db.fetchval(sql, (contact_id,))
        return str(value) if value else None

    async def latest_contact(self, tx: Transaction, case_id: int) -> int | None:
        """The case's most recent contact (a dispatch from the case names it)."""
        value = await tx.fetchval(
            "SELECT MAX(contact_id) FROM followup_contacts WHERE case_id = ?", (case_id,)
        )
        return int(value) if value is not None else None

    # -- attempts --------------------------------------------------------------------------

    async def add_attempt(
        self,
        tx: Transaction,
        case_id: int,
        actor_id: int,
        outcome: Outcome,
        risk: RiskLevel,
        grade: int | None,
        note: str,
        due_at: datetime | None,
    ) -> int:
        """Record an attempt; its note is sealed against its own row."""
        attempt_id = await tx.fetchval(
            "INSERT INTO followup_attempts (case_id, actor_id, outcome, risk, grade, due_at, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                case_id,
                actor_id,
                outcome.value,
                risk.value,
                grade,
                to_iso(due_at) if due_at else None,
                to_iso(tx.clock.now()),
            ),
        )
        attempt_id = int(attempt_id)
        if note:
            await tx.execute(
                "UPDATE followup_attempts SET note_enc = ? WHERE id = ?",
                (self._cipher.seal(note, f"followup_attempts.note:{attempt_id}"), attempt_id),
            )
        return attempt_id

    async def attempts(self, case_id: int) -> list[Attempt]:
        """A case's attempts, newest first, notes opened."""
        rows = await self._db.fetchall(
            "SELECT id, case_id, actor_id, outcome, risk, grade, note_enc, due_at, at"
            " FROM followup_attempts WHERE case_id = ? ORDER BY id DESC",
            (case_id,),
        )
        return [
            Attempt(
                id=r["id"],
                case_id=r["case_id"],
                actor_id=r["actor_id"],
                outcome=Outcome(r["outcome"]),
                risk=RiskLevel(r["risk"]),
                grade=r["grade"],
                note=self._cipher.open_optional(r["note_enc"], f"followup_attempts.note:{r['id']}"),
                due_at=_when(r["due_at"]),
                at=from_iso(r["at"]),
            )
            for r in rows
        ]

    # -- caring texts ----------------------------------------------------------------------

    async def add_caring_text(self, tx: Transaction, case_id: int, seq: int, template: int) -> int:
        """Queue a caring text (sent after the transaction commits)."""
        text_id = await tx.fetchval(
            "INSERT INTO followup_caring_texts (case_id, seq, template, status, at)"
            " VALUES (?, ?, ?, 'pending', ?) RETURNING id",
            (case_id, seq, template, to_iso(tx.clock.now())),
        )
        return int(text_id)

    async def pending_caring_texts(self) -> list[Row]:
        """Caring texts queued and not yet handed to the provider."""
        return await self._db.fetchall(
            "SELECT t.id, t.case_id, t.template, c.lang FROM followup_caring_texts t"
            " JOIN followup_cases c ON c.id = t.case_id WHERE t.status = 'pending' ORDER BY t.id"
        )

    async def caring_status(
        self, tx: Transaction, text_id: int, status: str, sid: str | None = None
    ) -> int | None:
        """Record a caring text's delivery status; returns its case (None: unknown text)."""
        row = await tx.fetchone(
            "UPDATE followup_caring_texts SET status = ?, provider_sid = COALESCE(?, provider_sid)"
            " WHERE id = ? RETURNING case_id",
            (status, sid, text_id),
        )
        return int(row["case_id"]) if row else None

    async def caring_texts(self, case_id: int) -> list[dict[str, Any]]:
        """The caring texts of a case (status and time, not the words)."""
        rows = await self._db.fetchall(
            "SELECT seq, status, at FROM followup_caring_texts WHERE case_id = ? ORDER BY seq",
            (case_id,),
        )
        return [{"seq": r["seq"], "status": r["status"], "at": r["at"]} for r in rows]

    async def opted_out(self, tx: Transaction, phone_hash: str) -> bool:
        """Whether the number texted STOP."""
        return bool(
            await tx.fetchval("SELECT 1 FROM sms_opt_outs WHERE caller_hash = ?", (phone_hash,))
        )

    # -- decisions -------------------------------------------------------------------------

    async def decide(
        self,
        tx: Transaction,
        contact_id: int,
        *,
        case_id: int | None,
        reason: str | None,
        actor: str,
    ) -> bool:
        """Record the follow-up decision on a contact; False if it already had one."""
        cursor = await tx.execute(
            "INSERT INTO followup_decisions (contact_id, case_id, reason, actor, at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (contact_id, case_id, reason, actor, to_iso(tx.clock.now())),
        )
        return cursor.rowcount == 1

    async def undecided(self, limit: int = 200) -> list[dict[str, Any]]:
        """Contacts that ended at high or imminent risk with no follow-up decision yet."""
        rows = await self._db.fetchall(
            "SELECT c.id, c.channel, c.risk, c.state, c.district, c.created_at,"
            " c.caller_number_enc IS NOT NULL AS has_number FROM contacts c"
            " LEFT JOIN followup_decisions d ON d.contact_id = c.id"
            f" WHERE c.risk IN {_in(HIGH_LEVELS)} AND c.state IN {_in(_ENDED_STATES)}"
            " AND d.contact_id IS NULL ORDER BY c.id LIMIT ?",
            (*HIGH_LEVELS, *_ENDED_STATES, limit),
        )
        return [
            {
                "contact_id": r["id"],
                "channel": r["channel"],
                "risk": r["risk"],
                "state": r["state"],
                "district": r["district"],
                "started_at": r["created_at"],
                "has_number": bool(r["has_number"]),
            }
            for r in rows
        ]

    async def decision(self, contact_id: int) -> Row | None:
        """The follow-up decision recorded on a contact."""
        return await self._db.fetchone(
            "SELECT contact_id, case_id, reason, actor, at FROM followup_decisions"
            " WHERE contact_id = ?",
            (contact_id,),
        )


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"
