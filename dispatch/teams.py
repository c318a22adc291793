"""Teams: the city crisis-intervention team and one psychological assistance team per district.

The teams follow the districts in config, so a city that redraws its districts changes the
teams with one file and no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hotline.config import Config

CITY_TEAM_ID = "city_crisis"


class TeamKind(StrEnum):
    """Whether a team covers the whole city or one district."""

    CITY = "city"
    DISTRICT = "district"


@dataclass(frozen=True)
class Team:
    """A team that can be paged."""

    id: str
    kind: TeamKind
    name_zh: str
    name_en: str
    district_id: str | None


def teams_from_config(config: Config) -> tuple[Team, ...]:
    """The city team first, then each district's team in config order."""
    city = Team(
        CITY_TEAM_ID,
        TeamKind.CITY,
        f"{config.name_zh}危机干预队",
        f"{config.name_en} crisis-intervention team",
        None,
    )
    districts = tuple(
        Team(
            f"district_{d.id}",
            TeamKind.DISTRICT,
            f"{d.name_zh}心理援助队",
            f"{d.name_en} psychological assistance team",
            d.id,
        )
        for d in config.districts
    )
    return (city, *districts)


def team_for_district(config: Config, district_id: str | None) -> Team:
    """The team that answers for a district; the city team when the district is unknown."""
    teams = teams_from_config(config)
    return next((t for t in teams if t.district_id == district_id and district_id), teams[0])
