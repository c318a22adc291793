"""Emergency-plan templates: reading and validating `config/plans/*.toml`.

A plan is decided in calm and used in chaos, so a template that does not validate is refused
when the hotline starts, with the file, the key and the problem named, never discovered by
the coordinator who declares a flood at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from dispatch.config import DispatchConfig, choice, identifier, tables
from dispatch.followups.settings import duration, durations
from dispatch.teams import TeamKind
from hotline.config import Config, ConfigError, Section, read_toml
from hotline.risk import RiskLevel

PLANS_DIR = "plans"
# The mobilisation keyword for "the teams of the incident's districts".
INCIDENT_DISTRICTS = "districts"
TIERS = range(1, 5)
MOBILISABLE = frozenset({TeamKind.CITY, TeamKind.DISTRICT})


class PlanKind(StrEnum):
    """The kinds of emergency the city plan names."""

    NATURAL_DISASTER = "natural_disaster"
    MAJOR_ACCIDENT = "major_accident"
    PUBLIC_HEALTH = "public_health"
    SCHOOL_CRISIS = "school_crisis"


class OwnerRole(StrEnum):
    """Who answers for a checklist step."""

    COORDINATOR = "coordinator"
    SUPERVISOR = "supervisor"
    CITY_TEAM = "city_team"
    DISTRICT_TEAMS = "district_teams"


@dataclass(frozen=True)
class ChecklistStep:
    """One step of the plan's checklist, due `due` after the declaration."""

    id: str
    title_zh: str
    title_en: str
    owner: OwnerRole
    due: timedelta


@dataclass(frozen=True)
class Tier:
    """一级 to 四级人群: who belongs to a tier, and how its people are followed up."""

    tier: int
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    schedule: tuple[timedelta, ...]
    opens_case: bool


@dataclass(frozen=True)
class Surge:
    """How the hotline behaves while the incident is live."""

    ivr_announcement_zh: str
    ivr_announcement_en: str
    chat_announcement_zh: str
    chat_announcement_en: str
    affected_question_zh: str
    affected_question_en: str
    # A contact who says they are affected starts at least at this level.
    affected_min_risk: RiskLevel
    reserve_team: str | None
    reserve_count: int


@dataclass(frozen=True)
class Plan:
    """A validated emergency-plan template."""

    id: str
    source: str
    kind: PlanKind
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    mobilise: tuple[str, ...]
    page_risk: RiskLevel
    checklist: tuple[ChecklistStep, ...]
    surge: Surge
    tiers: Mapping[int, Tier]
    sitrep_every: timedelta
    rest_after: timedelta

    def teams_for(self, districts: tuple[str, ...], dispatch: DispatchConfig) -> tuple[str, ...]:
        """The team ids to mobilise for an incident in these districts, in plan order."""
        ids: list[str] = []
        for entry in self.mobilise:
            if entry == INCIDENT_DISTRICTS:
                ids.extend(dispatch.teams.for_district(d).id for d in districts)
            else:
                ids.append(entry)
        return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class Plans:
    """Every plan template, by id."""

    plans: Mapping[str, Plan]

    def __iter__(self) -> Iterator[Plan]:
        return iter(self.plans.values())

    def get(self, plan_id: str) -> Plan | None:
        """A plan by id, or None."""
        return self.plans.get(plan_id)


def plans_dir(config: Config) -> Path:
    """`plans/` beside the main config file."""
    return Path(config.source).parent / PLANS_DIR


def load_plans(config: Config, dispatch: DispatchConfig, folder: Path | None = None) -> Plans:
    """Read and validate every `*.toml` in the plans folder (at least one is required)."""
    folder = folder or plans_dir(config)
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(str(folder), "", "no emergency-plan templates (*.toml) found")
    plans: dict[str, Plan] = {}
    for path in files:
        plan = parse_plan(read_toml(path, "emergency plan"), config, dispatch, source=str(path))
        if plan.id in plans:
            raise ConfigError(
                str(path), "id", f"plan id {plan.id!r} is also used by {plans[plan.id].source}"
            )
        plans[plan.id] = plan
    return Plans(plans)


