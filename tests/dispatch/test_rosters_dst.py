"""Rosters at chosen instants: New York across its 2026 DST changes beside Shanghai, handoff
boundaries to the microsecond, overlapping overrides, swaps, gaps, who is next, and shifts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.rosters import (
    OnCall,
    Override,
    Position,
    Roster,
    Rotation,
    RotationLayer,
    Shift,
    changes,
    gaps,
    next_change,
    on_call,
    shifts,
    swap,
)

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
US = timedelta(microseconds=1)

# The same layers in two zones: daily a → b → c from 1 March, weekly x → y from Monday 2 March,
# both handing over at 09:00 local. In 2026 New York springs forward on Sunday 8 March and
# falls back on Sunday 1 November; Shanghai has no DST.
DAILY = RotationLayer(("a", "b", "c"), Rotation.DAILY, time(9, 0), date(2026, 3, 1))
WEEKLY = RotationLayer(("x", "y"), Rotation.WEEKLY, time(9, 0), date(2026, 3, 2))
NY = Roster("America/New_York", DAILY, WEEKLY)
SH = Roster("Asia/Shanghai", DAILY, WEEKLY)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("at", "new_york", "shanghai"),
    [
        # 7 March, still EST (UTC-5): New York's 09:00 handoff is 14:00 UTC.
        (_utc(2026, 3, 7, 14) - US, "c", "a"),
        (_utc(2026, 3, 7, 14), "a", "a"),
        # 8 March, now EDT (UTC-4): the 09:00 handoff is 13:00 UTC, so a's shift lasted 23 h.
        (_utc(2026, 3, 8, 13) - US, "a", "b"),
        (_utc(2026, 3, 8, 13), "b", "b"),
        (_utc(2026, 3, 8, 13, 30), "b", "b"),  # a fixed UTC offset would still say a
        # Shanghai's 09:00 is 01:00 UTC all year.
        (_utc(2026, 3, 8, 1) - US, "a", "a"),
        (_utc(2026, 3, 8, 1), "a", "b"),
        # 31 October 09:00 EDT is 13:00 UTC; 1 November 09:00 EST is 14:00 UTC: b's shift is 25 h.
        (_utc(2026, 10, 31, 13) - US, "a", "b"),
        (_utc(2026, 10, 31, 13), "b", "b"),
        (_utc(2026, 11, 1, 13, 30), "b", "c"),  # a fixed UTC offset would already say c
        (_utc(2026, 11, 1, 14) - US, "b", "c"),
        (_utc(2026, 11, 1, 14), "c", "c"),
    ],
)
def test_daily_handoff_across_dst_beside_shanghai(
    at: datetime, new_york: str, shanghai: str
) -> None:
    """The same UTC instant: New York's handoff follows its wall clock, Shanghai's never moves."""
    assert on_call(NY, at).primary == new_york
    assert on_call(SH, at).primary == shanghai


@pytest.mark.parametrize(
    ("at", "new_york", "shanghai"),
    [
        # Monday 9 March 09:00 EDT is 13:00 UTC: the week that began at 14:00 UTC lasted 167 h.
        (_utc(2026, 3, 9, 1) - US, "x", "x"),
        (_utc(2026, 3, 9, 1), "x", "y"),
        (_utc(2026, 3, 9, 13) - US, "x", "y"),
        (_utc(2026, 3, 9, 13), "y", "y"),
        # Monday 2 November 09:00 EST is 14:00 UTC: the week that began at 13:00 UTC lasted 169 h.
        (_utc(2026, 11, 2, 1) - US, "x", "x"),
        (_utc(2026, 11, 2, 13, 30), "x", "y"),
        (_utc(2026, 11, 2, 14) - US, "x", "y"),
        (_utc(2026, 11, 2, 14), "y", "y"),
    ],
)
def test_weekly_handoff_across_dst_beside_shanghai(
    at: datetime, new_york: str, shanghai: str
) -> None:
    """Weekly secondary turns hand over at Monday 09:00 local in either zone."""
    assert on_call(NY, at).secondary == new_york
    assert on_call(SH, at).secondary == shanghai


def test_shift_lengths_follow_the_wall_clock() -> None:
    """Shifts spanning the changes last 23 h (spring) and 25 h (autumn); Shanghai's stay 24 h."""
    spring = shifts(NY, _utc(2026, 3, 7, 14), _utc(2026, 3, 8, 13))
    autumn = shifts(NY, _utc(2026, 10, 31, 13), _utc(2026, 11, 1, 14))
    assert [(s.member, s.end - s.start) for s in spring if s.position is Position.PRIMARY] == [
        ("a", timedelta(hours=23))
    ]
    assert [(s.member, s.end - s.start) for s in autumn if s.position is Position.PRIMARY] == [
        ("b", timedelta(hours=25))
    ]
    week = shifts(NY, _utc(2026, 3, 2, 14), _utc(2026, 3, 9, 13))
    assert [(s.member, s.end - s.start) for s in week if s.position is Position.SECONDARY] == [
        ("x", timedelta(hours=167))
    ]
    shanghai = shifts(SH, _utc(2026, 3, 7, 1), _utc(2026, 3, 10, 1))
    primary = [s for s in shanghai if s.position is Position.PRIMARY]
    assert {s.end - s.start for s in primary} == {timedelta(hours=24)}


