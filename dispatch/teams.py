"""Teams: the city crisis-intervention team, one assistance team per district, and the
hotline's own on-duty supervisors (paged when a person at high risk waits too long).

Teams, their members and rosters are configuration (`config/teams.toml`), so a city that
redraws its districts or changes a rota edits one file and no code. A member's phone number
is personal data: it is read from the file once, sealed into the store, and from then on only
opened to send a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from dispatch.rosters import Roster

CITY_TEAM_ID = "city"
SUPERVISORS_TEAM_ID = "supervisors"


class TeamKind(StrEnum):
    """Whether a team covers the whole city, one district, the hotline floor, or the floor's
    reserve."""

    CITY = "city"
    DISTRICT = "district"
    SUPERVISORS = "supervisors"
    # Counsellors off shift who can be called in to the hotline when an incident surges.
    RESERVE = "reserve"


class MemberRole(StrEnum):
    """What a member does on a call-out; the lead is the escalation step after the secondary."""

    LEAD = "lead"
    MEMBER = "member"
    PSYCHIATRIST = "psychiatrist"
    SOCIAL_WORKER = "social_worker"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Member:
    """A person who can be paged. `phone` is only present while config is being loaded."""

    id: str
    name: str
    role: MemberRole
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    phone: str | None = None

    def public(self) -> dict[str, object]:
        """What the board shows of a member: never the phone number."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "skills": list(self.skills),
            "languages": list(self.languages),
        }


@dataclass(frozen=True)
class Team:
    """A team that can be paged, with its members, roster and escalation policy."""

    id: str
    kind: TeamKind
    name_zh: str
    name_en: str
    district_id: str | None
    members: tuple[Member, ...]
    roster: Roster
    policy_id: str

    def member(self, member_id: str | None) -> Member | None:
        """A member by id (None for an unknown or absent id)."""
        return next((m for m in self.members if m.id == member_id), None)

    @property
    def leads(self) -> tuple[Member, ...]:
        """The team's leads, paged when primary and secondary do not answer."""
        return tuple(m for m in self.members if m.role is MemberRole.LEAD)

    def name(self, lang: str) -> str:
        """The team's name in a UI language."""
        return self.name_zh if lang.startswith("zh") else self.name_en


@dataclass(frozen=True)
class Teams:
    """All configured teams, in config order (the city team first)."""

    teams: tuple[Team, ...]

    def __iter__(self) -> Iterator[Team]:
        return iter(self.teams)

    def get(self, team_id: str) -> Team | None:
        """A team by id, or None."""
        return next((t for t in self.teams if t.id == team_id), None)

    @property
    def city(self) -> Team:
        """The city crisis-intervention team (config guarantees it exists)."""
        team = self.get(CITY_TEAM_ID)
        assert team is not None
        return team

    def for_district(self, district_id: str | None) -> Team:
        """The team that answers for a district; the city team when the district is unknown."""
        found = next((t for t in self.teams if district_id and t.district_id == district_id), None)
        return found or self.city
