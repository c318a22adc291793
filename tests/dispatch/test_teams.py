"""Teams, members, rosters and policies come from config/teams.toml, checked against districts."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch.config import DispatchConfig, load_dispatch_config, parse_dispatch_config, teams_path
from dispatch.rosters import on_call
from dispatch.teams import CITY_TEAM_ID, SUPERVISORS_TEAM_ID, MemberRole, TeamKind
from hotline.config import Config, ConfigError


@pytest.fixture
def raw_teams(config: Config) -> dict[str, Any]:
    return tomllib.loads(teams_path(config).read_text("utf-8"))


@pytest.fixture
def dispatch_config(config: Config) -> DispatchConfig:
    return load_dispatch_config(config)


def test_city_team_eight_district_teams_and_supervisors(
    config: Config, dispatch_config: DispatchConfig
) -> None:
    """The seed plan: the city team first, one team per district, and the duty supervisors."""
    teams = list(dispatch_config.teams)
    assert teams[0].id == CITY_TEAM_ID and teams[0].kind is TeamKind.CITY
    assert teams[0].name_zh == "市级心理危机干预队伍"
    assert [t.district_id for t in teams[1:9]] == [d.id for d in config.districts]
    assert teams[1].name_zh == "镜湖区心理援助队"
    assert teams[-1].id == SUPERVISORS_TEAM_ID
    for team in teams:
        # Supervisors and the hotline's reserve counsellors have no team lead to escalate to.
        assert team.leads or team.kind in (TeamKind.SUPERVISORS, TeamKind.RESERVE), team.id
        assert all(m.phone and m.phone.startswith("+86") for m in team.members)
    assert {m.role for t in teams for m in t.members} >= set(MemberRole) - {MemberRole.SUPERVISOR}


def test_every_team_has_someone_on_call_at_any_instant(dispatch_config: DispatchConfig) -> None:
    """The bundled demo roster answers out of the box, primary and secondary, never the same."""
    for at in (datetime(2026, 11, 23, 3, 0, tzinfo=UTC), datetime(2031, 2, 1, 0, 59, tzinfo=UTC)):
        for team in dispatch_config.teams:
            answer = on_call(team.roster, at)
            assert answer.primary and answer.secondary, team.id
            assert answer.primary != answer.secondary, team.id


def test_unknown_district_falls_back_to_city_team(dispatch_config: DispatchConfig) -> None:
    """A contact without a (known) district is still covered by someone: the city team."""
    teams = dispatch_config.teams
    assert teams.for_district("wuwei").id == "wuwei"
    assert teams.for_district(None).id == CITY_TEAM_ID
    assert teams.for_district("atlantis").id == CITY_TEAM_ID


Mutation = Callable[[dict[str, Any]], None]


def _team(raw: dict[str, Any], team_id: str) -> dict[str, Any]:
    return next(t for t in raw["teams"] if t["id"] == team_id)


BROKEN: list[tuple[str, Mutation, str, str]] = [
    (
        "a team for a district that does not exist",
        lambda raw: _team(raw, "wuwei").update(id="atlantis"),
        "teams[8].id",
        "'atlantis' is not a district",
    ),
    (
        "a district left without a team",
        lambda raw: raw["teams"].remove(_team(raw, "nanling")),
        "teams",
        "no team with id 'nanling'",
    ),
    (
        "a roster naming a stranger",
        lambda raw: _team(raw, "jinghu")["roster"]["primary"]["members"].append("nobody"),
        "teams[1].roster.primary.members",
        "'nobody' is not a member of this team",
    ),
    (
        "a policy nobody defined",
        lambda raw: _team(raw, "city").update(policy="heroic"),
        "teams[0].policy",
        "no policy 'heroic'",
    ),
    (
        "a typo in a step",
        lambda raw: raw["policies"][0]["steps"][0].update(wait_minuts=3),
        "policies[0].steps[0].wait_minuts",
        "unknown key",
    ),
    (
        "an unknown escalation target",
        lambda raw: raw["policies"][0]["steps"][0].update(targets=["mayor"]),
        "policies[0].steps[0].targets",
        "'mayor' is not one of",
    ),
    (
        "a phone number that is not E.164",
        lambda raw: _team(raw, "city")["members"][0].update(phone="139 0000"),
        "teams[0].members[0].phone",
        "E.164",
    ),
    (
        "a handoff that is not a time",
        lambda raw: _team(raw, "city")["roster"]["primary"].update(handoff="nine"),
        "teams[0].roster.primary.handoff",
        "must be a time",
    ),
    (
        "an unknown time zone",
        lambda raw: _team(raw, "city").update(time_zone="Mars/Olympus"),
        "teams[0].time_zone",
        "unknown time zone",
    ),
]


@pytest.mark.parametrize(("label", "mutate", "key", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_teams_file_names_the_key_and_the_problem(
    config: Config,
    raw_teams: dict[str, Any],
    label: str,
    mutate: Mutation,
    key: str,
    problem: str,
) -> None:
    """A typo in the teams file stops the hotline with a sentence, not a page that goes nowhere."""
    raw = copy.deepcopy(raw_teams)
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        parse_dispatch_config(raw, config, source="teams.toml")
    assert caught.value.key == key, label
    assert problem in caught.value.problem, label
