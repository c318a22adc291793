"""Teams follow the districts in config."""

from __future__ import annotations

from dataclasses import replace

from dispatch.teams import CITY_TEAM_ID, TeamKind, team_for_district, teams_from_config
from hotline.config import Config, Option


def test_city_team_and_eight_district_teams(config: Config) -> None:
    """The seed plan gives the city team plus one team for each of the 8 districts."""
    teams = teams_from_config(config)
    assert teams[0].id == CITY_TEAM_ID and teams[0].kind is TeamKind.CITY
    assert [t.district_id for t in teams[1:]] == [d.id for d in config.districts]
    assert len(teams) == 9
    assert teams[1].name_zh == "镜湖区心理援助队"


def test_unknown_or_missing_district_falls_back_to_city_team(config: Config) -> None:
    """A contact without a (known) district is still covered by someone: the city team."""
    assert team_for_district(config, "wuwei").id == "district_wuwei"
    assert team_for_district(config, None).id == CITY_TEAM_ID
    assert team_for_district(config, "atlantis").id == CITY_TEAM_ID


def test_a_new_district_in_config_is_a_new_team(config: Config) -> None:
    """Redrawing districts is a config change, not a code change."""
    more = replace(config, districts=(*config.districts, Option("xinwu", "新芜区", "Xinwu")))
    assert team_for_district(more, "xinwu").name_en == "Xinwu psychological assistance team"
