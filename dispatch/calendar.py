"""A team's on-call shifts as an iCalendar (RFC 5545) feed for its members' calendar apps.

Members subscribe to the feed so their phone reminds them of their own shifts; the feed is
built from the same pure roster functions the dispatcher pages from, so it cannot disagree
with who is actually paged. Times are written in UTC (every calendar app converts them), the
team's zone is named only as a display hint. A member's phone number never goes in: a
calendar is synced to third-party servers and shown on lock screens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from dispatch.rosters import Position, Shift, shifts
from dispatch.teams import Team

PRODID = "-//Hotline//Dispatch rosters//EN"

POSITION_NAMES = {
    "zh-CN": {Position.PRIMARY: "主值班", Position.SECONDARY: "副值班"},
    "en": {Position.PRIMARY: "primary on call", Position.SECONDARY: "secondary on call"},
}

CALENDAR_NAMES = {"zh-CN": "{team} 值班表", "en": "{team} on-call roster"}


def feed_window(now: datetime, *, past_days: int, ahead_days: int) -> tuple[datetime, datetime]:
    """The window a feed covers, starting at a UTC midnight.

    Events are clipped to the window, and a clipped event's UID is made from its clipped start;
    a start that moved with every refresh would give the oldest event a new UID each time.
    """
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=past_days), now + timedelta(days=ahead_days)


def shift_uid(team: Team, shift: Shift) -> str:
    """A UID that stays the same on every refresh, so calendar apps update events in place."""
    return f"{team.id}-{shift.position.value}-{shift.start.astimezone(UTC):%Y%m%dT%H%M%SZ}@hotline"


def shift_summary(team: Team, shift: Shift, lang: str) -> str:
    """The event's title, e.g. "镜湖区心理援助队 主值班：赵杰"."""
    member = team.member(shift.member)
    name = member.name if member is not None else shift.member
    if lang.startswith("zh"):
        return f"{team.name_zh} {POSITION_NAMES['zh-CN'][shift.position]}：{name}"
    return f"{team.name_en} {POSITION_NAMES['en'][shift.position]}: {name}"


def team_calendar(
    team: Team,
    start: datetime,
    end: datetime,
    *,
    lang: str = "zh-CN",
    stamp: datetime | None = None,
) -> bytes:
    """The team's shifts in [start, end) as a VCALENDAR, one VEVENT per person's stretch.

    `stamp` (DTSTAMP, when the feed was made) comes from the caller's clock; without one the
    window's start is used, so the same window always gives the same bytes.
    """
    zh = lang.startswith("zh")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add(
        "x-wr-calname", CALENDAR_NAMES["zh-CN" if zh else "en"].format(team=team.name(lang))
    )
    calendar.add("x-wr-timezone", team.roster.time_zone)
    # Subscribed calendars refresh on their own schedule; ask for hourly so a swap shows soon.
    calendar.add("x-published-ttl", "PT1H")
    made = (stamp or start).astimezone(UTC)
    for shift in shifts(team.roster, start, end):
        event = Event()
        event.add("uid", shift_uid(team, shift))
        event.add("dtstamp", made)
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        event.add("summary", shift_summary(team, shift, lang))
        event.add("categories", [shift.position.value])
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    feed: bytes = calendar.to_ical()  # typed as Any by icalendar
    return feed
