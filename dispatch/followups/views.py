"""What the follow-up pages are told: cases as JSON-ready dicts, never a name or a number.

A case's number and name leave the store only through `FollowUps.contact_details`, which
audits each read; nothing here opens them, so a list or a case page can be cached, logged by
a proxy or left open on a shared screen without disclosing who the person is. Attempt notes
are the exception the case page needs: they are opened for whoever may see the case (the
service decides), because the next caller must know what was said last time.

Owners and actors are stored as ids (`user:7`, `team:jinghu`); a display name is personal
data that may change, so labels are looked up as the view is built, once per view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch.followups.cases import Attempt, Case, CaseState, Outcome, Owner
from dispatch.followups.service import OVERSIGHT_ROLES, FollowUps
from dispatch.teams import TeamKind
from hotline.clock import to_iso
from hotline.config import Option
from hotline.errors import Forbidden, InvalidInput
from hotline.events import Event
from hotline.risk import RiskLevel
from hotline.users import Role, User, Users

# Scopes of the list page; `team:<id>` names a district team.
MINE = "mine"
ALL = "all"
FLAGGED = "flagged"
TEAM_PREFIX = "team:"
# Who may be handed a case by name (the others do not work cases).
CASE_WORKER_ROLES = (Role.COUNSELLOR, Role.SUPERVISOR)


def _iso(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


@dataclass(frozen=True)
class Scope:
    """Which open cases a list shows: the viewer's, a district team's, all, or the flagged."""

    kind: str
    team_id: str | None = None

    def __str__(self) -> str:
        return f"{TEAM_PREFIX}{self.team_id}" if self.kind == "team" else self.kind


def parse_scope(value: str | None, viewer: User, followups: FollowUps) -> Scope:
    """A list scope the viewer may use; a counsellor may only list their own cases."""
    text = (value or "").strip() or (MINE if viewer.role not in OVERSIGHT_ROLES else ALL)
    if text == MINE:
        return Scope(MINE)
    if viewer.role not in OVERSIGHT_ROLES:
        raise Forbidden("a counsellor sees only their own follow-up cases", code="not_yours")
    if text in (ALL, FLAGGED):
        return Scope(text)
    if text.startswith(TEAM_PREFIX):
        team = followups.teams.get(text[len(TEAM_PREFIX) :])
        if team is not None and team.kind is TeamKind.DISTRICT:
            return Scope("team", team.id)
    raise InvalidInput(
        "scope must be mine, all, flagged or team:<district team>",
        code="invalid_scope",
        field="scope",
    )


def parse_owner(value: object, viewer: User, followups: FollowUps) -> Owner:
    """An owner as a form sends it: "me", "user:<id>" or "team:<id>".

    A counsellor may take a case or hand it to a district team, but not give it to a named
    colleague: handing work to a person is the supervisors' call (they see who is overloaded).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("choose who follows this case up", code="invalid_owner", field="owner")
    text = value.strip()
    if text == "me":
        return Owner(user_id=viewer.id)
    kind, _, ident = text.partition(":")
    if kind == "user" and ident.isdigit():
        owner = Owner(user_id=int(ident))
        if viewer.role not in OVERSIGHT_ROLES and owner.user_id != viewer.id:
            raise Forbidden(
                "a counsellor may hand a case to a district team, not to a colleague",
                code="forbidden",
            )
        return owner
    if kind == "team" and ident:
        team = followups.teams.get(ident)
        if team is None or team.kind is not TeamKind.DISTRICT:
            raise InvalidInput(
                f"unknown district team {ident!r}", code="unknown_team", field="owner"
            )
        return Owner(team_id=ident)
    raise InvalidInput(
        'owner must be "me", "user:<id>" or "team:<id>"', code="invalid_owner", field="owner"
    )


