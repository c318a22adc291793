"""Contacts in the store: the rows of contacts, their messages, notes and wrap-ups.

These repositories own how a contact is kept: the SQL, the columns, instants as ISO text,
key groups as JSON, and personal text sealed with the data key. They decide nothing about
what may happen to a contact: `hotline.conversations` checks states, holders and input,
and appends the events, then asks these classes to read or write exactly what it decided.

A method whose first argument is a `Transaction` works on the writer connection inside
that transaction (under its write lock); the others read committed data on the reader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hotline.clock import from_iso, to_iso
from hotline.contacts import Channel, Contact, ContactState, Message, Note, WrapUp
from hotline.crypto import FieldCipher
from hotline.risk import RiskLevel
from hotline.store.database import Database, Row, Transaction
from hotline.store.dialect import Dialect

# The C-SSRS answers stored with an assessment (hotline.triage.assessment asks them).
ASSESSMENT_QUESTIONS = ("wish_dead", "suicidal_thoughts", "method", "intent", "plan")

QUEUE_ORDER = "risk_rank DESC, requeued DESC, waiting_since, id"


def _waiting(dialect: Dialect) -> str:
    """The waiting contacts, read through the partial index that holds them in queue order.

    Named explicitly for SQLite: without statistics it prefers the plain state index and
    then sorts the whole queue on every take-next (a temp B-tree over 10,000 rows instead of
    one step). PostgreSQL finds the index from its own statistics.
    """
    return f"{dialect.indexed_by('contacts', 'contacts_queue')} WHERE state = 'queued'"


_NEW_CONTACT_COLUMNS = (
    "id, channel, state, risk, risk_rank, district, lang, waiting_since, caller_token_hash,"
    " caller_left_at, created_at, updated_at, call_sid, caller_hash, caller_number_enc,"
    " last_activity_at"
)


_MESSAGE_COLUMNS = "id, contact_id, sender, author_id, body_enc, at, delivery_status"

# A contact's person seen before: how many earlier contacts share its keyed caller hash, and
# the last one's risk and start. One statement over the `contacts_caller` index (the hash is
# its first column), so a repeat caller is recognised without ever touching a number, and
# without reading the person's whole history.
CALLER_SUMMARY_SQL = (
    "SELECT c.caller_hash AS person_hash,"
    " (SELECT COUNT(*) FROM contacts e WHERE e.caller_hash = c.caller_hash AND e.id < c.id)"
    " AS earlier,"
    " l.risk AS last_risk, l.created_at AS last_at"
    " FROM contacts c LEFT JOIN contacts l ON l.id = ("
    "SELECT MAX(e.id) FROM contacts e WHERE e.caller_hash = c.caller_hash AND e.id < c.id)"
    " WHERE c.id = ?"
)


@dataclass(frozen=True)
class NewContact:
    """A contact about to enter the queue; the store chooses its id and stamps its times."""

    channel: Channel
    risk: RiskLevel
    district: str | None
    lang: str
    caller_token_hash: str | None
    # False while the person has no connection open yet: they are then stored as having
    # left at arrival, so the abandonment sweep finds them if they never connect.
    connected: bool
    call_sid: str | None = None
    # The person's phone number: sealed in the row, linked across contacts by keyed hash.
    caller_number: str | None = None
    caller_hash: str | None = None
    # When the person reached the line, if before now: an arrival kept in the gateway's
    # spool while the store was away (hotline.spool) keeps its place in the queue.
    arrived_at: datetime | None = None


@dataclass(frozen=True)
class CallerSummary:
    """What the hotline knows of a contact's person from before: counts and levels only.

    `person_hash` is the keyed hash linking them (never sent to a page); it is None for a
    contact with nothing to link by (a web chat without an identity).
    """

    person_hash: str | None
    earlier_contacts: int
    last_risk: RiskLevel | None
    last_at: datetime | None


@dataclass(frozen=True)
class EarlierContact:
    """One earlier contact of the same person, as the audited history shows it."""

    id: int
    channel: Channel
    state: ContactState
    started_at: datetime
    risk: RiskLevel
    # None when the contact never reached a wrap-up (abandoned, transferred, still open).
    category: str | None
    outcome: str | None
    referral: str | None
    follow_up_wanted: bool | None
    follow_up_reason: str | None
    summary: str


class ContactRepository:
    """Contact rows: the queue, the claim of the next contact, and guarded state changes."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def by_call_sid(self, call_sid: str) -> Contact | None:
        """The contact of a phone call, or None."""
        row = await self._db.fetchone("SELECT * FROM contacts WHERE call_sid = ?", (call_sid,))
        return None if row is None else _contact(row)

    async def caller_number(self, contact_id: int) -> str | None:
        """The person's phone number, opened (for a callback or an SMS reply only)."""
        sealed = await self._db.fetchval(
            "SELECT caller_number_enc FROM contacts WHERE id = ?", (contact_id,)
        )
        if sealed is None:
            return None
        return self._cipher.open(sealed, f"contacts.caller_number:{contact_id}")

    async def has_caller_number(self, contact_id: int) -> bool:
        """True when a number is sealed with the contact (it is not opened to find out)."""
        return bool(
            await self._db.fetchval(
                "SELECT caller_number_enc IS NOT NULL FROM contacts WHERE id = ?", (contact_id,)
            )
        )

    async def caller_hash(self, tx: Transaction, contact_id: int) -> str | None:
        """The keyed hash of the contact's number or chat identity, if it has one."""
        value = await tx.fetchval("SELECT caller_hash FROM contacts WHERE id = ?", (contact_id,))
        return None if value is None else str(value)

    async def known_callers(self, tx: Transaction, hashes: Sequence[str]) -> set[str]:
        """Which of these keyed hashes reached the line before (for the repeat-caller count
        in the statistics, taken at arrival so it can be recorded in the event log)."""
        if not hashes:
            return set()
        marks = ", ".join("?" * len(hashes))
        rows = await tx.fetchall(
            f"SELECT DISTINCT caller_hash FROM contacts WHERE caller_hash IN ({marks})",
            list(hashes),
        )
        return {str(row["caller_hash"]) for row in rows}

    async def caller_summary(self, contact_id: int) -> CallerSummary | None:
        """Earlier contacts of this contact's person (see `CALLER_SUMMARY_SQL`); None if no
        such contact."""
        row = await self._db.fetchone(CALLER_SUMMARY_SQL, (contact_id,))
        if row is None:
            return None
        return CallerSummary(
            person_hash=row["person_hash"],
            earlier_contacts=int(row["earlier"] or 0),
            last_risk=RiskLevel(row["last_risk"]) if row["last_risk"] else None,
            last_at=from_iso(row["last_at"]) if row["last_at"] else None,
        )

    async def earlier_contacts(
        self, tx: Transaction, contact_id: int, limit: int
    ) -> list[EarlierContact]:
        """The person's earlier contacts with their wrap-ups, newest first, summaries opened.

        Read inside the caller's transaction, so the audit event written there records
        exactly this read.
        """
        rows = await tx.fetchall(
            "SELECT e.id, e.channel, e.state, e.created_at, e.risk, w.category, w.outcome,"
            " w.referral, w.follow_up_wanted, w.follow_up_reason, w.summary_enc"
            " FROM contacts c JOIN contacts e ON e.caller_hash = c.caller_hash AND e.id < c.id"
            " LEFT JOIN wrap_ups w ON w.contact_id = e.id"
            " WHERE c.id = ? ORDER BY e.id DESC LIMIT ?",
            (contact_id, limit),
        )
        return [
            EarlierContact(
                id=row["id"],
                channel=Channel(row["channel"]),
                state=ContactState(row["state"]),
                started_at=from_iso(row["created_at"]),
                risk=RiskLevel(row["risk"]),
                category=row["category"],
                outcome=row["outcome"],
                referral=row["referral"],
                follow_up_wanted=None
                if row["follow_up_wanted"] is None
                else bool(row["follow_up_wanted"]),
                follow_up_reason=row["follow_up_reason"],
                summary=self._cipher.open_optional(
                    row["summary_enc"], f"wrap_ups.summary:{row['id']}"
                ),
            )
            for row in rows
        ]

    async def open_sms_thread(
        self, tx: Transaction, caller_hash: str, active_since: datetime
    ) -> Contact | None:
        """The open SMS contact from this number with activity since then, if any."""
        row = await tx.fetchone(
            "SELECT * FROM contacts WHERE caller_hash = ? AND channel = 'sms'"
            " AND state IN ('queued', 'offered', 'active') AND last_activity_at >= ?"
            " ORDER BY id DESC LIMIT 1",
            (caller_hash, to_iso(active_since)),
        )
        return None if row is None else _contact(row)

    async def touch(self, tx: Transaction, contact_id: int) -> None:
        """Record activity (a message either way) now."""
        await tx.execute(
            "UPDATE contacts SET last_activity_at = ? WHERE id = ?",
            (to_iso(tx.clock.now()), contact_id),
        )

    async def past_wait_target(
        self, tx: Transaction, level: RiskLevel, waiting_since_before: datetime
    ) -> list[Contact]:
        """Waiting contacts of a level that arrived before the cutoff and are not yet alarmed."""
        rows = await tx.fetchall(
            f"SELECT * FROM {_waiting(tx.dialect)} AND risk_rank = ? AND waiting_since <= ?"
            " AND (wait_alarm_rank IS NULL OR wait_alarm_rank < risk_rank)"
            f" ORDER BY {QUEUE_ORDER}",
            (level.rank, to_iso(waiting_since_before)),
        )
        return [_contact(row) for row in rows]

    async def mark_wait_alarmed(self, tx: Transaction, contact: Contact) -> None:
        """Remember that this contact's breach at its current level has been raised."""
        await tx.execute(
            "UPDATE contacts SET wait_alarm_rank = ? WHERE id = ?", (contact.risk.rank, contact.id)
        )

    async def set_risk(self, tx: Transaction, contact_id: int, level: RiskLevel) -> None:
        """Store a contact's risk level and its rank (the queue's first key)."""
        await tx.execute(
            "UPDATE contacts SET risk = ?, risk_rank = ?, updated_at = ? WHERE id = ?",
            (level.value, level.rank, to_iso(tx.clock.now()), contact_id),
        )

    async def tag_incident(self, tx: Transaction, contact_id: int, incident_id: int) -> None:
        """Tag the contact with the mass incident that affected its person."""
        await tx.execute(
            "UPDATE contacts SET incident_id = ?, updated_at = ? WHERE id = ?",
            (incident_id, to_iso(tx.clock.now()), contact_id),
        )

    async def flag_callback(self, tx: Transaction, contact_id: int) -> None:
        """The caller asked to be called back instead of holding."""
        await tx.execute("UPDATE contacts SET callback_requested = 1 WHERE id = ?", (contact_id,))

    async def get(self, contact_id: int) -> Contact | None:
        """A contact by id as last committed, or None."""
        row = await self._db.fetchone("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return None if row is None else _contact(row)

    async def load(self, tx: Transaction, contact_id: int) -> Contact | None:
        """A contact by id as this transaction sees it, or None.

        Read under the write lock, so no other writer can change it before the transaction
        writes; the guarded `move` still checks, for writers in other processes.
        """
        row = await tx.fetchone("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return None if row is None else _contact(row)

    async def by_token_hash(self, token_hash: str) -> Contact | None:
        """The contact whose person holds the token with this digest, or None."""
        row = await self._db.fetchone(
            "SELECT * FROM contacts WHERE caller_token_hash = ?", (token_hash,)
        )
        return None if row is None else _contact(row)

    async def add_queued(self, tx: Transaction, arrivals: Sequence[NewContact]) -> list[Contact]:
        """Write queued contacts in one statement; returns them with the ids they got.

        The ids are reserved first, because every caller must learn its own contact and
        each number is sealed bound to its contact's id.
        """
        now = tx.clock.now()
        stamp = to_iso(now)
        ids = await tx.reserve_ids("contacts", len(arrivals))
        rows = []
        contacts = []
        for contact_id, arrival in zip(ids, arrivals, strict=True):
            arrived = min(arrival.arrived_at or now, now)
            arrived_stamp = to_iso(arrived)
            rows.append(
                (
                    contact_id,
                    arrival.channel.value,
                    ContactState.QUEUED.value,
                    arrival.risk.value,
                    arrival.risk.rank,
                    arrival.district,
                    arrival.lang,
                    arrived_stamp,
                    arrival.caller_token_hash,
                    None if arrival.connected else stamp,
                    arrived_stamp,
                    stamp,
                    arrival.call_sid,
                    arrival.caller_hash,
                    self._cipher.seal_optional(
                        arrival.caller_number, f"contacts.caller_number:{contact_id}"
                    ),
                    stamp,
                )
            )
            contacts.append(
                Contact(
                    id=contact_id,
                    channel=arrival.channel,
                    state=ContactState.QUEUED,
                    risk=arrival.risk,
                    district=arrival.district,
                    lang=arrival.lang,
                    waiting_since=arrived,
                    requeued=False,
                    counsellor_id=None,
                    ended_by=None,
                    answered_at=None,
                    ended_at=None,
                    call_sid=arrival.call_sid,
                )
            )
        await tx.executemany(
            f"INSERT INTO contacts ({_NEW_CONTACT_COLUMNS}) VALUES ({', '.join('?' * 16)})", rows
        )
        return contacts

    async def claim_next(
        self,
        tx: Transaction,
        counsellor_id: int,
        at: datetime,
        channels: frozenset[Channel] | None = None,
    ) -> Contact | None:
        """Offer the first waiting contact to a counsellor; None when nobody waits.

        One statement picks and claims: the `state = 'queued'` guard is checked by the same
        write that changes it, so two counsellors taking at the same instant (in one process
        or several on the same file) never receive the same contact. A separate SELECT and
        UPDATE would leave a gap between them for another process's claim.
        """
        only = ""
        if channels is not None:  # fixed enum values, never user input
            only = " AND channel IN (" + ", ".join(f"'{c.value}'" for c in sorted(channels)) + ")"
        row = await tx.fetchone(
            "UPDATE contacts SET state = 'offered', counsellor_id = ?, updated_at = ?"
            f" WHERE id = (SELECT id FROM {_waiting(tx.dialect)}{only}"
            f" ORDER BY {QUEUE_ORDER} LIMIT 1) AND state = 'queued' RETURNING *",
            (counsellor_id, to_iso(at)),
        )
        return None if row is None else _contact(row)

    async def claim(
        self, tx: Transaction, contact_id: int, counsellor_id: int, at: datetime
    ) -> Contact | None:
        """Offer one named waiting contact to a counsellor; None if it is no longer waiting.

        One guarded statement, like `claim_next`: of several counsellors answering the same
        urgent offer at once, exactly one gets it.
        """
        row = await tx.fetchone(
            "UPDATE contacts SET state = 'offered', counsellor_id = ?, updated_at = ?"
            " WHERE id = ? AND state = 'queued' RETURNING *",
            (counsellor_id, to_iso(at), contact_id),
        )
        return None if row is None else _contact(row)

    async def move(
        self, tx: Transaction, contact: Contact, wanted: ContactState, /, **columns: object
    ) -> Contact | None:
        """Set a contact's state (and the given columns) if it is still in `contact.state`.

        Returns the updated contact, or None when the stored state is no longer the one the
        caller checked (another process changed it between read and write). Instants in
        `columns` are stored as ISO text.
        """
        assignments = ", ".join(f"{name} = ?" for name in ("state", "updated_at", *columns))
        row = await tx.fetchone(
            f"UPDATE contacts SET {assignments} WHERE id = ? AND state = ? RETURNING *",
            (
                wanted.value,
                to_iso(tx.clock.now()),
                *(to_iso(v) if isinstance(v, datetime) else v for v in columns.values()),
                contact.id,
                contact.state.value,
            ),
        )
        return None if row is None else _contact(row)

    async def mark_caller_connected(self, tx: Transaction, contact_id: int) -> None:
        """The person has a connection open again."""
        await tx.execute("UPDATE contacts SET caller_left_at = NULL WHERE id = ?", (contact_id,))

    async def mark_caller_left(self, tx: Transaction, contact_id: int, at: datetime) -> None:
        """The person's last connection closed at `at` (kept if already marked earlier)."""
        await tx.execute(
            "UPDATE contacts SET caller_left_at = ? WHERE id = ? AND caller_left_at IS NULL",
            (to_iso(at), contact_id),
        )

    async def mark_open_webchat_callers_left(self, tx: Transaction, at: datetime) -> None:
        """Every open web-chat contact not already marked: its person left at `at`."""
        await tx.execute(
            "UPDATE contacts SET caller_left_at = ? WHERE channel = 'webchat'"
            " AND state IN ('queued', 'offered', 'active') AND caller_left_at IS NULL",
            (to_iso(at),),
        )

    async def offered(self, tx: Transaction) -> list[Contact]:
        """Contacts offered to a counsellor and not yet answered."""
        rows = await tx.fetchall("SELECT * FROM contacts WHERE state = 'offered'")
        return [_contact(row) for row in rows]

    async def left_while_waiting(self, tx: Transaction, cutoff: datetime) -> list[Contact]:
        """Queued or offered web-chat contacts whose person left at or before `cutoff`."""
        rows = await tx.fetchall(
            "SELECT * FROM contacts WHERE channel = 'webchat'"
            " AND state IN ('queued', 'offered')"
            " AND caller_left_at IS NOT NULL AND caller_left_at <= ?",
            (to_iso(cutoff),),
        )
        return [_contact(row) for row in rows]

    async def waiting(self, limit: int | None = None) -> list[Contact]:
        """Waiting contacts in queue order, read straight off the queue index."""
        sql = f"SELECT * FROM {_waiting(self._db.dialect)} ORDER BY {QUEUE_ORDER}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_contact(row) for row in await self._db.fetchall(sql)]

    async def waiting_count(self) -> int:
        """How many contacts are queued."""
        return int(await self._db.fetchval(f"SELECT COUNT(*) FROM {_waiting(self._db.dialect)}"))

    async def waiting_ahead_of(self, contact: Contact) -> int:
        """How many queued contacts come before this one in queue order.

        The comparison spells out `QUEUE_ORDER` so it counts within the index instead of
        reading and sorting the queue.
        """
        return int(
            await self._db.fetchval(
                f"SELECT COUNT(*) FROM {_waiting(self._db.dialect)} AND ("
                " risk_rank > ? OR (risk_rank = ? AND (requeued > ? OR (requeued = ? AND ("
                " waiting_since < ? OR (waiting_since = ? AND id < ?))))))",
                (
                    contact.risk.rank,
                    contact.risk.rank,
                    int(contact.requeued),
                    int(contact.requeued),
                    to_iso(contact.waiting_since),
                    to_iso(contact.waiting_since),
                    contact.id,
                ),
            )
        )

    async def mean_handle_minutes(self, ended_since: datetime) -> float | None:
        """Mean minutes from answer to end of conversations ended since then; None if none."""
        elapsed = self._db.dialect.seconds_between("ended_at", "answered_at")
        mean = await self._db.fetchval(
            f"SELECT AVG({elapsed} / 60.0) FROM contacts"
            " WHERE ended_at IS NOT NULL AND answered_at IS NOT NULL AND ended_at >= ?",
            (to_iso(ended_since),),
        )
        return None if mean is None else float(mean)

    async def held_by(self, counsellor_id: int) -> list[Contact]:
        """Contacts offered to, active with or in wrap-up by this counsellor, by id."""
        rows = await self._db.fetchall(
            "SELECT * FROM contacts WHERE counsellor_id = ? AND state IN ('offered', 'active',"
            " 'wrap_up') ORDER BY id",
            (counsellor_id,),
        )
        return [_contact(row) for row in rows]

    async def in_conversation(self) -> list[Contact]:
        """Every contact offered, active or in wrap-up, by id."""
        rows = await self._db.fetchall(
            "SELECT * FROM contacts WHERE state IN ('offered', 'active', 'wrap_up') ORDER BY id"
        )
        return [_contact(row) for row in rows]


class MessageRepository:
    """Messages of conversations; the text is sealed, bound to its contact."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(
        self,
        tx: Transaction,
        contact_id: int,
        sender: str,
        author_id: int | None,
        text: str,
        delivery_status: str | None = None,
    ) -> Message:
        """Store a message, stamped now."""
        now = tx.clock.now()
        sealed = self._cipher.seal(text, f"messages.body:{contact_id}")
        message_id = int(
            await tx.fetchval(
                "INSERT INTO messages (contact_id, sender, author_id, body_enc, at,"
                " delivery_status) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (contact_id, sender, author_id, sealed, to_iso(now), delivery_status),
            )
        )
        return Message(message_id, contact_id, sender, author_id, text, now, delivery_status)

    async def set_delivery(
        self, tx: Transaction, message_id: int, status: str, provider_sid: str | None = None
    ) -> None:
        """Record what the SMS provider says of an outbound message."""
        await tx.execute(
            "UPDATE messages SET delivery_status = ?, provider_sid = COALESCE(?, provider_sid)"
            " WHERE id = ?",
            (status, provider_sid, message_id),
        )

    async def pending(self) -> list[Message]:
        """Outbound SMS not yet handed to the provider (e.g. a restart came between)."""
        rows = await self._db.fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE delivery_status = 'pending' ORDER BY id"
        )
        return [self._open(row) for row in rows]

    async def of_contact(self, contact_id: int) -> list[Message]:
        """A contact's messages, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        )
        return [self._open(row) for row in rows]

    async def get(self, message_id: int) -> Message | None:
        """One message by id, or None."""
        row = await self._db.fetchone(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?",
            (message_id,),
        )
        return None if row is None else self._open(row)

    def _open(self, row: Row) -> Message:
        text = self._cipher.open(row["body_enc"], f"messages.body:{row['contact_id']}")
        return Message(
            row["id"],
            row["contact_id"],
            row["sender"],
            row["author_id"],
            text,
            from_iso(row["at"]),
            row["delivery_status"],
        )


class NoteRepository:
    """Counsellors' private notes; the text is sealed, bound to its contact."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(self, tx: Transaction, contact_id: int, author_id: int, text: str) -> Note:
        """Store a note, stamped now."""
        now = tx.clock.now()
        note_id = int(
            await tx.fetchval(
                "INSERT INTO notes (contact_id, author_id, body_enc, at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (
                    contact_id,
                    author_id,
                    self._cipher.seal(text, f"notes.body:{contact_id}"),
                    to_iso(now),
                ),
            )
        )
        return Note(note_id, contact_id, author_id, text, now)

    async def of_contact(self, contact_id: int) -> list[Note]:
        """A contact's notes, oldest first."""
        rows = await self._db.fetchall(
            "SELECT id, contact_id, author_id, body_enc, at FROM notes"
            " WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        )
        return [
            Note(
                r["id"],
                r["contact_id"],
                r["author_id"],
                self._cipher.open(r["body_enc"], f"notes.body:{contact_id}"),
                from_iso(r["at"]),
            )
            for r in rows
        ]


class WrapUpRepository:
    """Wrap-ups of closed contacts; the free-text summary is sealed, bound to its contact."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(self, tx: Transaction, contact_id: int, counsellor_id: int, wrap: WrapUp) -> None:
        """Store a contact's wrap-up, stamped now (an empty summary is stored as NULL).

        `follow_up_phone` and `follow_up_owner` are deliberately not stored here: the number
        goes to the follow-up case (sealed there), and the owner is the case's.
        """
        summary = self._cipher.seal_optional(wrap.summary, f"wrap_ups.summary:{contact_id}")
        await tx.execute(
            "INSERT INTO wrap_ups (contact_id, counsellor_id, category, outcome, referral,"
            " follow_up_wanted, key_groups, summary_enc, at, follow_up_reason, caring_contacts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                contact_id,
                counsellor_id,
                wrap.category,
                wrap.outcome,
                wrap.referral,
                int(wrap.follow_up_wanted),
                json.dumps(list(wrap.key_groups)),
                summary,
                to_iso(tx.clock.now()),
                wrap.follow_up_reason,
                int(wrap.caring_contacts),
            ),
        )

    async def of_contact(self, contact_id: int) -> WrapUp | None:
        """The wrap-up recorded for a contact, or None."""
        row = await self._db.fetchone("SELECT * FROM wrap_ups WHERE contact_id = ?", (contact_id,))
        if row is None:
            return None
        summary = self._cipher.open_optional(row["summary_enc"], f"wrap_ups.summary:{contact_id}")
        return WrapUp(
            row["category"],
            row["outcome"],
            row["referral"],
            bool(row["follow_up_wanted"]),
            tuple(json.loads(row["key_groups"])),
            summary,
            follow_up_reason=row["follow_up_reason"],
            caring_contacts=bool(row["caring_contacts"]),
        )


class AssessmentRepository:
    """Counsellors' risk assessments; the safety plan and any reason are sealed."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(
        self,
        tx: Transaction,
        contact_id: int,
        counsellor_id: int,
        answers: Mapping[str, object],
        protective_factors: list[str],
        level: RiskLevel,
        safety_plan: str,
        reason: str,
    ) -> None:
        """Store one assessment, stamped now."""
        kept = {k: answers[k] for k in (*ASSESSMENT_QUESTIONS, "behaviour") if k in answers}
        await tx.execute(
            "INSERT INTO assessments (contact_id, counsellor_id, answers, protective_factors,"
            " level, safety_plan_enc, reason_enc, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                contact_id,
                counsellor_id,
                json.dumps(kept),
                json.dumps(protective_factors),
                level.value,
                self._cipher.seal_optional(safety_plan, f"assessments.safety_plan:{contact_id}"),
                self._cipher.seal_optional(reason, f"assessments.reason:{contact_id}"),
                to_iso(tx.clock.now()),
            ),
        )

    async def latest(self, contact_id: int) -> dict[str, object] | None:
        """The most recent assessment of a contact, opened for its holder."""
        row = await self._db.fetchone(
            "SELECT * FROM assessments WHERE contact_id = ? ORDER BY id DESC LIMIT 1",
            (contact_id,),
        )
        if row is None:
            return None
        return {
            "answers": json.loads(row["answers"]),
            "protective_factors": json.loads(row["protective_factors"]),
            "level": row["level"],
            "safety_plan": self._cipher.open_optional(
                row["safety_plan_enc"], f"assessments.safety_plan:{contact_id}"
            ),
            "at": from_iso(row["at"]).isoformat(),
        }


class ProtocolRepository:
    """Steps of the imminent-risk protocol; a written 'why' is sealed."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(
        self,
        tx: Transaction,
        contact_id: int,
        actor: str,
        step: str,
        done: bool,
        service: str | None,
        note: str,
    ) -> None:
        """Record one step, stamped now."""
        await tx.execute(
            "INSERT INTO protocol_steps (contact_id, actor, step, done, service, note_enc, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                contact_id,
                actor,
                step,
                int(done),
                service,
                self._cipher.seal_optional(note, f"protocol_steps.note:{contact_id}"),
                to_iso(tx.clock.now()),
            ),
        )

    async def of_contact(self, contact_id: int) -> list[dict[str, object]]:
        """The steps recorded for a contact, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM protocol_steps WHERE contact_id = ? ORDER BY id", (contact_id,)
        )
        return [
            {
                "step": row["step"],
                "done": bool(row["done"]),
                "service": row["service"],
                "actor": row["actor"],
                "note": self._cipher.open_optional(
                    row["note_enc"], f"protocol_steps.note:{contact_id}"
                ),
                "at": from_iso(row["at"]).isoformat(),
            }
            for row in rows
        ]


def _contact(row: Row) -> Contact:
    return Contact(
        id=row["id"],
        channel=Channel(row["channel"]),
        state=ContactState(row["state"]),
        risk=RiskLevel(row["risk"]),
        district=row["district"],
        lang=row["lang"],
        waiting_since=from_iso(row["waiting_since"]),
        requeued=bool(row["requeued"]),
        counsellor_id=row["counsellor_id"],
        ended_by=row["ended_by"],
        answered_at=from_iso(row["answered_at"]) if row["answered_at"] else None,
        ended_at=from_iso(row["ended_at"]) if row["ended_at"] else None,
        call_sid=row["call_sid"],
        transferred_to=row["transferred_to"],
        callback_requested=bool(row["callback_requested"]),
        incident_id=row["incident_id"],
    )
