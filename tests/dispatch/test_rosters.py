"""Who is on call, at chosen instants: handoffs, weekly turns, DST, overrides, swaps, gaps."""

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
    gaps,
    on_call,
    swap,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

DAILY = Roster(
    "Asia/Shanghai",
    primary=RotationLayer(("wang", "li", "zhang"), Rotation.DAILY, time(8, 0), date(2026, 11, 1)),
    secondary=RotationLayer(("chen", "zhao"), Rotation.DAILY, time(8, 0), date(2026, 11, 1)),
)


def _sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("at", "primary", "secondary"),
    [
        (_sh(2026, 11, 1, 8, 0), "wang", "chen"),  # the first shift starts at the handoff
        (_sh(2026, 11, 2, 7, 59), "wang", "chen"),  # a minute before the next handoff
        (_sh(2026, 11, 2, 8, 0), "li", "zhao"),
        (_sh(2026, 11, 3, 23, 30), "zhang", "chen"),
        (_sh(2026, 11, 4, 9, 0), "wang", "zhao"),  # round again
        (_sh(2026, 11, 1, 7, 59), None, None),  # before the roster starts: a gap
    ],
)
def test_daily_handoff_in_shanghai(
    at: datetime, primary: str | None, secondary: str | None
) -> None:
    """Handoff at 08:00 local: the minute before is the old shift, the minute of, the new."""
    result = on_call(DAILY, at)
    assert (result.primary, result.secondary) == (primary, secondary)


def test_the_same_instant_asked_in_utc_gives_the_same_answer() -> None:
    """An instant is an instant: 00:00 UTC is 08:00 in Shanghai."""
    assert on_call(DAILY, datetime(2026, 11, 2, 0, 0, tzinfo=UTC)).primary == "li"
    assert on_call(DAILY, datetime(2026, 11, 1, 23, 59, tzinfo=UTC)).primary == "wang"
    with pytest.raises(ValueError, match="aware"):
        on_call(DAILY, datetime(2026, 11, 2, 8, 0))


def test_weekly_rotation() -> None:
    """A weekly layer hands over every seven days at its handoff time."""
    weekly = Roster(
        "Asia/Shanghai", RotationLayer(("a", "b"), Rotation.WEEKLY, time(9, 0), date(2026, 11, 2))
    )
    assert on_call(weekly, _sh(2026, 11, 8, 23, 0)).primary == "a"
    assert on_call(weekly, _sh(2026, 11, 9, 8, 59)).primary == "a"
    assert on_call(weekly, _sh(2026, 11, 9, 9, 0)).primary == "b"
    assert on_call(weekly, _sh(2026, 11, 16, 9, 0)).primary == "a"


def test_handoff_stays_at_local_wall_time_across_dst() -> None:
    """In Berlin the 09:00 handoff is 08:00 UTC in winter and 07:00 UTC in summer."""
    berlin = Roster(
        "Europe/Berlin", RotationLayer(("x", "y"), Rotation.DAILY, time(9, 0), date(2026, 3, 27))
    )
    # Turns: 27th x, 28th y, 29th x. 2026-03-29: clocks go forward at 02:00 (CET → CEST),
    # so the shift handing over that morning lasts 23 hours.
    assert on_call(berlin, datetime(2026, 3, 28, 7, 59, tzinfo=UTC)).primary == "x"  # 08:59 CET
    assert on_call(berlin, datetime(2026, 3, 28, 8, 0, tzinfo=UTC)).primary == "y"  # 09:00 CET
    assert on_call(berlin, datetime(2026, 3, 29, 6, 59, tzinfo=UTC)).primary == "y"  # 08:59 CEST
    assert on_call(berlin, datetime(2026, 3, 29, 7, 0, tzinfo=UTC)).primary == "x"  # 09:00 CEST


def test_handoff_in_the_skipped_hour_is_not_lost() -> None:
    """A 02:30 handoff on the spring-forward day (02:30 does not exist) still happens, once."""
    night = Roster(
        "Europe/Berlin", RotationLayer(("x", "y"), Rotation.DAILY, time(2, 30), date(2026, 3, 28))
    )
    assert on_call(night, datetime(2026, 3, 29, 1, 29, tzinfo=BERLIN)).primary == "x"
    # 02:30 CET does not exist on the wall; it is 03:30 CEST, when the handoff happens.
    assert on_call(night, datetime(2026, 3, 29, 3, 29, tzinfo=BERLIN)).primary == "x"
    assert on_call(night, datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)).primary == "y"
    assert on_call(night, datetime(2026, 3, 30, 2, 30, tzinfo=BERLIN)).primary == "x"


def test_override_replaces_then_gives_back() -> None:
    """An override puts someone else in a position for its range only; the latest wins."""
    roster = Roster(
        DAILY.time_zone,
        DAILY.primary,
        DAILY.secondary,
        (
            Override(Position.PRIMARY, _sh(2026, 11, 2, 12, 0), _sh(2026, 11, 2, 18, 0), "sun"),
            Override(Position.PRIMARY, _sh(2026, 11, 2, 14, 0), _sh(2026, 11, 2, 15, 0), "zhou"),
            Override(Position.SECONDARY, _sh(2026, 11, 2, 12, 0), _sh(2026, 11, 2, 13, 0), None),
        ),
    )
    assert on_call(roster, _sh(2026, 11, 2, 11, 59)) == OnCall(
        _sh(2026, 11, 2, 11, 59).astimezone(UTC), "li", "zhao"
    )
    assert on_call(roster, _sh(2026, 11, 2, 12, 30)).secondary is None
    assert on_call(roster, _sh(2026, 11, 2, 14, 30)).primary == "zhou"
    assert on_call(roster, _sh(2026, 11, 2, 17, 59)).primary == "sun"
    assert on_call(roster, _sh(2026, 11, 2, 18, 0)).primary == "li"


def test_swap_exchanges_two_shifts() -> None:
    """Wang and Li swap: each covers the other's whole shift, and nothing else changes."""
    swapped = swap(DAILY, _sh(2026, 11, 1, 12, 0), _sh(2026, 11, 2, 12, 0))
    assert on_call(swapped, _sh(2026, 11, 1, 12, 0)).primary == "li"
    assert on_call(swapped, _sh(2026, 11, 2, 7, 59)).primary == "li"
    assert on_call(swapped, _sh(2026, 11, 2, 8, 0)).primary == "wang"
    assert on_call(swapped, _sh(2026, 11, 3, 8, 0)).primary == "zhang"


def test_gaps_in_the_next_days_are_found() -> None:
    """An override that leaves nobody, and a roster not yet started, show up as gaps."""
    roster = Roster(
        DAILY.time_zone,
        DAILY.primary,
        DAILY.secondary,
        (Override(Position.PRIMARY, _sh(2026, 11, 5, 20, 0), _sh(2026, 11, 6, 2, 0), None),),
    )
    start = _sh(2026, 10, 31, 8, 0)
    found = gaps(roster, start, start + timedelta(days=14))
    assert found == [
        (_sh(2026, 10, 31, 8, 0), _sh(2026, 11, 1, 8, 0)),
        (_sh(2026, 11, 5, 20, 0), _sh(2026, 11, 6, 2, 0)),
    ]
    assert gaps(DAILY, _sh(2026, 11, 10, 0, 0), _sh(2026, 11, 24, 0, 0)) == []
