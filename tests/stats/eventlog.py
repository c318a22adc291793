"""A constructed event log: contacts, dispatches and follow-ups written as the hotline
writes them (real `events` rows in a real SQLite file), at chosen instants, so every figure
has an answer known beforehand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hotline.clock import ManualClock, to_iso
from hotline.store.database import Database


@dataclass
class EventLog:
    """Events to append, kept in time order when written."""

    items: list[tuple[datetime, str, str, str, dict[str, Any]]] = field(default_factory=list)
    _next_contact: int = 1
    _next_dispatch: int = 1
    _next_case: int = 1

    def add(self, at: datetime, kind: str, subject: str, data: dict[str, Any]) -> None:
        self.items.append((at, kind, subject, "system", data))

    def contact(
        self,
        at: datetime,
        *,
        channel: str = "voice",
        district: str | None = "jinghu",
        risk: str = "low",
        repeat: bool = False,
        answered_after: float | None = None,
        abandoned_after: float | None = None,
        transferred_after: float | None = None,
        assessed: str | None = None,
        referral: str | None = None,
        incident: int | None = None,
    ) -> int:
        """One contact's life; returns its id."""
        key = self._next_contact
        self._next_contact += 1
        subject = f"contact:{key}"
        self.add(at, "contact.queued", subject,
                 {"channel": channel, "district": district, "risk": risk, "repeat": repeat})
        if incident is not None:
            self.add(at + timedelta(seconds=1), "contact.incident_tagged", subject,
                     {"incident_id": incident, "via": "ivr"})
        if answered_after is not None:
            answered = at + timedelta(seconds=answered_after)
            self.add(answered, "contact.offered", subject, {"from": "queued", "to": "offered"})
            self.add(answered, "contact.active", subject, {"from": "offered", "to": "active"})
            if assessed is not None:
                self.add(answered + timedelta(minutes=2), "contact.risk_changed", subject,
                         {"from": risk, "to": assessed, "source": "assessment"})
            self.add(answered + timedelta(minutes=5), "contact.wrap_up", subject,
                     {"from": "active", "to": "wrap_up"})
            self.add(answered + timedelta(minutes=6), "contact.closed", subject,
                     {"from": "wrap_up", "to": "closed", "referral": referral or "none"})
        if abandoned_after is not None:
            self.add(at + timedelta(seconds=abandoned_after), "contact.abandoned", subject,
                     {"from": "queued", "to": "abandoned"})
        if transferred_after is not None:
            self.add(at + timedelta(seconds=transferred_after), "contact.transferred", subject,
                     {"from": "queued", "to": "transferred"})
        return key

    def dispatch(
        self, at: datetime, *, district: str | None = "jinghu", risk: str = "high",
        accepted_after_minutes: float | None = None, contact: int | None = None,
    ) -> int:
        """One dispatch request, accepted after so many minutes (or never)."""
        key = self._next_dispatch
        self._next_dispatch += 1
        subject = f"dispatch:{key}"
        self.add(at, "dispatch.requested", subject, {
            "code": f"D{key}", "kind": "crisis", "team": district or "city",
            "district": district, "risk": risk, "contact_id": contact, "policy": "default",
        })
        if accepted_after_minutes is not None:
            self.add(at + timedelta(minutes=accepted_after_minutes), "dispatch.accepted",
                     subject, {"team": district, "member": "m1", "via": "sms"})
        return key

    def follow_up(
        self, opened: datetime, due: datetime, *, district: str = "jinghu", risk: str = "high",
        attempted: datetime | None = None, overdue: bool = False,
        closed: datetime | None = None, contact: int | None = None,
    ) -> int:
        """One case with one due point: attempted (or not), gone overdue (or not), closed."""
        key = self._next_case
        self._next_case += 1
        subject = f"followup:{key}"
        self.add(opened, "followup.opened", subject, {
            "source": "wrap_up", "risk": risk, "grade": None, "district": district,
            "owner": "user:1", "contact_id": contact, "caring": False,
            "next_due_at": to_iso(due),
        })
        if overdue:
            self.add(due + timedelta(hours=1), "followup.overdue", subject,
                     {"stage": "owner", "owner": "user:1", "due_at": to_iso(due),
                      "due_kind": "schedule"})
        if attempted is not None:
            self.add(attempted, "followup.attempted", subject, {
                "outcome": "reached", "risk": risk, "risk_rose": False, "grade": None,
                "failed_streak": 0, "next_due_at": to_iso(due + timedelta(days=30)),
                "due_kind": "schedule",
            })
        if closed is not None:
            self.add(closed, "followup.closed", subject, {"reason": "safe"})
        return key

    async def write(self, db: Database, clock: ManualClock) -> None:
        """Append every event at its instant, in time order (the log's ids follow time)."""
        for at, kind, subject, actor, data in sorted(self.items, key=lambda item: item[0]):
            clock.set(at)
            async with db.transaction() as tx:
                await tx.append_event(kind, subject, actor, data)
