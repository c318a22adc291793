"""Reading `config/followups.toml`: schedules by risk, danger grades, alarms, caring texts.

Like the other config files it yields complete, validated settings or raises `ConfigError`
naming the file, the key and the problem. A caring text that mentions the hotline or a crisis
is refused here, because whoever else reads the person's phone must learn nothing from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hotline.config import Config, ConfigError, Option, Section, parse_options, read_toml
from hotline.risk import RiskLevel

FOLLOWUPS_FILE = "followups.toml"
GRADES = range(6)
_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Words a caring text may not contain (compared case-insensitively): each would tell a
# stranger holding the phone that its owner was in crisis or in care.
REVEALING_WORDS = (
    "热线",
    "心理",
    "危机",
    "自杀",
    "自伤",
    "轻生",
    "随访",
    "援助",
    "风险",
    "抑郁",
    "hotline",
    "crisis",
    "suicid",
    "self-harm",
    "follow-up",
    "follow up",
    "risk",
    "mental",
    "counsel",
    "psych",
)


@dataclass(frozen=True)
class Grade:
    """One national danger grade: how often the person is followed, and whether a referral
    is flagged at once."""

    grade: int
    every: timedelta
    referral: bool


@dataclass(frozen=True)
class FollowUpSettings:
    """Everything the follow-up service is told by config."""

    source: str
    schedules: Mapping[RiskLevel, tuple[timedelta, ...]]
    flag_after_failed: int
    retry_after: timedelta
    owner_after: timedelta
    supervisor_after: timedelta
    grades: Mapping[int, Grade]
    caring_schedule: tuple[timedelta, ...]
    caring_texts: Mapping[str, tuple[str, ...]]
    close_reasons: tuple[Option, ...]

    def close_reason(self, reason_id: str) -> Option | None:
        """A configured close reason by id."""
        return next((r for r in self.close_reasons if r.id == reason_id), None)


def followups_path(config: Config, environ: Mapping[str, str] | None = None) -> Path:
    """`HOTLINE_FOLLOWUPS`, else followups.toml beside the main config file."""
    env = os.environ if environ is None else environ
    if env.get("HOTLINE_FOLLOWUPS"):
        return Path(env["HOTLINE_FOLLOWUPS"])
    return Path(config.source).parent / FOLLOWUPS_FILE


def load_followup_settings(
    config: Config, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> FollowUpSettings:
    """Read and validate the follow-up settings."""
    path = path or followups_path(config, environ)
    source = str(path)
    raw = read_toml(path, "follow-up schedules")
    return parse_followup_settings(raw, config, source=source)


def parse_followup_settings(
    raw: dict[str, Any], config: Config, *, source: str
) -> FollowUpSettings:
    """Validate a parsed follow-up settings document."""
    root = Section(source, "", raw)

    schedules_section = root.section("schedules", required=True)
    schedules = {
        level: durations(schedules_section, level.value, allow_empty=True) for level in RiskLevel
    }
    schedules_section.finish()
    for level in (RiskLevel.HIGH, RiskLevel.IMMINENT):
        if not schedules[level]:
            raise ConfigError(
                source, f"schedules.{level.value}", "a high-risk schedule may not be empty"
            )

    attempts = root.section("attempts", required=True)
    flag_after = attempts.positive("flag_after_failed", 3)
    retry_after = duration(attempts, "retry_after")
    attempts.finish()

    overdue = root.section("overdue", required=True)
    owner_after = duration(overdue, "owner_after", allow_zero=True)
    supervisor_after = duration(overdue, "supervisor_after")
    if supervisor_after <= owner_after:
        raise ConfigError(
            source,
            overdue.key("supervisor_after"),
            "must be later than owner_after (the owner is alarmed first)",
        )
    overdue.finish()

    grades = _grades(root)

    caring = root.section("caring", required=True)
    caring_schedule = durations(caring, "schedule", allow_empty=False)
    texts: dict[str, tuple[str, ...]] = {}
    for lang in config.ui.languages:
        texts[lang] = _caring_texts(caring, f"texts_{_lang_suffix(lang)}")
    caring.finish()

    close_reasons = parse_options(root, "close_reasons")
    root.finish()
    return FollowUpSettings(
        source=source,
        schedules=schedules,
        flag_after_failed=flag_after,
        retry_after=retry_after,
        owner_after=owner_after,
        supervisor_after=supervisor_after,
        grades=grades,
        caring_schedule=caring_schedule,
        caring_texts=texts,
        close_reasons=close_reasons,
    )


def parse_duration(text: str) -> timedelta | None:
    """'30m', '4h', '3d', '2w' as a timedelta; None when it is not one."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def duration(section: Section, name: str, *, allow_zero: bool = False) -> timedelta:
    """A required duration key."""
    return _duration_value(section, section.key(name), section.get(name, str), allow_zero)


def _duration_value(section: Section, key: str, value: Any, allow_zero: bool) -> timedelta:
    parsed = parse_duration(value) if isinstance(value, str) else None
    if parsed is None:
        raise ConfigError(
            section.source, key, f'must be a duration like "4h" or "7d", got {value!r}'
        )
    if not parsed and not allow_zero:
        raise ConfigError(section.source, key, "must be longer than zero")
    return parsed


def durations(section: Section, name: str, *, allow_empty: bool) -> tuple[timedelta, ...]:
    """A list of durations in increasing order, without repeats."""
    values = section.get(name, list)
    if not values and not allow_empty:
        raise ConfigError(section.source, section.key(name), "must list at least one duration")
    parsed = tuple(
        _duration_value(section, f"{section.key(name)}[{i}]", v, False)
        for i, v in enumerate(values)
    )
    if list(parsed) != sorted(set(parsed)):
        raise ConfigError(
            section.source, section.key(name), "must be in increasing order, without repeats"
        )
    return parsed


def _grades(root: Section) -> dict[int, Grade]:
    root.used.add("grades")
    items = root.table.get("grades")
    key = root.key("grades")
    if not isinstance(items, list) or not items:
        raise ConfigError(root.source, key, "must be a non-empty list of [[grades]] (0 to 5)")
    grades: dict[int, Grade] = {}
    for index, item in enumerate(items):
        section = Section(root.source, f"{key}[{index}]", item)
        number = section.get("grade", int)
        if number not in GRADES:
            raise ConfigError(root.source, section.key("grade"), f"must be 0 to 5, got {number}")
        if number in grades:
            raise ConfigError(root.source, section.key("grade"), f"grade {number} twice")
        grades[number] = Grade(
            number, duration(section, "every"), section.get("referral", bool, False)
        )
        section.finish()
    missing = [g for g in GRADES if g not in grades]
    if missing:
        raise ConfigError(root.source, key, f"grades missing: {missing} (all of 0 to 5 are needed)")
    return grades


def _caring_texts(section: Section, name: str) -> tuple[str, ...]:
    values = section.get(name, list)
    if not values:
        raise ConfigError(section.source, section.key(name), "must list at least one text")
    texts = []
    for index, value in enumerate(values):
        key = f"{section.key(name)}[{index}]"
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(section.source, key, "must be a non-empty text")
        if len(value) > 320:
            raise ConfigError(section.source, key, "is too long for a short text (320 at most)")
        lowered = value.lower()
        revealing = [w for w in REVEALING_WORDS if w in lowered]
        if revealing:
            raise ConfigError(
                section.source,
                key,
                f"reveals too much to whoever reads the phone (contains {revealing[0]!r})",
            )
        texts.append(value)
    return tuple(texts)


def _lang_suffix(lang: str) -> str:
    return lang.split("-")[0].lower()
