"""Reading `config/teams.toml`: teams, members, rosters, escalation policies and paging.

Like the main config, it yields a complete, cross-checked `DispatchConfig` or raises
`ConfigError` naming the file, the key and the problem: a roster naming a member who does
not exist, a district without a team, or a policy nobody defined would otherwise surface at
3 a.m. as a page that goes nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.policies import PageChannel, Policy, Step, Target
from dispatch.rosters import Override, Position, Roster, Rotation, RotationLayer, swap
from dispatch.teams import (
    CITY_TEAM_ID,
    SUPERVISORS_TEAM_ID,
    Member,
    MemberRole,
    Team,
    TeamKind,
    Teams,
)
from hotline.config import (
    Config,
    ConfigError,
    Option,
    Section,
    parse_options,
    parse_phone,
    read_toml,
)
from hotline.risk import RiskLevel

TEAMS_FILE = "teams.toml"

E = TypeVar("E", bound=StrEnum)

PAGING_TEXTS = (
    "page_sms",
    "page_voice",
    "voice_accepted",
    "voice_declined",
    "voice_no_input",
    "reply_accepted",
    "reply_declined",
    "reply_eta",
    "reply_unknown_code",
    "reply_finished",
    "reply_help",
    "disclosure_sms",
    "callin_sms",
    "callin_coming",
    "callin_cannot",
)


@dataclass(frozen=True)
class PagingConfig:
    """Where pages come from and how often one person may be texted or called."""

    from_number: str
    coordinator_number: str
    max_per_recipient: int
    window_seconds: int
    link_hours: int
    voice_gather_seconds: int
    texts: Mapping[str, str]
    risk_names: Mapping[RiskLevel, str]


@dataclass(frozen=True)
class DispatchConfig:
    """Teams, escalation policies and paging settings, validated together."""

    source: str
    teams: Teams
    policies: Mapping[str, Policy]
    paging: PagingConfig
    outcomes: tuple[Option, ...]

    def policy_for(self, team: Team) -> Policy:
        """The policy a team's dispatches start with (config guarantees it exists)."""
        return self.policies[team.policy_id]


def teams_path(config: Config, environ: Mapping[str, str] | None = None) -> Path:
    """`HOTLINE_TEAMS`, else teams.toml beside the main config file."""
    env = os.environ if environ is None else environ
    if env.get("HOTLINE_TEAMS"):
        return Path(env["HOTLINE_TEAMS"])
    return Path(config.source).parent / TEAMS_FILE


