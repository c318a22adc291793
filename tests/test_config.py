"""Configuration: typed and validated, and an error names the file, the key and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline.config import ConfigError, load_config
from hotline.risk import RiskLevel
from tests.conftest import DEFAULT_CONFIG

SEED_DISTRICTS = {
    "jinghu": "镜湖区",
    "yijiang": "弋江区",
    "jiujiang": "鸠江区",
    "sanshan": "三山区",
    "wuhu_county": "芜湖县",
    "fanchang": "繁昌县",
    "nanling": "南陵县",
    "wuwei": "无为县",
}


def test_default_config_has_the_seed_plan(tmp_path: Path) -> None:
    """The shipped config holds the 8 districts with their stable ids and the city defaults."""
    config = load_config(DEFAULT_CONFIG, environ={})
    assert {d.id: d.name_zh for d in config.districts} == SEED_DISTRICTS
    assert config.ui.language == "zh-CN"
    assert config.data_dir == Path("var")
    assert config.retention.records_days == 3 * 365
    assert config.wait_targets_seconds[RiskLevel.IMMINENT] == 10
    assert {g.id for g in config.key_groups} >= {
        "elderly_alone",
        "minor",
        "pregnant_postpartum",
        "disability",
        "community_correction",
    }
    assert config.wrap_up.categories and config.wrap_up.outcomes and config.wrap_up.referrals


def test_environment_overrides_keys(tmp_path: Path) -> None:
    """HOTLINE_<SECTION>__<KEY> overrides a key, typed as TOML; HOTLINE_DATA_DIR moves the data."""
    config = load_config(
        DEFAULT_CONFIG,
        environ={
            "HOTLINE_SERVER__PORT": "9123",
            "HOTLINE_UI__LANGUAGE": "en",
            "HOTLINE_DATA_DIR": str(tmp_path),
            "HOTLINE_WEBCHAT__MAX_MESSAGE_CHARS": "500",
        },
    )
    assert config.server.port == 9123
    assert config.ui.language == "en"
    assert config.data_dir == tmp_path
    assert config.webchat.max_message_chars == 500


def _write(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in the default config"
    path = tmp_path / "city.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("port = 8080", 'port = "eighty"', "server.port", "must be an integer"),
        ("port = 8080", "prot = 8080", "server.prot", "unknown key"),
        (
            "max_message_chars = 2000",
            "max_message_chars = 0",
            "webchat.max_message_chars",
            "greater than zero",
        ),
        (
            'time_zone = "Asia/Shanghai"',
            'time_zone = "Asia/Shanghia"',
            "hotline.time_zone",
            "unknown time zone",
        ),
        ('id = "wuwei"', 'id = "jinghu"', "districts[7].id", "duplicate id"),
        ('language = "zh-CN"', 'language = "fr"', "ui.language", "not in ui.languages"),
        ("high = 30", "high = 6000", "wait_targets_seconds.high", "may not wait longer"),
        ("imminent = 10\n", "", "wait_targets_seconds.imminent", "required but missing"),
        ('name_en = "Wuwei County"', 'name_en = ""', "districts[7].name_en", "must not be empty"),
        ('engine = "sqlite"', 'engine = "mysql"', "database.engine", "unknown engine"),
        ('engine = "sqlite"', 'engine = "postgresql"', "database.url", "needs a url"),
        ('url = ""\nkey_prefix', 'url = "127.0.0.1:6379"\nkey_prefix', "redis.url", "redis://"),
        (
            'url = ""\nkey_prefix',
            'url = "redis+sentinel://10.0.0.11:26379"\nkey_prefix',
            "redis.url",
            "/<service>",
        ),
        (
            "suppression_threshold = 5",
            "suppression_threshold = 0",
            "statistics.suppression_threshold",
            "greater than zero",
        ),
        (
            "significance = 0.01",
            "significance = 1.5",
            "early_warning.significance",
            "between 0 and 1",
        ),
    ],
)
def test_config_error_names_file_key_and_problem(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    """Each mistake is reported with where it is and what is wrong."""
    path = _write(tmp_path, old, new)
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert error.value.source == str(path)
    assert error.value.key == key
    assert problem in error.value.problem
    assert str(path) in str(error.value) and key in str(error.value)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    """Unreadable files are config errors too."""
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, environ={})


def test_the_test_suites_own_variables_are_not_config() -> None:
    """HOTLINE_TEST_* (the Redis and PostgreSQL the tests use) reach every command a test
    runs; they are not config keys, and a real typo still is an error."""
    config = load_config(
        DEFAULT_CONFIG, environ={"HOTLINE_TEST_REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert config.redis.url == ""


def test_bad_environment_override_is_an_error() -> None:
    """A typo in an override variable is reported, not silently ignored."""
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(DEFAULT_CONFIG, environ={"HOTLINE_SERVER__PROT": "1"})
    with pytest.raises(ConfigError, match="HOTLINE_PORT"):
        load_config(DEFAULT_CONFIG, environ={"HOTLINE_PORT": "1"})


@pytest.mark.parametrize("command", [["serve"], ["demo"], ["db", "migrate"]])
def test_cli_exits_2_on_config_error_and_starts_nothing(tmp_path: Path, command: list[str]) -> None:
    """`hotline` refuses to start half-configured: status 2, the problem on stderr, no data."""
    path = _write(tmp_path, "port = 8080", "port = 70000")
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "--config", str(path), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOTLINE_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}: server.port: must be at most 65535" in result.stderr
    assert not (data / "hotline.sqlite3").exists()