def test_handoff_in_the_repeated_hour_happens_once() -> None:
    """01:30 happens twice on 1 November in New York; the handoff is at the first, not both."""
    night = Roster(
        "America/New_York",
        RotationLayer(("p", "q"), Rotation.DAILY, time(1, 30), date(2026, 10, 31)),
    )
    first = _utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    second = _utc(2026, 11, 1, 6, 30)  # 01:30 EST, an hour later
    assert on_call(night, first - US).primary == "p"
    assert on_call(night, first).primary == "q"
    assert on_call(night, second).primary == "q"
    assert changes(night, _utc(2026, 11, 1), _utc(2026, 11, 2)) == [first]


def test_overlapping_overrides_later_wins_and_earlier_resumes() -> None:
    """The override listed later wins while both are in force; the earlier one then resumes."""
    wide = Override(Position.PRIMARY, _ny(2026, 3, 8, 0, 0), _ny(2026, 3, 8, 12, 0), "sun")
    narrow = Override(Position.PRIMARY, _ny(2026, 3, 8, 4, 0), _ny(2026, 3, 8, 6, 0), "zhou")
    roster = Roster(NY.time_zone, DAILY, WEEKLY, (wide, narrow))
    assert on_call(roster, _ny(2026, 3, 8, 0, 0) - US).primary == "a"
    assert on_call(roster, _ny(2026, 3, 8, 0, 0)).primary == "sun"
    assert on_call(roster, _ny(2026, 3, 8, 4, 0) - US).primary == "sun"
    assert on_call(roster, _ny(2026, 3, 8, 4, 0)).primary == "zhou"
    assert on_call(roster, _ny(2026, 3, 8, 6, 0) - US).primary == "zhou"
    assert on_call(roster, _ny(2026, 3, 8, 6, 0)).primary == "sun"  # the earlier one resumes
    # 09:00 handoff to b happens underneath; it shows once the override ends at noon.
    assert on_call(roster, _ny(2026, 3, 8, 12, 0) - US).primary == "sun"
    assert on_call(roster, _ny(2026, 3, 8, 12, 0)).primary == "b"
    assert on_call(roster, _ny(2026, 3, 8, 5, 0)).secondary == "x"  # secondary untouched
    # Listed the other way round, the wide override (now later) hides the narrow one entirely.
    flipped = Roster(NY.time_zone, DAILY, WEEKLY, (narrow, wide))
    assert on_call(flipped, _ny(2026, 3, 8, 5, 0)).primary == "sun"
    # Midnight to noon on the spring-forward day is 11 real hours; zhou holds 2 of them.
    spans = [s for s in shifts(roster, _utc(2026, 3, 8), _utc(2026, 3, 9)) if s.member == "sun"]
    assert [s.end - s.start for s in spans] == [timedelta(hours=3), timedelta(hours=6)]


