"""The records of follow-up: a case (a pseudonymous person at risk), its attempts and links.

A case carries no name or number in clear; the repository seals them and opens them only
for the few reads that need them (a call, a caring text), each of which is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch.followups.schedule import DueKind, ScheduleState
from hotline.risk import RiskLevel


class CaseState(StrEnum):
    """Open until someone closes it with a reason."""

    OPEN = "open"
    CLOSED = "closed"


class CaseSource(StrEnum):
    """Where a case came from."""

    WRAP_UP = "wrap_up"
    MANUAL = "manual"
    INCIDENT = "incident"


class Outcome(StrEnum):
    """How a follow-up attempt went; anything but `reached` counts as failed."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    WRONG_NUMBER = "wrong_number"


class LinkKind(StrEnum):
    """How a contact came to belong to a case."""

    ORIGIN = "origin"
    REPLY = "reply"
    REPEAT = "repeat"
    MANUAL = "manual"


class Flag(StrEnum):
    """Why a supervisor must look at a case."""

    FAILED_ATTEMPTS = "failed_attempts"


@dataclass(frozen=True)
class Owner:
    """Who follows a case up: one counsellor, or a district's team."""

    user_id: int | None = None
    team_id: str | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.team_id is None):
            raise ValueError("an owner is a counsellor or a team, exactly one")

    @property
    def subject(self) -> str:
        """The owner as an event field ('user:7' or 'team:jinghu')."""
        return f"user:{self.user_id}" if self.user_id is not None else f"team:{self.team_id}"


@dataclass(frozen=True)
class Case:
    """A follow-up case as stored (no personal data in clear)."""

    id: int
    pseudonym: str
    state: CaseState
    source: CaseSource
    lang: str
    district: str | None
    risk: RiskLevel
    grade: int | None
    grade_at: datetime | None
    referral_flagged_at: datetime | None
    owner: Owner
    caring_sms: bool
    caring_sent: int
    anchor_at: datetime
    offsets: tuple[timedelta, ...]
    done_points: int
    last_reached_at: datetime | None
    last_failed_at: datetime | None
    failed_streak: int
    next_due_at: datetime | None
    due_kind: DueKind
    overdue_stage: int
    flagged: Flag | None
    flagged_at: datetime | None
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    person_hash: str | None
    phone_hash: str | None
    has_phone: bool
    has_name: bool

    @property
    def schedule_state(self) -> ScheduleState:
        """The inputs of `schedule.next_due`."""
        return ScheduleState(
            anchor_at=self.anchor_at,
            offsets=self.offsets,
            done_points=self.done_points,
            grade=self.grade,
            grade_at=self.grade_at,
            last_reached_at=self.last_reached_at,
            last_failed_at=self.last_failed_at,
        )


@dataclass(frozen=True)
class Attempt:
    """One follow-up attempt and the fresh risk assessment made with it."""

    id: int
    case_id: int
    actor_id: int
    outcome: Outcome
    risk: RiskLevel
    grade: int | None
    note: str
    due_at: datetime | None
    at: datetime


@dataclass(frozen=True)
class NewCase:
    """What opening a case needs. `phone` and `name` are personal data: sealed on write."""

    source: CaseSource
    risk: RiskLevel
    lang: str
    owner: Owner
    opened_by: str
    district: str | None = None
    phone: str | None = None
    name: str | None = None
    person_hash: str | None = None
    caring: bool = False
    grade: int | None = None
    contact_id: int | None = None
    # A schedule of its own (an incident tier's), instead of the one for its risk level.
    schedule: tuple[timedelta, ...] | None = None
