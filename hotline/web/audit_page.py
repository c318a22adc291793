"""The audit trail in the browser: the admins' page at /audit and its JSON API.

Only admins read the trail (the brief of issue 8: who looked at whom is itself sensitive,
and supervisors are among those it records). Others get the plain forbidden page or a JSON
403; no session gets the login form or a 401, as on every staff page. Each answer carries the
chain check made at that moment, so the banner at the top of the page cannot show a stale
"intact". Actors and account subjects are shown by login name and role, never by display
name (sealed personal data). The contract is docs/audit.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from hotline import audit
from hotline.errors import InvalidInput
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import open_staff_page, require_staff
from hotline.web.pages import render

log = structlog.get_logger(__name__)

AUDIT_ROLES = (Role.ADMIN,)
DEFAULT_PAGE = 50
MAX_PAGE = 100  # a screenful an admin can read; `audit.MAX_PAGE` guards the store
MAX_DIGITS = 12
MAX_FILTER_CHARS = 64
_ACTION = re.compile(r"[a-z0-9_.]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

FORBIDDEN_TEXT = {
    "zh-CN": "您的角色（{role}）不能查看审计记录；只有管理员可以。",
    "en": "Your role ({role}) cannot read the audit trail; only administrators can.",
}


# -- parsing -------------------------------------------------------------------------------


def _whole_number(query: Mapping[str, str], name: str, *, default: int | None = None) -> int | None:
    """A positive whole number from the query string (absent or empty: the default)."""
    text = query.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > MAX_DIGITS or int(text) < 1:
        raise InvalidInput(f"{name} must be a whole number above 0", field=name)
    return int(text)


def _filter_text(query: Mapping[str, str], name: str) -> str | None:
    text = query.get(name, "").strip()
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"{name} may be at most {MAX_FILTER_CHARS} characters", field=name)
    return text or None


def _day_start(query: Mapping[str, str], name: str, zone: ZoneInfo) -> datetime | None:
    """The first instant of a `YYYY-MM-DD` day in the hotline's own time zone: the dates an
    admin types are the dates on the hotline's clock, not UTC's."""
    text = query.get(name, "").strip()
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-11-23", field=name) from None
    return datetime.combine(day, time(), zone)


@dataclass(frozen=True)
class AuditQuery:
    """What the page asked for: a page size, a cursor and the filters."""

    limit: int
    before_id: int | None
    action: str | None
    actor: str | None
    since: datetime | None
    until: datetime | None


def parse_query(query: Mapping[str, str], zone: ZoneInfo) -> AuditQuery:
    """`?before_id=&limit=&action=&actor=&from=&to=`, each checked, with a message that says
    what to type instead (400 through the error middleware)."""
    limit = _whole_number(query, "limit", default=DEFAULT_PAGE)
    if limit is None or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}", field="limit")
    action = _filter_text(query, "action")
    if action is not None and not _ACTION.fullmatch(action):
        raise InvalidInput(
            "action is a code like history.opened (letters, digits, '.', '_')", field="action"
        )
    since = _day_start(query, "from", zone)
    last_day = _day_start(query, "to", zone)
    # `to` names the last day shown, whole; `browse` wants the first instant after it.
    until = None if last_day is None else _next_day(last_day, zone)
    if since is not None and last_day is not None and since > last_day:
        raise InvalidInput("from must not be after to", field="from")
    return AuditQuery(
        limit=limit,
        before_id=_whole_number(query, "before_id"),
        action=action,
        actor=_filter_text(query, "actor"),
        since=since,
        until=until,
    )


def _next_day(start: datetime, zone: ZoneInfo) -> datetime:
    """Midnight after `start`'s day, by the calendar (a DST day is 23 or 25 hours long)."""
    return datetime.combine(start.date() + timedelta(days=1), time(), zone)


# -- the shapes sent ---------------------------------------------------------------------------


def _account_json(account: audit.Account | None) -> dict[str, str] | None:
    return None if account is None else {"username": account.username, "role": account.role}


def record_json(record: audit.AuditRecord) -> dict[str, Any]:
    """One record on the wire."""
    return {
        "id": record.id,
        "at": record.at,
        "actor": record.actor,
        "actor_account": _account_json(record.actor_account),
        "action": record.action,
        "subject": record.subject,
        "subject_account": _account_json(record.subject_account),
        "purpose": record.purpose,
        "data": record.data,
    }


def chain_json(result: audit.Verification) -> dict[str, Any]:
    """The chain check as the page's banner reads it."""
    return {
        "checked": result.checked,
        "intact": result.intact,
        "broken_at": result.broken_at,
        "problem": result.problem or None,
    }


# -- handlers ------------------------------------------------------------------------------


async def audit_page(request: web.Request) -> web.StreamResponse:
    """GET /audit: the page for admins; the login form without a session, else 403."""
    page = await open_staff_page(request, AUDIT_ROLES, FORBIDDEN_TEXT)
    if isinstance(page, web.Response):
        return page
    return render("audit.html", request.app[keys.CONFIG], **page.values(request))


async def get_audit(request: web.Request) -> web.Response:
    """GET /api/audit: one page of records, the cursor to the next, the actions for the
    filter, and the chain check made now."""
    await require_staff(request, AUDIT_ROLES)
    app = request.app
    asked = parse_query(request.query, ZoneInfo(app[keys.CONFIG].time_zone))
    db = app[keys.DATABASE]
    # One more than asked says whether an older page exists, without counting the trail.
    records = await audit.browse(
        db,
        before_id=asked.before_id,
        limit=asked.limit + 1,
        action=asked.action,
        actor=asked.actor,
        since=asked.since,
        until=asked.until,
    )
    more = len(records) > asked.limit
    records = records[: asked.limit]
    chain = await audit.verify_off_loop(db)
    if not chain.intact:
        log.warning("audit_chain_broken", broken_at=chain.broken_at, checked=chain.checked)
    return web.json_response(
        {
            "records": [record_json(record) for record in records],
            "next_before_id": records[-1].id if more else None,
            "actions": await audit.recorded_actions(db),
            "chain": chain_json(chain),
        }
    )


def setup_audit_page(app: web.Application) -> None:
    """Routes of the audit page and its API."""
    app.router.add_get("/audit", audit_page)
    app.router.add_get("/api/audit", get_audit)
