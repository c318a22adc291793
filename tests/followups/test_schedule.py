"""When follow-ups fall due, at chosen instants: risk schedules, grades, retries, review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.followups.schedule import (
    DueKind,
    ScheduleState,
    next_due,
    points_done_after_reaching,
)
from dispatch.followups.settings import FollowUpSettings, load_followup_settings
from hotline.config import Config
from hotline.risk import RiskLevel

OPENED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def settings(config: Config) -> FollowUpSettings:
    return load_followup_settings(config)


def _state(
    settings: FollowUpSettings, risk: RiskLevel = RiskLevel.HIGH, **kw: object
) -> ScheduleState:
    values: dict[str, object] = {
        "anchor_at": OPENED,
        "offsets": settings.schedules[risk],
        "done_points": 0,
        "grade": None,
        "grade_at": None,
        "last_reached_at": None,
        "last_failed_at": None,
    }
    values.update(kw)
    return ScheduleState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("done", "due_after"), [(0, 24 * H), (1, 72 * H), (2, 7 * D), (3, 14 * D), (4, 30 * D)]
)
def test_a_high_risk_schedule_walks_24h_72h_7d_14d_30d(
    settings: FollowUpSettings, done: int, due_after: timedelta
) -> None:
    """Each completed point moves the due date to the next one, counted from the opening."""
    due = next_due(_state(settings, done_points=done, last_reached_at=OPENED + H), settings)
    assert due == type(due)(OPENED + due_after, DueKind.CONTACT)


def test_moderate_is_72h_then_14d(settings: FollowUpSettings) -> None:
    """A moderate case has two follow-ups."""
    state = _state(settings, RiskLevel.MODERATE)
    assert next_due(state, settings).at == OPENED + 72 * H
    assert (
        next_due(_state(settings, RiskLevel.MODERATE, done_points=1), settings).at
        == OPENED + 14 * D
    )


def test_a_finished_schedule_asks_for_a_review_at_once(settings: FollowUpSettings) -> None:
    """After the 30-day follow-up nothing is scheduled, so the owner must close or continue."""
    reached = OPENED + 30 * D + 2 * H
    due = next_due(_state(settings, done_points=5, last_reached_at=reached), settings)
    assert due.kind is DueKind.REVIEW and due.at == reached


def test_a_failed_attempt_keeps_the_follow_up_due_and_retries_later(
    settings: FollowUpSettings,
) -> None:
    """No answer at the 24-hour point: try again four hours later, not at the 72-hour point."""
    failed = OPENED + 25 * H
    due = next_due(_state(settings, last_failed_at=failed), settings)
    assert due.at == failed + settings.retry_after == OPENED + 29 * H
    # An attempt that fails well before the point does not pull the point earlier.
    early = OPENED + 2 * H
    assert next_due(_state(settings, last_failed_at=early), settings).at == OPENED + 24 * H


@pytest.mark.parametrize(
    ("grade", "interval"), [(0, 90 * D), (1, 14 * D), (2, 14 * D), (3, 14 * D), (5, 14 * D)]
)
def test_national_grade_intervals(
    settings: FollowUpSettings, grade: int, interval: timedelta
) -> None:
    """Grade 0: three months; grades 1-5: two weeks, from the last time the person was reached."""
    reached = OPENED + 40 * D
    state = _state(
        settings,
        RiskLevel.LOW,
        done_points=1,
        grade=grade,
        grade_at=OPENED,
        last_reached_at=reached,
    )
    due = next_due(state, settings)
    assert due == type(due)(reached + interval, DueKind.CONTACT)


def test_the_earlier_of_risk_schedule_and_grade_is_due(settings: FollowUpSettings) -> None:
    """A grade-3 person opened at high risk is due at 24 h (the schedule), not at 14 days."""
    state = _state(settings, grade=3, grade_at=OPENED)
    assert next_due(state, settings).at == OPENED + 24 * H
    # Grade 0 under a moderate schedule: 72 h comes before three months.
    state = _state(settings, RiskLevel.MODERATE, grade=0, grade_at=OPENED)
    assert next_due(state, settings).at == OPENED + 72 * H


@pytest.mark.parametrize(
    ("done", "reached_after", "expected"),
    [
        (0, 20 * H, 1),  # reached a little early: the 24-hour point is done
        (0, 26 * H, 1),
        (0, 8 * D, 3),  # reached on day 8: the 24 h, 72 h and 7 d points are all past
        (4, 31 * D, 5),
        (5, 40 * D, 5),  # never past the end
    ],
)
def test_reaching_the_person_completes_the_point_and_every_point_past(
    settings: FollowUpSettings, done: int, reached_after: timedelta, expected: int
) -> None:
    offsets = settings.schedules[RiskLevel.HIGH]
    assert points_done_after_reaching(OPENED, offsets, done, OPENED + reached_after) == expected
