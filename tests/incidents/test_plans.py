"""Emergency-plan templates: the shipped four validate; a broken one is refused by name."""

from __future__ import annotations

import shutil
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.config import DispatchConfig, load_dispatch_config
from dispatch.incidents.plans import OwnerRole, PlanKind, load_plans, parse_plan
from hotline.config import Config, ConfigError
from hotline.risk import RiskLevel

PLANS = Path(__file__).resolve().parents[2] / "config" / "plans"
_DELETE = object()


@pytest.fixture
def dispatch_config(config: Config) -> DispatchConfig:
    return load_dispatch_config(config)


def _raw(name: str = "flood") -> dict[str, Any]:
    return tomllib.loads((PLANS / f"{name}.toml").read_text(encoding="utf-8"))


def test_the_four_shipped_plans_validate(config: Config, dispatch_config: DispatchConfig) -> None:
    """Flood, major accident, public-health emergency and school crisis, one of each kind."""
    plans = load_plans(config, dispatch_config)
    assert {p.kind for p in plans} == set(PlanKind)
    flood = plans.get("flood")
    assert flood is not None
    assert flood.teams_for(("jinghu", "wuwei", "jinghu"), dispatch_config) == (
        "city",
        "jinghu",
        "wuwei",
    )
    assert [s.due for s in flood.checklist] == sorted(s.due for s in flood.checklist)
    assert flood.tiers[1].schedule[0] == timedelta(hours=24) and flood.tiers[1].opens_case
    assert not flood.tiers[4].opens_case
    assert flood.surge.affected_min_risk is RiskLevel.MODERATE
    assert {s.owner for s in flood.checklist} <= set(OwnerRole)


def _mutate(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = raw
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    index: Any = int(last) if last.isdigit() else last
    if value is _DELETE:
        del node[index]
    else:
        node[index] = value


@pytest.mark.parametrize(
    ("path", "value", "key", "problem"),
    [
        ("id", "Flood!", "id", "lower-case"),
        ("kind", "meteor", "kind", "not one of"),
        ("name_zh", "", "name_zh", "must not be empty"),
        ("mobilise.teams", [], "mobilise.teams", "at least one team"),
        ("mobilise.teams", ["city", "atlantis"], "mobilise.teams[1]", "unknown team 'atlantis'"),
        ("mobilise.teams", ["supervisors"], "mobilise.teams[0]", "unknown team"),
        ("mobilise.teams", ["city", "city"], "mobilise.teams", "twice"),
        ("mobilise.risk", "severe", "mobilise.risk", "not one of"),
        ("checklist.0.owner", "mayor", "checklist[0].owner", "not one of"),
        ("checklist.0.due", "soon", "checklist[0].due", "duration"),
        ("checklist.1.id", "confirm_scope", "checklist[1].id", "duplicate"),
        ("checklist", [], "checklist", "non-empty"),
        ("surge.affected_min_risk", "urgent", "surge.affected_min_risk", "not one of"),
        ("surge.reserve_team", "nobody", "surge.reserve_team", "not a reserve team"),
        ("surge.reserve_team", "city", "surge.reserve_team", "not a reserve team"),
        ("surge.reserve_team", _DELETE, "surge.reserve_count", "needs a reserve_team"),
        ("mobilise.teams", ["reserve"], "mobilise.teams[0]", "unknown team"),
        ("surge.ivr_announcement_zh", _DELETE, "surge.ivr_announcement_zh", "required"),
        ("surge.volume", 11, "surge.volume", "unknown key"),
        ("tiers.0.tier", 5, "tiers[0].tier", "1 to 4"),
        ("tiers.1.tier", 1, "tiers[1].tier", "twice"),
        ("tiers.3", _DELETE, "tiers", "missing: [4]"),
        ("tiers.0.follow_up", ["7d", "24h"], "tiers[0].follow_up", "increasing order"),
        ("tiers.0.follow_up", [], "tiers[0].follow_up", "needs a schedule"),
        ("sitrep_every", "0h", "sitrep_every", "longer than zero"),
        ("rest_after", _DELETE, "rest_after", "required"),
    ],
)
def test_a_broken_template_is_refused_naming_the_problem(
    config: Config,
    dispatch_config: DispatchConfig,
    path: str,
    value: Any,
    key: str,
    problem: str,
) -> None:
    """Every mistake stops the start with the file, the key and what is wrong."""
    raw = _raw()
    _mutate(raw, path, value)
    with pytest.raises(ConfigError) as caught:
        parse_plan(raw, config, dispatch_config, source="plans/flood.toml")
    assert caught.value.source == "plans/flood.toml"
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_two_templates_with_one_id_and_an_empty_folder_are_refused(
    config: Config, dispatch_config: DispatchConfig, tmp_path: Path
) -> None:
    """Ids are unique across files; a folder without templates is a configuration error."""
    with pytest.raises(ConfigError, match="no emergency-plan templates"):
        load_plans(config, dispatch_config, tmp_path)
    shutil.copy(PLANS / "flood.toml", tmp_path / "a.toml")
    shutil.copy(PLANS / "flood.toml", tmp_path / "b.toml")
    with pytest.raises(ConfigError, match="also used by"):
        load_plans(config, dispatch_config, tmp_path)
    (tmp_path / "b.toml").write_text("id = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_plans(config, dispatch_config, tmp_path)