class Labels:
    """Names for the ids a view carries (staff display names, team and district names),
    looked up once per view."""

    def __init__(self, followups: FollowUps, users: Users) -> None:
        self._followups = followups
        self._users = users
        self._staff: dict[int, User | None] = {}

    async def staff(self, user_id: int) -> User | None:
        """An active staff member (None once their account is gone)."""
        if user_id not in self._staff:
            self._staff[user_id] = await self._users.get(user_id)
        return self._staff[user_id]

    async def owner(self, owner: Owner) -> dict[str, Any]:
        """`{kind, id, label}`; a team also carries its names in both languages."""
        if owner.user_id is not None:
            user = await self.staff(owner.user_id)
            return {
                "kind": "user",
                "id": owner.user_id,
                "label": user.display_name if user else None,
                "role": user.role.value if user else None,
            }
        team = self._followups.teams.get(owner.team_id or "")
        return {
            "kind": "team",
            "id": owner.team_id,
            "label": team.name_zh if team else owner.team_id,
            "name_zh": team.name_zh if team else owner.team_id,
            "name_en": team.name_en if team else owner.team_id,
        }

    async def subject(self, subject: str) -> dict[str, Any] | None:
        """An actor or owner string (`user:7`, `team:jinghu`) as an owner dict; None for
        `system` and the like."""
        kind, _, ident = subject.partition(":")
        if kind == "user" and ident.isdigit():
            return await self.owner(Owner(user_id=int(ident)))
        if kind == "team" and ident:
            return await self.owner(Owner(team_id=ident))
        return None

    def district(self, district_id: str | None) -> dict[str, str] | None:
        """`{id, name_zh, name_en}` of a configured district."""
        if district_id is None:
            return None
        found: Option | None = self._followups.config.district(district_id)
        if found is None:
            return {"id": district_id, "name_zh": district_id, "name_en": district_id}
        return found.as_dict()


