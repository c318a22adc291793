"""Facts for statistics: each contact, dispatch and follow-up due point reduced to the few
fields the figures need, read from the event log.

Statistics are computed from the event log alone (not from the contact rows), so they hold
after retention has wiped the personal data of old records, and every figure can be traced
back to appended facts. The facts keep an internal key only to join events of one subject;
the key never leaves this package (see `hotline.stats.figures`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.clock import from_iso, to_iso
from hotline.store.database import Database, Row

# Events that shape a contact's figures. A contact's arrival is its first `contact.queued`
# (the one that carries its channel); later ones are re-queues after a counsellor dropped it.
_CONTACT_KINDS = (
    "contact.queued",
    "contact.active",
    "contact.abandoned",
    "contact.transferred",
    "contact.closed",
    "contact.risk_changed",
    "contact.incident_tagged",
)
_FOLLOWUP_KINDS = (
    "followup.opened",
    "followup.attempted",
    "followup.closed",
    "followup.overdue",
)


@dataclass
class ContactFact:
    """One contact as the statistics see it: where it came from, how long it waited, how
    it ended. `queue_risk` is the level that ordered it in the queue when it was answered
    or left (its priority); `risk` is its final level (the counsellor's assessment, where
    there was one)."""

    key: int
    channel: str
    district: str | None
    arrived_at: datetime
    queue_risk: str
    risk: str
    repeat: bool
    answered_at: datetime | None = None
    abandoned_at: datetime | None = None
    transferred_at: datetime | None = None
    incident_id: int | None = None
    referral: str | None = None
    dispatched: bool = False

    @property
    def waited_seconds(self) -> float | None:
        """Seconds from arrival to the first answer (None if never answered)."""
        if self.answered_at is None:
            return None
        return (self.answered_at - self.arrived_at).total_seconds()

    @property
    def left_queue(self) -> bool:
        """True once the contact was answered, abandoned or overflowed elsewhere."""
        return (
            self.answered_at is not None
            or self.abandoned_at is not None
            or self.transferred_at is not None
        )


@dataclass
class DispatchFact:
    """One request to a responder team, and when (if ever) a member accepted it."""

    key: int
    kind: str
    district: str | None
    risk: str
    requested_at: datetime
    contact_key: int | None
    accepted_at: datetime | None = None

    @property
    def minutes_to_accept(self) -> float | None:
        """Minutes from the request to the first acceptance (None if nobody accepted)."""
        if self.accepted_at is None:
            return None
        return (self.accepted_at - self.requested_at).total_seconds() / 60


@dataclass
class FollowUpPoint:
    """One due point of a follow-up case: when a call was due, whether an attempt was made
    for it, and whether it went overdue (the overdue alarm fired for it)."""

    case_key: int
    district: str | None
    risk: str
    due_at: datetime
    contact_key: int | None
    done_at: datetime | None = None
    overdue: bool = False
    # Closed before it fell due: it was never due.
    cancelled: bool = False


@dataclass
class Facts:
    """Everything the figures of one period are computed from."""

    start: datetime
    end: datetime
    now: datetime
    contacts: list[ContactFact] = field(default_factory=list)
    dispatches: list[DispatchFact] = field(default_factory=list)
    follow_ups: list[FollowUpPoint] = field(default_factory=list)
    # Channel and incident tag of every contact a dispatch or case refers to, even one that
    # arrived before the period (so filters by channel or incident apply to them too).
    contact_tags: dict[int, tuple[str, int | None]] = field(default_factory=dict)


def _key(subject: str) -> int:
    return int(subject.split(":", 1)[1])


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" * len(values))


async def load_facts(db: Database, start: datetime, end: datetime, now: datetime) -> Facts:
    """The facts of contacts that arrived, dispatches requested and follow-ups falling due
    in [start, end). Later events of those subjects (an answer after the end) count too.

    The rows are read on the store's reader thread and turned into facts on a worker
    thread: a year of a busy line is a few seconds of work that must not hold up the event
    loop the consoles and the queue run on.
    """
    span = (to_iso(start), to_iso(end))
    contact_rows = await db.fetchall(
        f"""
        WITH arrivals AS (
            SELECT DISTINCT subject FROM events
            WHERE kind = 'contact.queued' AND at >= ? AND at < ?
              AND {db.dialect.json_text('data', 'channel')} IS NOT NULL
        )
        SELECT e.at, e.kind, e.subject, e.data FROM events e JOIN arrivals USING (subject)
        WHERE e.kind IN ({_marks(_CONTACT_KINDS)})
        ORDER BY e.id
        """,
        (*span, *_CONTACT_KINDS),
    )
    dispatch_rows = await db.fetchall(
        """
        WITH requested AS (
            SELECT DISTINCT subject FROM events
            WHERE kind = 'dispatch.requested' AND at >= ? AND at < ?
        )
        SELECT e.at, e.kind, e.subject, e.data FROM events e JOIN requested USING (subject)
        WHERE e.kind IN ('dispatch.requested', 'dispatch.accepted')
        ORDER BY e.id
        """,
        span,
    )
    follow_up_rows = await db.fetchall(
        f"SELECT at, kind, subject, data FROM events WHERE kind IN ({_marks(_FOLLOWUP_KINDS)})"
        " ORDER BY id",
        _FOLLOWUP_KINDS,
    )
    facts = Facts(start=start, end=end, now=now)
    await asyncio.to_thread(_build, facts, contact_rows, dispatch_rows, follow_up_rows)
    referenced = {d.contact_key for d in facts.dispatches} | {
        p.contact_key for p in facts.follow_ups
    }
    missing = {k for k in referenced if k is not None} - set(facts.contact_tags)
    await _tag_contacts(db, missing, facts)
    return facts


def _build(
    facts: Facts,
    contact_rows: Sequence[Row],
    dispatch_rows: Sequence[Row],
    follow_up_rows: Sequence[Row],
) -> None:
    """Turn the rows into facts (on a worker thread)."""
    contacts: dict[int, ContactFact] = {}
    for row in contact_rows:
        key, at, data = _key(row["subject"]), from_iso(row["at"]), json.loads(row["data"])
        _apply_contact_event(contacts, row["kind"], key, at, data)
    facts.contacts = [c for c in contacts.values() if facts.start <= c.arrived_at < facts.end]

    dispatches: dict[int, DispatchFact] = {}
    for row in dispatch_rows:
        key, at, data = _key(row["subject"]), from_iso(row["at"]), json.loads(row["data"])
        if row["kind"] == "dispatch.requested":
            dispatches[key] = DispatchFact(
                key=key,
                kind=str(data.get("kind", "")),
                district=data.get("district"),
                risk=str(data.get("risk", "none")),
                requested_at=at,
                contact_key=data.get("contact_id"),
            )
        elif key in dispatches and dispatches[key].accepted_at is None:
            dispatches[key].accepted_at = at
    facts.dispatches = list(dispatches.values())
    facts.follow_ups = _follow_up_points(follow_up_rows, facts.start, facts.end)

    by_key = {c.key: c for c in facts.contacts}
    for dispatch in facts.dispatches:
        if dispatch.contact_key in by_key:
            by_key[dispatch.contact_key].dispatched = True
    facts.contact_tags = {c.key: (c.channel, c.incident_id) for c in facts.contacts}


def _apply_contact_event(
    contacts: dict[int, ContactFact], kind: str, key: int, at: datetime, data: dict[str, Any]
) -> None:
    fact = contacts.get(key)
    if kind == "contact.queued":
        if fact is None and "channel" in data:
            risk = str(data.get("risk", "none"))
            contacts[key] = ContactFact(
                key=key,
                channel=str(data["channel"]),
                district=data.get("district"),
                # A contact kept in the spool while the store was away arrived before its
                # event was written: its wait counts from the arrival.
                arrived_at=from_iso(data["arrived_at"]) if "arrived_at" in data else at,
                queue_risk=risk,
                risk=risk,
                repeat=bool(data.get("repeat", False)),
            )
        return
    if fact is None:
        return
    if kind == "contact.risk_changed":
        fact.risk = str(data.get("to", fact.risk))
        if not fact.left_queue:
            fact.queue_risk = fact.risk
    elif kind == "contact.active":
        if fact.answered_at is None:
            fact.answered_at = at
    elif kind == "contact.abandoned":
        # Only a person who left while waiting abandoned: a caller hanging up in the middle
        # of a conversation is recorded as the end of an answered contact.
        if fact.answered_at is None and fact.abandoned_at is None:
            fact.abandoned_at = at
    elif kind == "contact.transferred":
        if fact.answered_at is None and fact.transferred_at is None:
            fact.transferred_at = at
    elif kind == "contact.closed":
        referral = data.get("referral")
        fact.referral = str(referral) if referral else None
    elif kind == "contact.incident_tagged":
        incident = data.get("incident_id")
        fact.incident_id = int(incident) if incident is not None else None


def _follow_up_points(
    rows: Sequence[Row], start: datetime, end: datetime
) -> list[FollowUpPoint]:
    """Every due point of every case, kept when it falls due in [start, end).

    A case's due point is set when it opens and after each attempt (`next_due_at`); the
    next attempt answers it (done), closing the case before it falls due cancels it, and a
    `followup.overdue` alarm for it (owner stage) marks it overdue.
    """
    points: list[FollowUpPoint] = []
    current: dict[int, FollowUpPoint] = {}
    for row in rows:
        key, at, data = _key(row["subject"]), from_iso(row["at"]), json.loads(row["data"])
        kind = row["kind"]
        point = current.get(key)
        if kind == "followup.opened":
            point = FollowUpPoint(
                case_key=key,
                district=data.get("district"),
                risk=str(data.get("risk", "none")),
                due_at=from_iso(data["next_due_at"]),
                contact_key=data.get("contact_id"),
            )
            current[key] = point
            points.append(point)
        elif point is None:
            continue
        elif kind == "followup.attempted":
            if point.done_at is None:
                point.done_at = at
            point = FollowUpPoint(
                case_key=key,
                district=point.district,
                risk=str(data.get("risk") or point.risk),
                due_at=from_iso(data["next_due_at"]),
                contact_key=point.contact_key,
            )
            current[key] = point
            points.append(point)
        elif kind == "followup.overdue":
            if data.get("stage") == "owner" and data.get("due_at") == to_iso(point.due_at):
                point.overdue = True
        elif kind == "followup.closed":
            if point.done_at is None and not point.overdue and at < point.due_at:
                point.cancelled = True
            del current[key]
    return [p for p in points if start <= p.due_at < end and not p.cancelled]


async def _tag_contacts(db: Database, keys: set[int], facts: Facts) -> None:
    """Channel and incident tag of contacts outside the period that dispatches or cases
    of the period refer to."""
    wanted = sorted(keys)
    for i in range(0, len(wanted), 500):
        chunk = [f"contact:{k}" for k in wanted[i : i + 500]]
        rows = await db.fetchall(
            f"SELECT kind, subject, data FROM events WHERE subject IN ({_marks(tuple(chunk))})"
            " AND kind IN ('contact.queued', 'contact.incident_tagged') ORDER BY id",
            chunk,
        )
        for row in rows:
            key, data = _key(row["subject"]), json.loads(row["data"])
            channel, incident = facts.contact_tags.get(key, ("", None))
            if row["kind"] == "contact.queued" and not channel and "channel" in data:
                channel = str(data["channel"])
            elif row["kind"] == "contact.incident_tagged":
                incident = data.get("incident_id")
            facts.contact_tags[key] = (channel, incident)