def test_swap_across_the_spring_change() -> None:
    """a and b swap 7 and 8 March: each takes the other's whole shift, however long it is."""
    swapped = swap(NY, _ny(2026, 3, 7, 12, 0), _ny(2026, 3, 8, 12, 0))
    assert on_call(swapped, _utc(2026, 3, 7, 14) - US).primary == "c"
    assert on_call(swapped, _utc(2026, 3, 7, 14)).primary == "b"
    assert on_call(swapped, _utc(2026, 3, 8, 13) - US).primary == "b"
    assert on_call(swapped, _utc(2026, 3, 8, 13)).primary == "a"
    assert on_call(swapped, _utc(2026, 3, 9, 13) - US).primary == "a"
    assert on_call(swapped, _utc(2026, 3, 9, 13)).primary == "c"
    primary = [
        (s.member, s.start, s.end)
        for s in shifts(swapped, _utc(2026, 3, 7, 14), _utc(2026, 3, 9, 13))
        if s.position is Position.PRIMARY
    ]
    assert primary == [
        ("b", _utc(2026, 3, 7, 14), _utc(2026, 3, 8, 13)),
        ("a", _utc(2026, 3, 8, 13), _utc(2026, 3, 9, 13)),
    ]
    with pytest.raises(ValueError, match="two shifts"):
        swap(NY, _ny(2026, 2, 1, 12, 0), _ny(2026, 3, 8, 12, 0))  # before the rotation starts


def test_gaps_from_overrides_of_nobody() -> None:
    """Nobody primary is a gap; adjacent ones merge; nobody secondary is not a gap."""
    roster = Roster(
        NY.time_zone,
        DAILY,
        WEEKLY,
        (
            # 01:00-04:00 on the spring-forward night is two real hours.
            Override(Position.PRIMARY, _ny(2026, 3, 8, 1, 0), _ny(2026, 3, 8, 4, 0), None),
            Override(Position.PRIMARY, _ny(2026, 3, 10, 20, 0), _ny(2026, 3, 11, 2, 0), None),
            Override(Position.PRIMARY, _ny(2026, 3, 11, 2, 0), _ny(2026, 3, 11, 9, 30), None),
            Override(Position.SECONDARY, _ny(2026, 3, 12, 0, 0), _ny(2026, 3, 13, 0, 0), None),
            Override(Position.PRIMARY, _ny(2026, 3, 13, 20, 0), _ny(2026, 3, 20, 0, 0), None),
        ),
    )
    start, end = _utc(2026, 3, 7), _utc(2026, 3, 14, 12)
    assert gaps(roster, start, end) == [
        (_utc(2026, 3, 8, 6), _utc(2026, 3, 8, 8)),
        (_utc(2026, 3, 11, 0), _utc(2026, 3, 11, 13, 30)),  # two overrides, one gap
        (_utc(2026, 3, 14, 0), end),  # clipped to the window's end
    ]
    assert gaps(roster, end, start) == []  # a reversed window has nothing in it
    assert gaps(roster, start, start) == []
    # A window that opens inside a gap starts the gap at the window's start.
    assert gaps(roster, _utc(2026, 3, 8, 7), _utc(2026, 3, 9))[0] == (
        _utc(2026, 3, 8, 7),
        _utc(2026, 3, 8, 8),
    )
    # Before the rotation's first handoff nobody is on call.
    assert gaps(NY, _utc(2026, 2, 28), _utc(2026, 3, 2)) == [
        (_utc(2026, 2, 28), _utc(2026, 3, 1, 14))
    ]
    with pytest.raises(ValueError, match="aware"):
        gaps(NY, datetime(2026, 3, 1), datetime(2026, 3, 2))