class CaseViews:
    """Builds what the list page, the case page and the live socket send."""

    def __init__(self, followups: FollowUps, users: Users) -> None:
        self.followups = followups
        self.users = users

    def labels(self) -> Labels:
        """A fresh label cache for one view."""
        return Labels(self.followups, self.users)

    async def summary(self, case: Case, labels: Labels, now: datetime) -> dict[str, Any]:
        """A case as a list row: enough to decide whom to call first."""
        return {
            "id": case.id,
            "pseudonym": case.pseudonym,
            "state": case.state.value,
            "source": case.source.value,
            "risk": case.risk.value,
            "grade": case.grade,
            "referral_flagged_at": _iso(case.referral_flagged_at),
            "district": labels.district(case.district),
            "owner": await labels.owner(case.owner),
            "next_due_at": _iso(case.next_due_at),
            "due_kind": case.due_kind.value,
            "overdue": case.state is CaseState.OPEN
            and case.next_due_at is not None
            and case.next_due_at < now,
            "overdue_stage": case.overdue_stage,
            "flagged": case.flagged.value if case.flagged else None,
            "flagged_at": _iso(case.flagged_at),
            "failed_streak": case.failed_streak,
            "caring_sms": case.caring_sms,
            "caring_sent": case.caring_sent,
            "has_phone": case.has_phone,
            "has_name": case.has_name,
            "opened_at": _iso(case.opened_at),
            "closed_at": _iso(case.closed_at),
            "close_reason": case.close_reason,
        }

    async def listing(self, scope: Scope, viewer: User) -> dict[str, Any]:
        """The list page's answer: overdue first, then due today (hotline time), then later."""
        followups = self.followups
        now = followups.db.clock.now()
        end_of_today = followups.end_of_today()
        if scope.kind == MINE:
            cases = await followups.cases.listed(owner_user_id=viewer.id)
        elif scope.kind == "team":
            cases = await followups.cases.listed(owner_team_id=scope.team_id)
        else:
            cases = await followups.cases.listed(flagged_only=scope.kind == FLAGGED)
        labels = self.labels()
        buckets: dict[str, list[dict[str, Any]]] = {"overdue": [], "due_today": [], "upcoming": []}
        for case in cases:
            row = await self.summary(case, labels, now)
            if row["overdue"]:
                buckets["overdue"].append(row)
            elif case.next_due_at is not None and case.next_due_at < end_of_today:
                buckets["due_today"].append(row)
            else:
                buckets["upcoming"].append(row)
        answer: dict[str, Any] = {
            "scope": str(scope),
            "now": to_iso(now),
            "end_of_today": to_iso(end_of_today),
            **buckets,
            "counts": {name: len(rows) for name, rows in buckets.items()},
        }
        if viewer.role in OVERSIGHT_ROLES:
            answer["undecided"] = await self.undecided(labels)
        return answer

    async def undecided(self, labels: Labels | None = None) -> list[dict[str, Any]]:
        """High-risk contacts that ended with no follow-up decision (for oversight roles)."""
        labels = labels or self.labels()
        rows = await self.followups.cases.undecided()
        return [{**row, "district": labels.district(row["district"])} for row in rows]

    async def detail(self, case: Case, viewer: User) -> dict[str, Any]:
        """The case page: the row, its schedule, attempts with notes, links, caring texts and
        history. Call only after `FollowUps.get` let the viewer see the case; showing the
        viewer notes is a read of personal data, audited (`case.notes_read`)."""
        followups = self.followups
        labels = self.labels()
        now = followups.db.clock.now()
        view = await self.summary(case, labels, now)
        view["now"] = to_iso(now)
        history = await followups.db.events_for(f"followup:{case.id}")
        view["schedule"] = followups.schedule_points(case)
        view["anchor_at"] = _iso(case.anchor_at)
        view["last_reached_at"] = _iso(case.last_reached_at)
        view["opened_by"] = await self._actor(case.opened_by, labels)
        view["attempts"] = [
            await self._attempt(attempt, labels)
            for attempt in await followups.cases.attempts(case.id)
        ]
        notes = sum(1 for attempt in view["attempts"] if attempt["note"])
        if notes:
            await followups.notes_read(case.id, viewer, notes)
        view["links"] = await followups.cases.links(case.id)
        view["caring_texts"] = await followups.cases.caring_texts(case.id)
        view["dispatches"] = [
            {
                "dispatch_id": event.data.get("dispatch_id"),
                "risk": event.data.get("risk"),
                "at": to_iso(event.at),
                "actor": await self._actor(event.actor, labels),
            }
            for event in history
            if event.kind == "followup.dispatch_requested"
        ]
        view["offer_dispatch"] = case.state is CaseState.OPEN and offers_dispatch(history)
        view["history"] = [await self._event(event, labels) for event in history]
        return view

    async def _attempt(self, attempt: Attempt, labels: Labels) -> dict[str, Any]:
        return {
            "id": attempt.id,
            "outcome": attempt.outcome.value,
            "risk": attempt.risk.value,
            "grade": attempt.grade,
            "note": attempt.note,
            "actor": await labels.owner(Owner(user_id=attempt.actor_id)),
            "due_at": _iso(attempt.due_at),
            "at": to_iso(attempt.at),
        }

    async def _actor(self, actor: str, labels: Labels) -> dict[str, Any]:
        found = await labels.subject(actor)
        return found if found is not None else {"kind": actor, "id": None, "label": None}

    async def _event(self, event: Event, labels: Labels) -> dict[str, Any]:
        """One history entry; follow-up event data holds ids and codes only (the service
        never writes a note, name or number into an event)."""
        data = dict(event.data)
        for key in ("owner", "from", "to"):
            if isinstance(data.get(key), str):
                data[key] = await labels.subject(data[key]) or data[key]
        return {
            "kind": event.kind,
            "at": to_iso(event.at),
            "actor": await self._actor(event.actor, labels),
            "data": data,
        }

    async def options(self, viewer: User) -> dict[str, Any]:
        """Every choice the pages' forms offer, with the settings behind them."""
        followups = self.followups
        settings = followups.settings
        config = followups.config
        answer: dict[str, Any] = {
            "outcomes": [outcome.value for outcome in Outcome],
            "risks": [level.value for level in sorted(RiskLevel, key=lambda r: -r.rank)],
            "grades": [
                {
                    "grade": grade.grade,
                    "every_seconds": int(grade.every.total_seconds()),
                    "referral": grade.referral,
                }
                for grade in sorted(settings.grades.values(), key=lambda g: g.grade)
            ],
            "schedules": {
                level.value: [int(o.total_seconds()) for o in offsets]
                for level, offsets in settings.schedules.items()
            },
            "close_reasons": [r.as_dict() for r in settings.close_reasons],
            "no_follow_up_reasons": [r.as_dict() for r in config.wrap_up.no_follow_up_reasons],
            "districts": [d.as_dict() for d in config.districts],
            "teams": [
                {
                    "id": team.id,
                    "name_zh": team.name_zh,
                    "name_en": team.name_en,
                    "district_id": team.district_id,
                }
                for team in followups.teams
                if team.kind is TeamKind.DISTRICT
            ],
            "languages": list(config.ui.languages),
            "time_zone": config.time_zone,
            "flag_after_failed": settings.flag_after_failed,
        }
        if viewer.role in OVERSIGHT_ROLES:
            answer["staff"] = [
                {"id": user.id, "label": user.display_name, "role": user.role.value}
                for user in await self.users.all_with_role(*CASE_WORKER_ROLES)
            ]
        return answer


def offers_dispatch(history: list[Event]) -> bool:
    """Whether the latest attempt raised the risk and no dispatch was asked for since: then
    the case page puts "request dispatch" first."""
    for event in reversed(history):
        if event.kind == "followup.dispatch_requested":
            return False
        if event.kind == "followup.attempted":
            return bool(event.data.get("risk_rose"))
    return False
