"""On-call rosters: who is on call for a team at an instant, as a pure function.

A roster has rotation layers (the primary, and optionally the secondary) that hand over
daily or weekly at a wall-clock time in a named time zone, and overrides that put someone
else (or nobody) in a position for a time range. Handoffs are computed in the roster's
local time with `zoneinfo`, so a handoff at 09:00 stays at 09:00 across a daylight-saving
change (that day's shift is an hour shorter or longer), and Asia/Shanghai, which has no
DST, is simply the common case. Nothing here reads a clock: the instant is an argument, so
every rule is tested at chosen instants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Rotation(StrEnum):
    """How often a layer hands over to the next member."""

    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def days(self) -> int:
        """Length of one shift in (local calendar) days."""
        return 1 if self is Rotation.DAILY else 7


class Position(StrEnum):
    """Who is called first, and who if the first does not answer."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class RotationLayer:
    """Members taking turns, from `start` (a local date) at `handoff` (local wall-clock time)."""

    members: tuple[str, ...]
    rotation: Rotation
    handoff: time
    start: date

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a rotation layer needs at least one member")


@dataclass(frozen=True)
class Override:
    """Someone else (or nobody, `member=None`) in a position from `start` until `end`."""

    position: Position
    start: datetime
    end: datetime
    member: str | None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("override times must be aware datetimes")
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")

    def covers(self, at: datetime) -> bool:
        """True while the override is in force."""
        return self.start <= at < self.end


@dataclass(frozen=True)
class Roster:
    """A team's on-call arrangement in one time zone."""

    time_zone: str
    primary: RotationLayer
    secondary: RotationLayer | None = None
    overrides: tuple[Override, ...] = field(default_factory=tuple)

    @property
    def zone(self) -> ZoneInfo:
        """The roster's time zone."""
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class OnCall:
    """Who answers for a team at an instant (None: nobody, a gap)."""

    at: datetime
    primary: str | None
    secondary: str | None


def shift_start(layer: RotationLayer, zone: ZoneInfo, at: datetime) -> datetime | None:
    """The start of the shift of `layer` that contains `at`; None before the layer starts."""
    day = at.astimezone(zone).date()
    if at < _local_instant(day, layer.handoff, zone):
        day -= timedelta(days=1)  # before today's handoff: still yesterday's shift
    elapsed = (day - layer.start).days
    if elapsed < 0:
        return None
    day -= timedelta(days=elapsed % layer.rotation.days)
    return _local_instant(day, layer.handoff, zone)


def shift_member(layer: RotationLayer, zone: ZoneInfo, at: datetime) -> str | None:
    """The member whose turn it is in `layer` at `at`."""
    start = shift_start(layer, zone, at)
    if start is None:
        return None
    shifts = (start.astimezone(zone).date() - layer.start).days // layer.rotation.days
    return layer.members[shifts % len(layer.members)]


def on_call(roster: Roster, at: datetime) -> OnCall:
    """Primary and secondary on call at an instant: rotations, then overrides on top."""
    if at.tzinfo is None:
        raise ValueError("ask with an aware datetime (a time zone), not a naive one")
    zone = roster.zone
    primary = shift_member(roster.primary, zone, at)
    secondary = shift_member(roster.secondary, zone, at) if roster.secondary else None
    # The latest override that covers the instant wins, so a correction to a correction works.
    for override in roster.overrides:
        if override.covers(at):
            if override.position is Position.PRIMARY:
                primary = override.member
            else:
                secondary = override.member
    return OnCall(at.astimezone(UTC), primary, secondary)


def swap(roster: Roster, first: datetime, second: datetime) -> Roster:
    """Two primary members exchange the shifts containing `first` and `second`."""
    zone = roster.zone
    spans = []
    for at in (first, second):
        start = shift_start(roster.primary, zone, at)
        if start is None:
            raise ValueError("a swap needs two shifts of the rotation")
        spans.append((start, _next_handoff(roster.primary, zone, start)))
    a = shift_member(roster.primary, zone, first)
    b = shift_member(roster.primary, zone, second)
    swapped = (
        Override(Position.PRIMARY, spans[0][0], spans[0][1], b),
        Override(Position.PRIMARY, spans[1][0], spans[1][1], a),
    )
    return Roster(roster.time_zone, roster.primary, roster.secondary, roster.overrides + swapped)


def gaps(roster: Roster, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Time ranges in [start, end) when nobody is primary (reported on the board and CLI).

    Checked at every instant where the answer can change: the window's start, each handoff,
    and each override's start and end.
    """
    zone = roster.zone
    points = {start}
    layer = roster.primary
    moment = shift_start(layer, zone, start) or _local_instant(layer.start, layer.handoff, zone)
    while moment < end:
        if moment > start:
            points.add(moment)
        moment = _next_handoff(layer, zone, moment)
    for override in roster.overrides:
        points.update(p for p in (override.start, override.end) if start < p < end)
    found: list[tuple[datetime, datetime]] = []
    ordered = sorted(points)
    for here, there in zip(ordered, [*ordered[1:], end], strict=True):
        if on_call(roster, here).primary is None:
            if found and found[-1][1] == here:
                found[-1] = (found[-1][0], there)
            else:
                found.append((here, there))
    return found


def _next_handoff(layer: RotationLayer, zone: ZoneInfo, shift: datetime) -> datetime:
    day = shift.astimezone(zone).date() + timedelta(days=layer.rotation.days)
    return _local_instant(day, layer.handoff, zone)


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant a local wall-clock time happens on a day.

    A wall-clock time skipped by a spring-forward change does not exist that day; it is read
    with the offset in force before the change (02:30 CET is 03:30 CEST), so that day's
    handoff comes an hour later on the wall clock, and no shift is lost or doubled.
    """
    local = datetime.combine(day, wall, tzinfo=zone)
    # Round-trip through UTC normalises a non-existent local time to the real instant.
    return local.astimezone(UTC).astimezone(zone)