def load_dispatch_config(
    config: Config, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> DispatchConfig:
    """Read and validate the teams file against the main config's districts."""
    path = path or teams_path(config, environ)
    source = str(path)
    raw = read_toml(path, "teams, rosters and policies")
    return parse_dispatch_config(raw, config, source=source)


def parse_dispatch_config(raw: dict[str, Any], config: Config, *, source: str) -> DispatchConfig:
    """Validate a parsed teams document."""
    root = Section(source, "", raw)
    paging = _paging(root.section("paging", required=True))
    policies = _policies(root)
    teams = _teams(root, config, policies)
    outcomes = parse_options(root, "outcomes")
    root.finish()
    return DispatchConfig(source, teams, policies, paging, outcomes)


def _paging(section: Section) -> PagingConfig:
    texts_section = section.section("texts", required=True)
    texts = {name: texts_section.text(name) for name in PAGING_TEXTS}
    texts_section.finish()
    for name in ("page_sms", "page_voice"):
        for field in ("{district}", "{risk}"):
            if field not in texts[name]:
                raise ConfigError(section.source, texts_section.key(name), f"must contain {field}")
    if "{code}" not in texts["page_sms"] or "{link}" not in texts["page_sms"]:
        raise ConfigError(
            section.source, texts_section.key("page_sms"), "must contain {code} and {link}"
        )
    if "{code}" not in texts["callin_sms"]:
        raise ConfigError(section.source, texts_section.key("callin_sms"), "must contain {code}")
    names_section = section.section("risk_names", required=True)
    risk_names = {level: names_section.text(level.value) for level in RiskLevel}
    names_section.finish()
    paging = PagingConfig(
        from_number=parse_phone(section, "from_number"),
        coordinator_number=parse_phone(section, "coordinator_number"),
        max_per_recipient=section.positive("max_per_recipient", 4),
        window_seconds=section.positive("window_seconds", 60),
        link_hours=section.positive("link_hours", 24),
        voice_gather_seconds=section.positive("voice_gather_seconds", 15),
        texts=texts,
        risk_names=risk_names,
    )
    section.finish()
    return paging


def tables(parent: Section, name: str) -> list[Section]:
    parent.used.add(name)
    items = parent.table.get(name)
    key = parent.key(name)
    if not isinstance(items, list) or not items:
        raise ConfigError(parent.source, key, "must be a non-empty list of [[tables]]")
    return [Section(parent.source, f"{key}[{i}]", item) for i, item in enumerate(items)]


def identifier(section: Section, name: str) -> str:
    value = section.text(name)
    if not value.replace("_", "").isalnum() or not value.isascii() or value != value.lower():
        raise ConfigError(
            section.source,
            section.key(name),
            f"must be lower-case letters, digits and _, got {value!r}",
        )
    return value


def choice(section: Section, name: str, enum: type[E], value: Any) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ConfigError(
            section.source, section.key(name), f"{value!r} is not one of: {allowed}"
        ) from None


def _policies(root: Section) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    for section in tables(root, "policies"):
        policy_id = identifier(section, "id")
        if policy_id in policies:
            raise ConfigError(section.source, section.key("id"), f"duplicate id {policy_id!r}")
        steps = []
        for step in tables(section, "steps"):
            targets = step.get("targets", list)
            channels = step.get("channels", list, ["sms", "voice"])
            if not targets:
                raise ConfigError(step.source, step.key("targets"), "must name at least one target")
            wait = step.get("wait_minutes", (int, float))
            if isinstance(wait, bool) or wait <= 0:
                raise ConfigError(step.source, step.key("wait_minutes"), "must be more than zero")
            steps.append(
                Step(
                    tuple(choice(step, "targets", Target, t) for t in targets),
                    tuple(choice(step, "channels", PageChannel, c) for c in channels),
                    round(wait * 60),
                    step.get("alarm", bool, False),
                )
            )
            step.finish()
        repeat = section.positive("repeat", 0, allow_zero=True)
        if repeat > 10:
            raise ConfigError(section.source, section.key("repeat"), "must be at most 10")
        policies[policy_id] = Policy(policy_id, tuple(steps), repeat)
        section.finish()
    return policies


def _teams(root: Section, config: Config, policies: Mapping[str, Policy]) -> Teams:
    teams: list[Team] = []
    districts = {d.id: d for d in config.districts}
    for section in tables(root, "teams"):
        team_id = identifier(section, "id")
        if any(t.id == team_id for t in teams):
            raise ConfigError(section.source, section.key("id"), f"duplicate id {team_id!r}")
        kind = choice(section, "kind", TeamKind, section.text("kind"))
        if kind is TeamKind.CITY and team_id != CITY_TEAM_ID:
            raise ConfigError(
                section.source, section.key("id"), f"the city team's id is {CITY_TEAM_ID!r}"
            )
        if kind is TeamKind.SUPERVISORS and team_id != SUPERVISORS_TEAM_ID:
            raise ConfigError(
                section.source, section.key("id"), f"the supervisors' id is {SUPERVISORS_TEAM_ID!r}"
            )
        if kind is TeamKind.DISTRICT and team_id not in districts:
            raise ConfigError(
                section.source,
                section.key("id"),
                f"a district team's id is its district's id; {team_id!r} is not a district "
                f"(districts: {', '.join(districts)})",
            )
        policy_id = section.text("policy")
        if policy_id not in policies:
            raise ConfigError(
                section.source, section.key("policy"), f"no policy {policy_id!r} is defined"
            )
        members = _members(section)
        zone = section.text("time_zone", config.time_zone)
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                section.source, section.key("time_zone"), f"unknown time zone {zone!r}"
            ) from None
        roster = _roster(section.section("roster", required=True), zone, {m.id for m in members})
        district = districts.get(team_id) if kind is TeamKind.DISTRICT else None
        teams.append(
            Team(
                id=team_id,
                kind=kind,
                name_zh=section.text(
                    "name_zh", f"{district.name_zh}心理援助队" if district else ...
                ),
                name_en=section.text(
                    "name_en", f"{district.name_en} assistance team" if district else ...
                ),
                district_id=team_id if district else None,
                members=members,
                roster=roster,
                policy_id=policy_id,
            )
        )
        section.finish()
    ids = {t.id for t in teams}
    for required in (CITY_TEAM_ID, SUPERVISORS_TEAM_ID, *districts):
        if required not in ids:
            raise ConfigError(root.source, "teams", f"no team with id {required!r}")
    teams.sort(
        key=lambda t: (
            t.kind is not TeamKind.CITY,
            t.kind is TeamKind.SUPERVISORS,
            t.kind is TeamKind.RESERVE,
        )
    )
    return Teams(tuple(teams))