def parse_plan(
    raw: dict[str, Any], config: Config, dispatch: DispatchConfig, *, source: str
) -> Plan:
    """Validate one parsed template against the configured teams and districts."""
    root = Section(source, "", raw)
    plan_id = identifier(root, "id")
    kind = choice(root, "kind", PlanKind, root.get("kind", str))
    names = (root.text("name_zh"), root.text("name_en"))
    descriptions = (root.text("description_zh"), root.text("description_en"))

    mobilise_section = root.section("mobilise", required=True)
    mobilise = _mobilise(mobilise_section, dispatch)
    page_risk = choice(mobilise_section, "risk", RiskLevel, mobilise_section.get("risk", str))
    mobilise_section.finish()

    checklist = _checklist(root)
    surge = _surge(root.section("surge", required=True), dispatch)
    tiers = _tiers(root)
    sitrep_every = duration(root, "sitrep_every")
    rest_after = duration(root, "rest_after")
    root.finish()
    return Plan(
        id=plan_id,
        source=source,
        kind=kind,
        name_zh=names[0],
        name_en=names[1],
        description_zh=descriptions[0],
        description_en=descriptions[1],
        mobilise=mobilise,
        page_risk=page_risk,
        checklist=checklist,
        surge=surge,
        tiers=tiers,
        sitrep_every=sitrep_every,
        rest_after=rest_after,
    )


def _mobilise(section: Section, dispatch: DispatchConfig) -> tuple[str, ...]:
    teams = section.get("teams", list)
    key = section.key("teams")
    if not teams:
        raise ConfigError(section.source, key, "must name at least one team to mobilise")
    seen: list[str] = []
    for index, team_id in enumerate(teams):
        if team_id == INCIDENT_DISTRICTS:
            seen.append(team_id)
            continue
        team = dispatch.teams.get(team_id) if isinstance(team_id, str) else None
        if team is None or team.kind not in MOBILISABLE:
            known = ", ".join(t.id for t in dispatch.teams if t.kind in MOBILISABLE)
            raise ConfigError(
                section.source,
                f"{key}[{index}]",
                f"unknown team {team_id!r}; use {INCIDENT_DISTRICTS!r} or one of: {known}",
            )
        seen.append(team_id)
    if len(set(seen)) != len(seen):
        raise ConfigError(section.source, key, "names a team twice")
    return tuple(seen)


def _checklist(root: Section) -> tuple[ChecklistStep, ...]:
    steps = []
    ids: set[str] = set()
    for section in tables(root, "checklist"):
        step_id = identifier(section, "id")
        if step_id in ids:
            raise ConfigError(section.source, section.key("id"), f"duplicate step {step_id!r}")
        ids.add(step_id)
        steps.append(
            ChecklistStep(
                id=step_id,
                title_zh=section.text("title_zh"),
                title_en=section.text("title_en"),
                owner=choice(section, "owner", OwnerRole, section.get("owner", str)),
                due=duration(section, "due"),
            )
        )
        section.finish()
    return tuple(sorted(steps, key=lambda s: s.due))


def _surge(section: Section, dispatch: DispatchConfig) -> Surge:
    reserve_team = section.get("reserve_team", str, None)
    if reserve_team is not None:
        team = dispatch.teams.get(reserve_team)
        if team is None or team.kind is not TeamKind.RESERVE:
            raise ConfigError(
                section.source,
                section.key("reserve_team"),
                f'{reserve_team!r} is not a reserve team (kind = "reserve" in teams.toml)',
            )
    surge = Surge(
        ivr_announcement_zh=section.text("ivr_announcement_zh"),
        ivr_announcement_en=section.text("ivr_announcement_en"),
        chat_announcement_zh=section.text("chat_announcement_zh"),
        chat_announcement_en=section.text("chat_announcement_en"),
        affected_question_zh=section.text("affected_question_zh"),
        affected_question_en=section.text("affected_question_en"),
        affected_min_risk=choice(
            section, "affected_min_risk", RiskLevel, section.get("affected_min_risk", str)
        ),
        reserve_team=reserve_team,
        reserve_count=section.positive("reserve_count", 0, allow_zero=True),
    )
    if surge.reserve_count and reserve_team is None:
        raise ConfigError(
            section.source, section.key("reserve_count"), "needs a reserve_team to call from"
        )
    section.finish()
    return surge


