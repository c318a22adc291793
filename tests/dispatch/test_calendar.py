"""A team's iCalendar feed: parsed back, its events match the roster, it carries no phone
numbers, and the HTTP route opens only with the team's own token."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from icalendar import Calendar

from dispatch.calendar import feed_window, team_calendar
from dispatch.config import DispatchConfig, load_dispatch_config
from dispatch.rosters import Override, Position, Roster, Rotation, RotationLayer
from dispatch.teams import Team
from dispatch.web import keys as dispatch_keys
from dispatch.web.calendar import calendar_path, calendar_token, setup_calendar
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.crypto import FieldCipher
from hotline.web import keys

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 11:00 in Shanghai


@pytest.fixture
def dispatch_config(config: Config) -> DispatchConfig:
    return load_dispatch_config(config)


@pytest.fixture
def jinghu(dispatch_config: DispatchConfig) -> Team:
    team = dispatch_config.teams.get("jinghu")
    assert team is not None
    return team


def _events(feed: bytes) -> list[dict[str, Any]]:
    calendar = Calendar.from_ical(feed)
    return [
        {
            "uid": str(event["UID"]),
            "summary": str(event["SUMMARY"]),
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
        }
        for event in calendar.walk("VEVENT")
    ]


def _phones(dispatch_config: DispatchConfig) -> list[str]:
    phones = [m.phone for t in dispatch_config.teams for m in t.members if m.phone]
    assert phones  # the demo config does carry numbers, so their absence below means something
    return phones


def test_feed_has_one_event_per_shift_in_utc(jinghu: Team) -> None:
    """Jinghu's weekly turns (Monday 09:00 Shanghai = 01:00 UTC) come back as parsed events."""
    start, end = datetime(2026, 11, 23, 1, tzinfo=UTC), datetime(2026, 12, 7, 1, tzinfo=UTC)
    feed = team_calendar(jinghu, start, end, stamp=NOW)
    calendar = Calendar.from_ical(feed)
    assert str(calendar["PRODID"]).startswith("-//Hotline//")
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "镜湖区心理援助队 值班表"
    events = _events(feed)
    assert [(e["summary"], e["start"], e["end"]) for e in events] == [
        ("镜湖区心理援助队 主值班：周红", start, start + timedelta(days=7)),
        ("镜湖区心理援助队 副值班：吴平", start, start + timedelta(days=7)),
        ("镜湖区心理援助队 主值班：赵杰", start + timedelta(days=7), end),
        ("镜湖区心理援助队 副值班：周红", start + timedelta(days=7), end),
    ]
    assert events[0]["uid"] == "jinghu-primary-20261123T010000Z@hotline"
    assert all(
        e["start"].tzinfo is not None and e["start"].utcoffset() == timedelta() for e in events
    )
    assert b"DTSTART:20261123T010000Z" in feed
    assert b"DTSTAMP:20261123T030000Z" in feed


def test_feed_in_english_and_uids_stable_across_windows(jinghu: Team) -> None:
    """English titles; an event keeps its UID when the window around it moves."""
    start = datetime(2026, 11, 23, 1, tzinfo=UTC)
    first = _events(team_calendar(jinghu, start, start + timedelta(days=14), lang="en"))
    later = _events(team_calendar(jinghu, start, start + timedelta(days=21), lang="en"))
    assert first[0]["summary"] == "Jinghu District assistance team primary on call: 周红"
    assert [e["uid"] for e in first] == [e["uid"] for e in later[: len(first)]]
    assert len({e["uid"] for e in later}) == len(later)


def test_feed_carries_no_phone_numbers(dispatch_config: DispatchConfig) -> None:
    """Calendars sync to third parties: no member's number, in any form, for any team."""
    phones = _phones(dispatch_config)
    for team in dispatch_config.teams:
        feed = team_calendar(team, NOW, NOW + timedelta(days=60)).decode("utf-8")
        unfolded = feed.replace("\r\n ", "")
        assert "VEVENT" in feed
        for phone in phones:
            assert phone not in unfolded and phone.removeprefix("+86") not in unfolded, team.id