def _members(team: Section) -> tuple[Member, ...]:
    members: list[Member] = []
    for section in tables(team, "members"):
        member_id = identifier(section, "id")
        if any(m.id == member_id for m in members):
            raise ConfigError(section.source, section.key("id"), f"duplicate id {member_id!r}")
        skills = section.get("skills", list, [])
        languages = section.get("languages", list, ["zh"])
        for key, values in (("skills", skills), ("languages", languages)):
            if not all(isinstance(v, str) and v.strip() for v in values):
                raise ConfigError(section.source, section.key(key), "must be a list of words")
        members.append(
            Member(
                id=member_id,
                name=section.text("name"),
                role=choice(section, "role", MemberRole, section.text("role")),
                skills=tuple(skills),
                languages=tuple(languages),
                phone=parse_phone(section, "phone") if "phone" in section.table else None,
            )
        )
        section.used.add("phone")
        section.finish()
    return tuple(members)


def _roster(section: Section, zone: str, member_ids: set[str]) -> Roster:
    primary = _layer(section.section("primary", required=True), member_ids)
    secondary = (
        _layer(section.section("secondary"), member_ids) if "secondary" in section.table else None
    )
    section.used.add("secondary")
    overrides = []
    section.used.add("overrides")
    for item in tables(section, "overrides") if section.table.get("overrides") else []:
        position = choice(item, "position", Position, item.text("position"))
        start = _instant(item, "start", zone)
        end = _instant(item, "end", zone)
        member = item.get("member", str, "") or None
        if member is not None and member not in member_ids:
            raise ConfigError(
                item.source, item.key("member"), f"{member!r} is not a member of this team"
            )
        if end <= start:
            raise ConfigError(item.source, item.key("end"), "must be after start")
        overrides.append(Override(position, start, end, member))
        item.finish()
    roster = Roster(zone, primary, secondary, tuple(overrides))
    section.used.add("swaps")
    for item in tables(section, "swaps") if section.table.get("swaps") else []:
        try:
            roster = swap(roster, _instant(item, "first", zone), _instant(item, "second", zone))
        except ValueError as exc:
            raise ConfigError(item.source, item.path, str(exc)) from None
        item.finish()
    section.finish()
    return roster


def _layer(section: Section, member_ids: set[str]) -> RotationLayer:
    members = section.get("members", list)
    if not members:
        raise ConfigError(section.source, section.key("members"), "must name at least one member")
    for member in members:
        if member not in member_ids:
            raise ConfigError(
                section.source, section.key("members"), f"{member!r} is not a member of this team"
            )
    rotation = choice(section, "rotation", Rotation, section.text("rotation"))
    handoff = section.get("handoff", (str, time))
    if isinstance(handoff, str):
        try:
            handoff = time.fromisoformat(handoff)
        except ValueError:
            raise ConfigError(
                section.source,
                section.key("handoff"),
                f'must be a time like "09:00", got {handoff!r}',
            ) from None
    start = section.get("start", (date, str))
    if isinstance(start, datetime):
        raise ConfigError(section.source, section.key("start"), "must be a date, not a date-time")
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start)
        except ValueError:
            raise ConfigError(
                section.source,
                section.key("start"),
                f"must be a date like 2026-01-05, got {start!r}",
            ) from None
    section.finish()
    return RotationLayer(tuple(members), rotation, handoff, start)


def _instant(section: Section, name: str, zone: str) -> datetime:
    """An instant: an offset date-time, or a local one read in the roster's time zone."""
    value: datetime | str = section.get(name, (datetime, str))
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                section.source, section.key(name), f"must be a date-time, got {value!r}"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value