def test_changes_lists_handoffs_and_override_edges_inside_the_window() -> None:
    """Every instant the answer may change, once each, strictly inside the window, sorted."""
    override = Override(Position.SECONDARY, _ny(2026, 3, 9, 12, 0), _ny(2026, 3, 9, 15, 0), "q")
    roster = Roster(NY.time_zone, DAILY, WEEKLY, (override,))
    found = changes(roster, _utc(2026, 3, 8, 13), _utc(2026, 3, 10, 13))
    # 8 March 13:00 UTC is the window's start (excluded); 10 March 13:00 its end (excluded).
    # 9 March 09:00 EDT is both a daily and a weekly handoff: listed once.
    assert found == [_utc(2026, 3, 9, 13), _utc(2026, 3, 9, 16), _utc(2026, 3, 9, 19)]
    assert all(at.tzinfo is UTC for at in found)


def test_next_change_is_the_next_different_answer() -> None:
    """Who is next: a handoff to the same person is no change; an override of nobody is one."""
    assert next_change(NY, _utc(2026, 3, 8, 12)) == OnCall(_utc(2026, 3, 8, 13), "b", "x")
    assert next_change(NY, _utc(2026, 3, 8, 13)) == OnCall(_utc(2026, 3, 9, 13), "c", "y")
    solo = Roster(
        "America/New_York",
        RotationLayer(("solo",), Rotation.DAILY, time(8, 0), date(2026, 3, 1)),
        WEEKLY,
    )
    # Daily 08:00 handoffs from solo to solo do not count; the weekly secondary's 09:00 does.
    assert next_change(solo, _utc(2026, 3, 3)) == OnCall(_utc(2026, 3, 9, 13), "solo", "y")
    alone = Roster(solo.time_zone, solo.primary)
    assert next_change(alone, _utc(2026, 3, 3)) is None  # nothing changes within 60 days
    hole = Override(Position.PRIMARY, _ny(2026, 3, 4, 20, 0), _ny(2026, 3, 5, 8, 0), None)
    assert next_change(Roster(alone.time_zone, alone.primary, None, (hole,)), _utc(2026, 3, 3)) == (
        OnCall(_utc(2026, 3, 5, 1), None, None)
    )


def test_shifts_merge_same_member_and_split_around_an_override() -> None:
    """One event per unbroken stretch: an override in the middle splits a shift in three."""
    solo = Roster(
        "Asia/Shanghai",
        RotationLayer(("wang",), Rotation.DAILY, time(8, 0), date(2026, 11, 1)),
        overrides=(
            Override(
                Position.PRIMARY,
                datetime(2026, 11, 3, 12, 0, tzinfo=SHANGHAI),
                datetime(2026, 11, 3, 14, 0, tzinfo=SHANGHAI),
                "li",
            ),
            Override(
                Position.SECONDARY,
                datetime(2026, 11, 4, 0, 0, tzinfo=SHANGHAI),
                datetime(2026, 11, 4, 6, 0, tzinfo=SHANGHAI),
                "zhao",
            ),
        ),
    )
    start, end = _utc(2026, 11, 2), _utc(2026, 11, 6)
    assert shifts(solo, start, end) == [
        Shift(Position.PRIMARY, "wang", start, _utc(2026, 11, 3, 4)),
        Shift(Position.PRIMARY, "li", _utc(2026, 11, 3, 4), _utc(2026, 11, 3, 6)),
        Shift(Position.PRIMARY, "wang", _utc(2026, 11, 3, 6), end),
        # A secondary by override alone, in a roster without a secondary layer.
        Shift(Position.SECONDARY, "zhao", _utc(2026, 11, 3, 16), _utc(2026, 11, 3, 22)),
    ]
    assert shifts(solo, end, start) == []
