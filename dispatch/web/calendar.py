"""GET /dispatch/teams/{team_id}/calendar.ics: a team's on-call feed for calendar apps.

Calendar apps fetch a subscribed URL on their own, with no login and no cookies, so the feed
is guarded by a token in the URL instead: a keyed hash of the team id, which only the server
(holding the data key) can make, and which differs per team. A leaked URL shows one team's
shift times and names, never phone numbers; changing the data key revokes every URL. The
request log names the route, not the query string, so the token is not logged either.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from dispatch.calendar import feed_window, team_calendar
from dispatch.web import keys as dispatch_keys
from hotline.crypto import FieldCipher
from hotline.web import keys

CALENDAR_PATH = "/dispatch/teams/{team_id}/calendar.ics"
PAST_DAYS = 7
AHEAD_DAYS = 60


def calendar_token(cipher: FieldCipher, team_id: str) -> str:
    """The token that opens a team's calendar feed (the same on every call, per key)."""
    return cipher.keyed_hash("calendar:" + team_id)


def calendar_path(cipher: FieldCipher, team_id: str) -> str:
    """The feed's path with its token, to append to the public base URL."""
    return CALENDAR_PATH.format(team_id=team_id) + "?token=" + calendar_token(cipher, team_id)


async def team_calendar_feed(request: web.Request) -> web.Response:
    """The team's shifts from a week ago to 60 days ahead, as text/calendar."""
    team = request.app[dispatch_keys.DISPATCH_CONFIG].teams.get(request.match_info["team_id"])
    if team is None:
        return web.Response(status=404, text="no such team")
    expected = calendar_token(request.app[keys.CIPHER], team.id)
    given = request.query.get("token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return web.Response(status=403, text="this calendar link is not valid")
    now = request.app[keys.CLOCK].now()
    lang = request.query.get("lang", "zh-CN")
    start, end = feed_window(now, past_days=PAST_DAYS, ahead_days=AHEAD_DAYS)
    body = team_calendar(team, start, end, lang=lang, stamp=now)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8")


def setup_calendar(app: web.Application) -> None:
    """The calendar feed route (its token check is in the handler: calendar apps cannot log in)."""
    app.router.add_get(CALENDAR_PATH, team_calendar_feed)
