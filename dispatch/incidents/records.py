"""The records of a live incident: the incident itself and the people in its registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dispatch.incidents.plans import Plan
from hotline.risk import RiskLevel


class IncidentState(StrEnum):
    """Active until a coordinator stands it down."""

    ACTIVE = "active"
    STOOD_DOWN = "stood_down"


class Exposure(StrEnum):
    """Exposure factors of a person affected (after PsySTART's triage of disaster exposure)."""

    INJURED = "injured"
    BEREAVED = "bereaved"
    HOME_LOST = "home_lost"
    TRAPPED = "trapped"
    THREAT_TO_LIFE = "threat_to_life"
    WITNESSED_DEATH = "witnessed_death"
    EARLIER_MENTAL_ILLNESS = "earlier_mental_illness"


@dataclass(frozen=True)
class Incident:
    """A declared incident with its plan frozen at declaration."""

    id: int
    plan: Plan
    districts: tuple[str, ...]
    state: IncidentState
    declared_by: str
    declared_at: datetime
    stood_down_by: str | None
    stood_down_at: datetime | None
    next_sitrep_at: datetime | None
    report_path: str | None


@dataclass(frozen=True)
class AffectedPerson:
    """A registry entry: pseudonymous, with tier, exposures, risk and owner."""

    id: int
    incident_id: int
    pseudonym: str
    district: str
    tier: int
    exposures: tuple[Exposure, ...]
    risk: RiskLevel
    owner_user_id: int | None
    owner_team_id: str | None
    case_id: int | None
    registered_by: str
    registered_at: datetime
