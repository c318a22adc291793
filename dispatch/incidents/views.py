"""What the incident board shows, as JSON-ready data (contract: docs/incidents-api.md).

Aggregates and pseudonyms only: a registered person appears by pseudonym, district, tier,
exposures, risk and owner, never by name or phone; contacts tagged to the incident are
counted by risk, never listed. The declared description is the one sealed text opened here,
and only the board's roles (coordinators, supervisors, admins) reach these views.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from dispatch.incidents.plans import INCIDENT_DISTRICTS, Plan
from dispatch.incidents.records import Exposure, Incident, IncidentState
from dispatch.incidents.report import TIMELINE_KINDS
from dispatch.incidents.service import IncidentDesk, accepted
from dispatch.lifecycle import DispatchState
from hotline.clock import from_iso
from hotline.risk import RiskLevel


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _at(value: str | None) -> str | None:
    """A stored timestamp as the pages receive it (ISO 8601 with its offset)."""
    return from_iso(value).isoformat() if value else None


class IncidentViews:
    """Builds the board's JSON from the incident desk's store and configuration."""

    def __init__(self, incidents: IncidentDesk) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.teams = incidents.desk.dispatch_config.teams

    # -- names -----------------------------------------------------------------------------

    def team(self, team_id: str | None) -> dict[str, Any] | None:
        """A team's id and names (None for no team)."""
        if not team_id:
            return None
        team = self.teams.get(team_id)
        if team is None:
            return {"id": team_id, "name_zh": team_id, "name_en": team_id}
        return {"id": team.id, "name_zh": team.name_zh, "name_en": team.name_en}

    def responder(self, member_id: str) -> dict[str, Any]:
        """A responder (team member id) with their name and team from the teams config."""
        for team in self.teams:
            member = team.member(member_id)
            if member is not None:
                return {"id": member.id, "name": member.name, "team_id": team.id}
        return {"id": member_id, "name": member_id, "team_id": None}

    def plan(self, plan: Plan) -> dict[str, Any]:
        """A plan as the declare form offers it."""
        mobilise = []
        for entry in plan.mobilise:
            if entry == INCIDENT_DISTRICTS:
                mobilise.append({"id": INCIDENT_DISTRICTS, "district_teams": True})
            else:
                mobilise.append({**(self.team(entry) or {}), "district_teams": False})
        return {
            "id": plan.id,
            "kind": plan.kind.value,
            "name_zh": plan.name_zh,
            "name_en": plan.name_en,
            "description_zh": plan.description_zh,
            "description_en": plan.description_en,
            "mobilise": mobilise,
            "checklist_steps": len(plan.checklist),
            "sitrep_every_minutes": int(plan.sitrep_every.total_seconds() // 60),
            "rest_after_minutes": int(plan.rest_after.total_seconds() // 60),
        }

    def plans(self) -> list[dict[str, Any]]:
        """Every plan, for the declare form."""
        return [self.plan(p) for p in self.incidents.plans]

    @staticmethod
    def tiers(plan: Plan) -> list[dict[str, Any]]:
        """The plan's tiers (一级 to 四级人群) with their definitions."""
        return [
            {
                "tier": t.tier,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "definition_zh": t.definition_zh,
                "definition_en": t.definition_en,
                "opens_case": t.opens_case,
            }
            for _, t in sorted(plan.tiers.items())
        ]

    # -- the board -------------------------------------------------------------------------

    async def board(self) -> dict[str, Any]:
        """GET /api/incidents/board: the active incident (or null), plans and choices."""
        active = await self.incidents.active()
        return {
            "now": _iso(self.db.clock.now()),
            "incident": None if active is None else await self.incident(active),
            "plans": self.plans(),
            "districts": [d.as_dict() for d in self.incidents.config.districts],
            "exposures": [e.value for e in Exposure],
            "risks": [r.value for r in RiskLevel],
        }

    async def incident(self, incident: Incident) -> dict[str, Any]:
        """One incident with everything the board shows about it."""
        iid = incident.id
        now = self.db.clock.now()
        teams = await self._teams(iid)
        next_sitrep = incident.next_sitrep_at
        return {
            "id": iid,
            "state": incident.state.value,
            "active": incident.state is IncidentState.ACTIVE,
            "plan": {
                "id": incident.plan.id,
                "kind": incident.plan.kind.value,
                "name_zh": incident.plan.name_zh,
                "name_en": incident.plan.name_en,
            },
            "districts": [
                (self.incidents.config.district(d) or _Unknown(d)).as_dict()
                for d in incident.districts
            ],
            "declared_at": _iso(incident.declared_at),
            "declared_by": incident.declared_by,
            "stood_down_at": _iso(incident.stood_down_at),
            "stood_down_by": incident.stood_down_by,
            "description": await self.incidents.description(iid),
            "now": _iso(now),
            "teams": teams,
            "teams_accepted": sum(1 for t in teams if t["accepted"]),
            "teams_mobilised": len(teams),
            "reserve": await self._reserve(iid),
            "checklist": await self._checklist(incident, now),
            "sitrep": {
                "next_due_at": _iso(next_sitrep),
                "overdue": next_sitrep is not None and next_sitrep <= now,
                "every_minutes": int(incident.plan.sitrep_every.total_seconds() // 60),
                "filed": await self._sitreps(iid),
            },
            "contacts_by_risk": await self._contacts(iid),
            "registry": await self._registry(iid),
            "group_sessions": await self._sessions(iid),
            "duty": await self._duty(incident, now),
            "timeline": await self._timeline(iid, [t["dispatch_id"] for t in teams]),
            "tiers": self.tiers(incident.plan),
            "exposures": [e.value for e in Exposure],
            "report_path": incident.report_path is not None,
        }

    async def _reserve(self, incident_id: int) -> list[dict[str, Any]]:
        """The reserve counsellors called in: who, whether the text went, what they said."""
        rows = await self.db.fetchall(
            "SELECT member_id, status, answer, eta_minutes, answered_at FROM incident_callins"
            " WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            {
                "member": self.responder(r["member_id"]),
                "delivery": r["status"],
                "answer": r["answer"],
                "eta_minutes": r["eta_minutes"],
                "answered_at": _at(r["answered_at"]),
            }
            for r in rows
        ]

    async def _teams(self, incident_id: int) -> list[dict[str, Any]]:
        # In the plan's order: each team's row is written just after its dispatch.
        rows = await self.db.fetchall(
            "SELECT t.team_id, d.id AS dispatch_id, d.code, d.state, d.requested_at,"
            " d.accepted_at, d.accepted_team, d.accepted_member, d.eta_minutes"
            " FROM incident_teams t JOIN dispatches d ON d.id = t.dispatch_id"
            " WHERE t.incident_id = ? ORDER BY d.id",
            (incident_id,),
        )
        teams = []
        for row in rows:
            minutes = None
            if row["accepted_at"]:
                delta = from_iso(row["accepted_at"]) - from_iso(row["requested_at"])
                minutes = round(delta.total_seconds() / 60, 1)
            state = DispatchState(row["state"])
            teams.append(
                {
                    "team": self.team(row["team_id"]),
                    "dispatch_id": row["dispatch_id"],
                    "code": row["code"],
                    "state": state.value,
                    "accepted": accepted(state),
                    "paged_at": _at(row["requested_at"]),
                    "accepted_at": _at(row["accepted_at"]),
                    "minutes_to_accept": minutes,
                    "eta_minutes": row["eta_minutes"],
                    "member": self.incidents.desk.member_view(
                        row["accepted_team"], row["accepted_member"]
                    ),
                }
            )
        return teams

    async def _checklist(self, incident: Incident, now: datetime) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT step_id, due_at, done_at, done_by FROM incident_checklist"
            " WHERE incident_id = ?",
            (incident.id,),
        )
        by_id = {r["step_id"]: r for r in rows}
        steps = []
        for step in incident.plan.checklist:
            row = by_id.get(step.id)
            if row is None:
                continue
            due = from_iso(row["due_at"])
            done = from_iso(row["done_at"]) if row["done_at"] else None
            steps.append(
                {
                    "id": step.id,
                    "title_zh": step.title_zh,
                    "title_en": step.title_en,
                    "owner": step.owner.value,
                    "due_at": _iso(due),
                    "done_at": _iso(done),
                    "done_by": row["done_by"],
                    "overdue": done is None and due <= now,
                    "late": done is not None and done > due,
                }
            )
        steps.sort(key=lambda s: (s["due_at"], s["id"]))
        return steps

    async def _sitreps(self, incident_id: int) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT id, author, at FROM incident_sitreps WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [{"id": r["id"], "author": r["author"], "at": _at(r["at"])} for r in rows]

    async def _contacts(self, incident_id: int) -> dict[str, Any]:
        rows = await self.db.fetchall(
            "SELECT risk, COUNT(*) AS n FROM contacts WHERE incident_id = ? GROUP BY risk",
            (incident_id,),
        )
        counts = {r["risk"]: int(r["n"]) for r in rows}
        by_risk = {level.value: counts.get(level.value, 0) for level in RiskLevel}
        return {"by_risk": by_risk, "total": sum(counts.values())}

    async def _registry(self, incident_id: int) -> list[dict[str, Any]]:
        # Named columns only: name_enc and phone_enc never leave the store through here.
        rows = await self.db.fetchall(
            "SELECT p.id, p.pseudonym, p.district, p.tier, p.exposures, p.risk,"
            " p.owner_user_id, p.owner_team_id, p.case_id, p.registered_by, p.registered_at,"
            " c.pseudonym AS case_pseudonym FROM affected_people p"
            " LEFT JOIN followup_cases c ON c.id = p.case_id"
            " WHERE p.incident_id = ? ORDER BY p.tier, p.id",
            (incident_id,),
        )
        return [
            {
                "id": r["id"],
                "pseudonym": r["pseudonym"],
                "district": r["district"],
                "tier": r["tier"],
                "exposures": json.loads(r["exposures"]),
                "risk": r["risk"],
                "owner": {
                    "user_id": r["owner_user_id"],
                    "team": self.team(r["owner_team_id"]),
                },
                "case_id": r["case_id"],
                "case_pseudonym": r["case_pseudonym"],
                "registered_by": r["registered_by"],
                "registered_at": _at(r["registered_at"]),
            }
            for r in rows
        ]

    async def _sessions(self, incident_id: int) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT id, district, kind, participants, led_by, at FROM group_sessions"
            " WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            {
                "id": r["id"],
                "district": r["district"],
                "kind": r["kind"],
                "participants": r["participants"],
                "led_by": r["led_by"],
                "at": _at(r["at"]),
            }
            for r in rows
        ]

    async def _duty(self, incident: Incident, now: datetime) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT responder, started_at, ended_at, rest_reminded_at FROM incident_duty"
            " WHERE incident_id = ? ORDER BY id",
            (incident.id,),
        )
        end = incident.stood_down_at or now
        people: dict[str, dict[str, Any]] = {}
        for row in rows:
            stop = from_iso(row["ended_at"]) if row["ended_at"] else end
            hours = (stop - from_iso(row["started_at"])).total_seconds() / 3600
            entry = people.setdefault(
                row["responder"],
                {
                    "responder": self.responder(row["responder"]),
                    "hours": 0.0,
                    "on_duty": False,
                    "since": None,
                    "rest_reminded": False,
                },
            )
            entry["hours"] += hours
            if row["ended_at"] is None:
                entry["on_duty"] = True
                entry["since"] = _at(row["started_at"])
                entry["rest_reminded"] = row["rest_reminded_at"] is not None
        for entry in people.values():
            entry["hours"] = round(entry["hours"], 1)
        return list(people.values())

    async def _timeline(self, incident_id: int, dispatch_ids: list[int]) -> list[dict[str, Any]]:
        subjects = [f"incident:{incident_id}", *(f"dispatch:{d}" for d in dispatch_ids)]
        marks = ",".join("?" * len(subjects))
        rows = await self.db.fetchall(
            f"SELECT at, kind, actor, subject FROM events WHERE subject IN ({marks}) ORDER BY id",
            subjects,
        )
        return [
            {
                "at": _at(r["at"]),
                "kind": r["kind"],
                "what_zh": TIMELINE_KINDS[r["kind"]][0],
                "what_en": TIMELINE_KINDS[r["kind"]][1],
                "actor": r["actor"],
                "subject": r["subject"],
            }
            for r in rows
            if r["kind"] in TIMELINE_KINDS
        ]


class _Unknown:
    """A district no longer configured (the incident's list is kept as declared)."""

    def __init__(self, district_id: str) -> None:
        self.id = district_id

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name_zh": self.id, "name_en": self.id}
