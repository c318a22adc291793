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


def changes(roster: Roster, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in (start, end) at which `on_call` may answer differently, sorted, in UTC.

    Between two consecutive changes the answer is constant, so gaps, shifts and "who is next"
    are found by asking `on_call` once per stretch instead of sampling the clock. An instant
    listed here need not change the answer (a one-member layer hands over to itself).
    """
    _require_aware(start, end)
    zone = roster.zone
    points: set[datetime] = set()
    for layer in (roster.primary, roster.secondary):
        if layer is None:
            continue
        # From the shift containing `start` (or the layer's first handoff, if it has not begun).
        moment = shift_start(layer, zone, start) or _local_instant(layer.start, layer.handoff, zone)
        while moment < end:
            if moment > start:
                points.add(moment.astimezone(UTC))
            moment = _next_handoff(layer, zone, moment)
    for override in roster.overrides:
        points.update(p.astimezone(UTC) for p in (override.start, override.end) if start < p < end)
    return sorted(points)


def gaps(roster: Roster, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Time ranges in [start, end) when nobody is primary (reported on the board and CLI).

    Nobody primary is what matters: a page's first step goes to the primary, and a secondary
    alone means every page starts late. An empty or reversed window has no gaps.
    """
    _require_aware(start, end)
    if end <= start:
        return []
    found: list[tuple[datetime, datetime]] = []
    for here, there in _stretches(roster, start, end):
        if on_call(roster, here).primary is None:
            if found and found[-1][1] == here:
                found[-1] = (found[-1][0], there)
            else:
                found.append((here, there))
    return found


def next_change(
    roster: Roster, at: datetime, horizon: timedelta = timedelta(days=60)
) -> OnCall | None:
    """Who takes over next, and when: the first answer after `at` that differs from now's.

    A handoff to the same person (a one-member layer) is not a change. None when nothing
    changes within `horizon` (60 days), so a board never searches a roster without end.
    """
    _require_aware(at)
    now = on_call(roster, at)
    for moment in changes(roster, at, at + horizon):
        later = on_call(roster, moment)
        if (later.primary, later.secondary) != (now.primary, now.secondary):
            return later
    return None


@dataclass(frozen=True)
class Shift:
    """One person's unbroken stretch in a position (an event in their calendar)."""

    position: Position
    member: str
    start: datetime
    end: datetime


def shifts(roster: Roster, start: datetime, end: datetime) -> list[Shift]:
    """Who holds each position in [start, end), as stretches merged across handoffs.

    Consecutive turns of the same member (a one-member layer, or an override extending a
    shift) are one stretch, so a calendar shows one event rather than a row of identical ones.
    Stretches are clipped to the window; nobody (a gap) gives no stretch. Sorted by start,
    primary before secondary.
    """
    _require_aware(start, end)
    if end <= start:
        return []
    found: list[Shift] = []
    holding: dict[Position, Shift] = {}
    for here, there in _stretches(roster, start, end):
        answer = on_call(roster, here)
        for position, member in (
            (Position.PRIMARY, answer.primary),
            (Position.SECONDARY, answer.secondary),
        ):
            current = holding.get(position)
            if current is not None and current.member == member:
                holding[position] = Shift(position, current.member, current.start, there)
                continue
            if current is not None:
                found.append(current)
                del holding[position]
            if member is not None:
                holding[position] = Shift(position, member, here, there)
    found.extend(holding.values())
    order = list(Position)
    return sorted(found, key=lambda s: (s.start, order.index(s.position)))


def _stretches(roster: Roster, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at every change: within each piece `on_call` gives one answer."""
    points = [start.astimezone(UTC), *changes(roster, start, end)]
    return list(zip(points, [*points[1:], end.astimezone(UTC)], strict=True))


def _require_aware(*instants: datetime) -> None:
    if any(at.tzinfo is None for at in instants):
        raise ValueError("ask with an aware datetime (a time zone), not a naive one")


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
