"""Follow-up settings: the shipped file validates; mistakes are refused with their key named."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.followups.settings import (
    load_followup_settings,
    parse_duration,
    parse_followup_settings,
)
from hotline.config import Config, ConfigError
from hotline.risk import RiskLevel

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "followups.toml"


def _raw() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_schedules_follow_the_city_plan(config: Config) -> None:
    """High and imminent: 24 h, 72 h, 7 d, 14 d, 30 d; moderate 72 h and 14 d; grades 0-5."""
    settings = load_followup_settings(config)
    days = timedelta(days=1)
    plan = (timedelta(hours=24), timedelta(hours=72), 7 * days, 14 * days, 30 * days)
    assert settings.schedules[RiskLevel.HIGH] == plan
    assert settings.schedules[RiskLevel.IMMINENT] == plan
    assert settings.schedules[RiskLevel.MODERATE] == (timedelta(hours=72), 14 * days)
    assert settings.grades[0].every == 90 * days and not settings.grades[0].referral
    assert [settings.grades[g].every for g in (1, 2)] == [14 * days, 14 * days]
    assert all(
        settings.grades[g].referral and settings.grades[g].every == 14 * days for g in (3, 4, 5)
    )
    assert settings.flag_after_failed == 3
    assert set(settings.caring_texts) == {"zh-CN", "en"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("4 h", timedelta(hours=4)),
        ("4", None),
        ("h4", None),
        ("4x", None),
        ("-4h", None),
        ("", None),
    ],
)
def test_durations(text: str, expected: timedelta | None) -> None:
    """Durations are a number and one unit."""
    assert parse_duration(text) == expected


def _mutate(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = raw
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "key", "problem"),
    [
        ("schedules.high", [], "schedules.high", "may not be empty"),
        ("schedules.moderate", ["14d", "72h"], "schedules.moderate", "increasing order"),
        ("schedules.low", ["7 days"], "schedules.low[0]", "duration"),
        ("schedules.sometimes", ["1d"], "schedules.sometimes", "unknown key"),
        ("attempts.flag_after_failed", 0, "attempts.flag_after_failed", "greater than zero"),
        ("overdue.supervisor_after", "30m", "overdue.supervisor_after", "later than owner_after"),
        ("grades.2.grade", 7, "grades[2].grade", "0 to 5"),
        ("grades.3.grade", 2, "grades[3].grade", "twice"),
        (
            "caring.texts_zh",
            ["你好，这里是心理援助热线，想问问你最近好吗？"],
            "caring.texts_zh[0]",
            "reveals",
        ),
        (
            "caring.texts_en",
            ["Hi, this is the crisis line checking in."],
            "caring.texts_en[0]",
            "reveals",
        ),
        ("caring.schedule", [], "caring.schedule", "at least one"),
        ("close_reasons", _DELETE, "close_reasons", "required"),
    ],
)
def test_a_mistake_is_refused_naming_its_key(
    config: Config, path: str, value: Any, key: str, problem: str
) -> None:
    """Every kind of typo or unsafe text stops the hotline from starting, with the key named."""
    raw = _raw()
    _mutate(raw, path, value)
    with pytest.raises(ConfigError) as caught:
        parse_followup_settings(raw, config, source="followups.toml")
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_a_missing_file_is_named(config: Config, tmp_path: Path) -> None:
    """An operator who points at a missing file is told which."""
    with pytest.raises(ConfigError, match="file not found"):
        load_followup_settings(config, tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not found"):
        load_followup_settings(config, environ={"HOTLINE_FOLLOWUPS": str(tmp_path / "x.toml")})
