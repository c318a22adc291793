"""When a case's next follow-up is due: a pure function of its schedule, grade and attempts.

Two clocks can drive a case. The risk schedule is a list of offsets from an anchor (the
case's opening, or the moment its risk last changed): each reached attempt completes the
point it answers and every point already past. The national danger grade, once recorded,
adds a recurring interval from the last time the person was reached (or the grade was set).
The earlier of the two is due. After a failed attempt the same follow-up stays due and is
tried again after `retry_after`. When the risk schedule is finished and no grade applies,
a review is due at once: the owner closes the case with a reason or continues it, so a case
never sits open with nothing due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch.followups.settings import FollowUpSettings


class DueKind(StrEnum):
    """What is due: a follow-up with the person, or the owner's review of a finished schedule."""

    CONTACT = "contact"
    REVIEW = "review"


@dataclass(frozen=True)
class ScheduleState:
    """The parts of a case that decide its next due date."""

    anchor_at: datetime
    offsets: tuple[timedelta, ...]
    done_points: int
    grade: int | None
    grade_at: datetime | None
    last_reached_at: datetime | None
    last_failed_at: datetime | None


@dataclass(frozen=True)
class Due:
    """A case's next due date and what is due then."""

    at: datetime
    kind: DueKind


def points(anchor: datetime, offsets: Sequence[timedelta]) -> list[datetime]:
    """The instants of a risk schedule."""
    return [anchor + offset for offset in offsets]


def next_due(state: ScheduleState, settings: FollowUpSettings) -> Due:
    """The next due date of an open case."""
    candidates: list[datetime] = []
    if state.done_points < len(state.offsets):
        candidates.append(state.anchor_at + state.offsets[state.done_points])
    if state.grade is not None:
        since = max(
            (t for t in (state.last_reached_at, state.grade_at) if t is not None),
            default=state.anchor_at,
        )
        candidates.append(since + settings.grades[state.grade].every)
    if not candidates:
        # Schedule finished: a review is due from the moment the last point was completed.
        done_at = state.last_reached_at or state.anchor_at
        return Due(done_at, DueKind.REVIEW)
    due = min(candidates)
    if state.last_failed_at is not None and (
        state.last_reached_at is None or state.last_failed_at > state.last_reached_at
    ):
        due = max(due, state.last_failed_at + settings.retry_after)
    return Due(due, DueKind.CONTACT)


def points_done_after_reaching(
    anchor: datetime, offsets: Sequence[timedelta], done_points: int, reached_at: datetime
) -> int:
    """How many risk-schedule points are complete once the person is reached at `reached_at`.

    A reached attempt completes the point it answers, even a little early, and every point
    already past: a person reached on day 8 does not owe the day-3 call any more.
    """
    past = sum(1 for p in points(anchor, offsets) if p <= reached_at)
    return min(len(offsets), max(done_points + 1, past))