def _tiers(root: Section) -> dict[int, Tier]:
    tiers: dict[int, Tier] = {}
    for section in tables(root, "tiers"):
        number = section.get("tier", int)
        if number not in TIERS:
            raise ConfigError(section.source, section.key("tier"), f"must be 1 to 4, got {number}")
        if number in tiers:
            raise ConfigError(section.source, section.key("tier"), f"tier {number} twice")
        schedule = durations(section, "follow_up", allow_empty=True)
        opens_case = section.get("opens_case", bool)
        if opens_case and not schedule:
            raise ConfigError(
                section.source, section.key("follow_up"), "a tier that opens cases needs a schedule"
            )
        tiers[number] = Tier(
            tier=number,
            name_zh=section.text("name_zh"),
            name_en=section.text("name_en"),
            definition_zh=section.text("definition_zh"),
            definition_en=section.text("definition_en"),
            schedule=schedule,
            opens_case=opens_case,
        )
        section.finish()
    missing = [t for t in TIERS if t not in tiers]
    if missing:
        raise ConfigError(
            root.source, "tiers", f"tiers missing: {missing} (一级 to 四级 are needed)"
        )
    return tiers


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A plan as frozen onto an incident (durations in seconds)."""

    def seconds(value: timedelta) -> int:
        return int(value.total_seconds())

    return {
        "id": plan.id,
        "source": plan.source,
        "kind": plan.kind.value,
        "name_zh": plan.name_zh,
        "name_en": plan.name_en,
        "description_zh": plan.description_zh,
        "description_en": plan.description_en,
        "mobilise": list(plan.mobilise),
        "page_risk": plan.page_risk.value,
        "checklist": [
            {
                "id": s.id,
                "title_zh": s.title_zh,
                "title_en": s.title_en,
                "owner": s.owner.value,
                "due": seconds(s.due),
            }
            for s in plan.checklist
        ],
        "surge": {
            "ivr_announcement_zh": plan.surge.ivr_announcement_zh,
            "ivr_announcement_en": plan.surge.ivr_announcement_en,
            "chat_announcement_zh": plan.surge.chat_announcement_zh,
            "chat_announcement_en": plan.surge.chat_announcement_en,
            "affected_question_zh": plan.surge.affected_question_zh,
            "affected_question_en": plan.surge.affected_question_en,
            "affected_min_risk": plan.surge.affected_min_risk.value,
            "reserve_team": plan.surge.reserve_team,
            "reserve_count": plan.surge.reserve_count,
        },
        "tiers": [
            {
                "tier": t.tier,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "definition_zh": t.definition_zh,
                "definition_en": t.definition_en,
                "schedule": [seconds(d) for d in t.schedule],
                "opens_case": t.opens_case,
            }
            for t in plan.tiers.values()
        ],
        "sitrep_every": seconds(plan.sitrep_every),
        "rest_after": seconds(plan.rest_after),
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    """Read back a plan written by `plan_to_json`."""

    def span(value: int) -> timedelta:
        return timedelta(seconds=value)

    surge = data["surge"]
    return Plan(
        id=data["id"],
        source=data["source"],
        kind=PlanKind(data["kind"]),
        name_zh=data["name_zh"],
        name_en=data["name_en"],
        description_zh=data["description_zh"],
        description_en=data["description_en"],
        mobilise=tuple(data["mobilise"]),
        page_risk=RiskLevel(data["page_risk"]),
        checklist=tuple(
            ChecklistStep(
                s["id"], s["title_zh"], s["title_en"], OwnerRole(s["owner"]), span(s["due"])
            )
            for s in data["checklist"]
        ),
        surge=Surge(
            ivr_announcement_zh=surge["ivr_announcement_zh"],
            ivr_announcement_en=surge["ivr_announcement_en"],
            chat_announcement_zh=surge["chat_announcement_zh"],
            chat_announcement_en=surge["chat_announcement_en"],
            affected_question_zh=surge["affected_question_zh"],
            affected_question_en=surge["affected_question_en"],
            affected_min_risk=RiskLevel(surge["affected_min_risk"]),
            reserve_team=surge["reserve_team"],
            reserve_count=surge["reserve_count"],
        ),
        tiers={
            t["tier"]: Tier(
                tier=t["tier"],
                name_zh=t["name_zh"],
                name_en=t["name_en"],
                definition_zh=t["definition_zh"],
                definition_en=t["definition_en"],
                schedule=tuple(span(d) for d in t["schedule"]),
                opens_case=t["opens_case"],
            )
            for t in data["tiers"]
        },
        sitrep_every=span(data["sitrep_every"]),
        rest_after=span(data["rest_after"]),
    )