def test_feed_follows_new_york_dst_and_overrides(jinghu: Team) -> None:
    """A New York team's 09:00 turns are 23 h across the spring change; a gap has no event."""
    roster = Roster(
        "America/New_York",
        RotationLayer(("jinghu_02", "jinghu_03"), Rotation.DAILY, time(9, 0), date(2026, 3, 1)),
        overrides=(
            Override(
                Position.PRIMARY,
                datetime(2026, 3, 9, 18, tzinfo=UTC),
                datetime(2026, 3, 9, 20, tzinfo=UTC),
                None,
            ),
        ),
    )
    team = replace(jinghu, roster=roster)
    events = _events(
        team_calendar(
            team, datetime(2026, 3, 7, 14, tzinfo=UTC), datetime(2026, 3, 10, 13, tzinfo=UTC)
        )
    )
    assert [(e["summary"][-2:], e["end"] - e["start"]) for e in events] == [
        ("赵杰", timedelta(hours=23)),  # 7 March 09:00 EST to 8 March 09:00 EDT
        ("吴平", timedelta(hours=24)),
        ("赵杰", timedelta(hours=5)),  # 9 March 13:00 UTC until the gap at 18:00
        ("赵杰", timedelta(hours=17)),  # after the gap, until 10 March 09:00 EDT
    ]


def test_feed_window_starts_at_a_utc_midnight() -> None:
    """The oldest (clipped) event keeps one UID through a day of refreshes."""
    start, end = feed_window(NOW, past_days=7, ahead_days=60)
    assert start == datetime(2026, 11, 16, tzinfo=UTC)
    assert end == NOW + timedelta(days=60)
    assert feed_window(NOW + timedelta(hours=20), past_days=7, ahead_days=60)[0] == start


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


@pytest.fixture
async def calendar_client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
    dispatch_config: DispatchConfig,
    cipher: FieldCipher,
) -> TestClient[Any, Any]:
    app = web.Application()
    app[dispatch_keys.DISPATCH_CONFIG] = dispatch_config
    app[keys.CIPHER] = cipher
    app[keys.CLOCK] = ManualClock(NOW)
    setup_calendar(app)
    return await aiohttp_client(app)


async def test_route_serves_the_feed_with_the_teams_token(
    calendar_client: TestClient[Any, Any], cipher: FieldCipher, dispatch_config: DispatchConfig
) -> None:
    """With its token a team's feed is text/calendar from a week ago to 60 days ahead."""
    response = await calendar_client.get(calendar_path(cipher, "jinghu"))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = await response.read()
    events = _events(body)
    assert min(e["start"] for e in events) == datetime(2026, 11, 16, tzinfo=UTC)
    assert max(e["end"] for e in events) == NOW + timedelta(days=60)
    assert any(e["summary"] == "镜湖区心理援助队 主值班：周红" for e in events)
    assert all(p.encode() not in body for p in _phones(dispatch_config))
    english = await calendar_client.get(
        "/dispatch/teams/jinghu/calendar.ics",
        params={"token": calendar_token(cipher, "jinghu"), "lang": "en"},
    )
    assert "primary on call" in await english.text()


@pytest.mark.parametrize(
    ("team_id", "token_for", "status"),
    [
        ("jinghu", None, 403),  # no token
        ("jinghu", "", 403),  # empty token
        ("jinghu", "city", 403),  # another team's token
        ("jinghu", "wrong", 403),  # a token made from something else
        ("atlantis", "atlantis", 404),  # no such team, whatever the token
    ],
)
async def test_route_refuses_without_the_right_token(
    calendar_client: TestClient[Any, Any],
    cipher: FieldCipher,
    team_id: str,
    token_for: str | None,
    status: int,
) -> None:
    """Calendar apps cannot log in, so the token is the lock; each team has its own."""
    params = {}
    if token_for is not None:
        params["token"] = calendar_token(cipher, token_for) if token_for else ""
    if token_for == "wrong":
        params["token"] = cipher.keyed_hash("jinghu")
    response = await calendar_client.get(f"/dispatch/teams/{team_id}/calendar.ics", params=params)
    assert response.status == status
    assert "VCALENDAR" not in await response.text()


def test_token_depends_on_the_key() -> None:
    """A new data key makes every old calendar link stop working."""
    first, second = FieldCipher(os.urandom(32)), FieldCipher(os.urandom(32))
    assert calendar_token(first, "jinghu") == calendar_token(first, "jinghu")
    assert calendar_token(first, "jinghu") != calendar_token(second, "jinghu")
    assert calendar_token(first, "jinghu") != calendar_token(first, "city")
