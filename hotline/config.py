"""The city's configuration, read from TOML into typed, validated objects.

A hotline that starts half-configured can route a person in danger to nowhere, so loading
either yields a complete `Config` or raises `ConfigError` naming the file, the key and what
is wrong; the CLI turns that into exit status 2. Unknown keys are errors too, because a typo
that is silently ignored leaves the default in force without anyone noticing.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.cluster.address import SCHEMES as REDIS_SCHEMES
from hotline.cluster.address import SENTINEL_SCHEME, AddressError, parse_sentinel
from hotline.risk import RiskLevel

ENV_PREFIX = "HOTLINE_"
# Environment variables that are not config keys: where things are, and secrets.
ENV_NON_KEYS = {
    "HOTLINE_CONFIG",
    "HOTLINE_TEAMS",
    "HOTLINE_FOLLOWUPS",
    "HOTLINE_DATA_DIR",
    "HOTLINE_DATA_KEY",
    "HOTLINE_PUBLIC_URL",
}
# The test suite's own settings (HOTLINE_TEST_REDIS_URL, HOTLINE_TEST_POSTGRES_URL, ...):
# they reach every command a test runs, and are not the hotline's config.
TEST_ENV_PREFIX = "HOTLINE_TEST_"
# Twilio's own variable names, read as they are documented by Twilio.
TWILIO_ENV = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "api_key_sid": "TWILIO_API_KEY_SID",
    "api_key_secret": "TWILIO_API_KEY_SECRET",
    "twiml_app_sid": "TWILIO_TWIML_APP_SID",
}


class ConfigError(Exception):
    """A configuration problem, worded for the administrator who has to fix it."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Option:
    """A configured choice with a stable id and its names in both UI languages."""

    id: str
    name_zh: str
    name_en: str

    def name(self, lang: str) -> str:
        """The name to show in a UI language."""
        return self.name_zh if lang.startswith("zh") else self.name_en

    def as_dict(self) -> dict[str, str]:
        """The JSON shape the pages receive."""
        return {"id": self.id, "name_zh": self.name_zh, "name_en": self.name_en}


@dataclass(frozen=True)
class ServerConfig:
    """Where the web server listens and how it treats browsers."""

    host: str = "127.0.0.1"
    port: int = 8080
    allowed_origins: tuple[str, ...] = ()
    secure_cookies: bool = False
    session_hours: int = 12
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class UIConfig:
    """Languages of the pages; the first one shown is `language`."""

    language: str = "zh-CN"
    languages: tuple[str, ...] = ("zh-CN", "en")


@dataclass(frozen=True)
class ConsoleConfig:
    """How the console treats a counsellor whose browser goes away."""

    offline_grace_seconds: float = 30.0


@dataclass(frozen=True)
class RetentionConfig:
    """How long personal data is kept before it is purged, and how often the purge runs."""

    records_days: int = 1095
    run_every_hours: int = 24


DATABASE_ENGINES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class DatabaseConfig:
    """Which store holds the hotline's records: the embedded SQLite file, or PostgreSQL."""

    engine: str = "sqlite"
    url: str = field(default="", repr=False)  # may carry a password


@dataclass(frozen=True)
class RedisConfig:
    """The Redis several gateway processes share; no url means one process, in-process."""

    url: str = field(default="", repr=False)
    key_prefix: str = "hotline:"
    liveness_seconds: int = 10

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class StatisticsConfig:
    """How aggregates are protected: cells counting fewer people than this are suppressed."""

    suppression_threshold: int = 5


@dataclass(frozen=True)
class EarlyWarningConfig:
    """Each district's recent window against its own baseline, tested for a rise beyond chance."""

    baseline_days: int = 28
    window_hours: int = 24
    significance: float = 0.01
    check_every_minutes: int = 60


@dataclass(frozen=True)
class WebchatConfig:
    """Limits that keep the public chat usable under abuse."""

    max_message_chars: int = 2000
    messages_per_window: int = 20
    window_seconds: int = 10
    starts_per_minute: int = 10
    abandon_after_seconds: int = 300
    default_handle_minutes: int = 20


TELEPHONY_TEXTS = (
    "greeting",
    "confidentiality",
    "recording_notice",
    "danger_prompt",
    "district_prompt",
    "district_option",
    "wait_message",
    "position",
    "next_in_line",
    "callback_offer",
    "callback_confirmed",
    "overflow",
    "sms_received",
)


@dataclass(frozen=True)
class TelephonyConfig:
    """Twilio voice and SMS: where things are, the IVR's texts and its time limits.

    `enabled` is derived: telephony runs only with an account SID and auth token.
    """

    public_url: str
    api_base_url: str
    phone_number: str
    recording_enabled: bool
    ask_district: bool
    ring_timeout_seconds: int
    callback_offer_after_seconds: int
    overflow_after_seconds: int
    backup_number: str
    sms_inactivity_minutes: int
    wait_pause_seconds: int
    texts: Mapping[str, str]
    account_sid: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)
    api_key_sid: str | None = field(default=None, repr=False)
    api_key_secret: str | None = field(default=None, repr=False)
    twiml_app_sid: str | None = None

    @property
    def enabled(self) -> bool:
        """True when Twilio credentials are present."""
        return bool(self.account_sid and self.auth_token)

    @property
    def browser_answering(self) -> bool:
        """True when access tokens for the browser Voice SDK can be minted."""
        return self.enabled and bool(self.api_key_sid and self.api_key_secret)


@dataclass(frozen=True)
class WrapUpConfig:
    """The choices on the counsellor's wrap-up form."""

    categories: tuple[Option, ...]
    outcomes: tuple[Option, ...]
    referrals: tuple[Option, ...]
    # Why no follow-up case is opened for someone at high or imminent risk: the counsellor
    # must pick one, so "no follow-up" is always a recorded decision, never an omission.
    no_follow_up_reasons: tuple[Option, ...]


@dataclass(frozen=True)
class Config:
    """Everything the hotline needs to run, already validated."""

    source: str
    data_dir: Path
    name_zh: str
    name_en: str
    time_zone: str
    server: ServerConfig
    ui: UIConfig
    console: ConsoleConfig
    retention: RetentionConfig
    database: DatabaseConfig
    redis: RedisConfig
    statistics: StatisticsConfig
    early_warning: EarlyWarningConfig
    webchat: WebchatConfig
    wait_targets_seconds: Mapping[RiskLevel, int]
    districts: tuple[Option, ...]
    wrap_up: WrapUpConfig
    key_groups: tuple[Option, ...]
    telephony: TelephonyConfig
    data_key: str | None = field(default=None, repr=False)

    def district(self, district_id: str) -> Option | None:
        """Find a district by its stable id."""
        return next((d for d in self.districts if d.id == district_id), None)


def default_config_path() -> Path:
    """The config file used when none is named: ./config/default.toml, else the bundled one."""
    local = Path("config/default.toml")
    if local.is_file():
        return local
    return Path(__file__).resolve().parent.parent / "config" / "default.toml"


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, override from the environment, and validate the configuration."""
    env = os.environ if environ is None else environ
    if path is None:
        path = Path(env["HOTLINE_CONFIG"]) if env.get("HOTLINE_CONFIG") else default_config_path()
    source = str(path)
    raw = read_toml(path)
    _apply_env_overrides(raw, env, source)
    telephony = raw.setdefault("telephony", {})
    if isinstance(telephony, dict):
        for key, variable in TWILIO_ENV.items():
            if env.get(variable):
                telephony[key] = env[variable]
        if env.get("HOTLINE_PUBLIC_URL"):
            telephony["public_url"] = env["HOTLINE_PUBLIC_URL"]
    data_dir = Path(env.get("HOTLINE_DATA_DIR") or "./var")
    return parse_config(raw, source=source, data_dir=data_dir, data_key=env.get("HOTLINE_DATA_KEY"))


def read_toml(path: Path, what: str = "") -> dict[str, Any]:
    """A config file's document, or a `ConfigError` naming the file (and `what` it holds)."""
    source = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        missing = f"file not found ({what})" if what else "file not found"
        raise ConfigError(source, "", missing) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"cannot be read: {exc}") from None


def _apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str], source: str) -> None:
    """Apply HOTLINE_SECTION__KEY=value overrides; the value is read as TOML when it parses."""
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in ENV_NON_KEYS:
            continue
        if name.startswith(TEST_ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(
                f"environment {name}",
                "",
                "not a config key; write HOTLINE_<SECTION>__<KEY>, e.g. HOTLINE_SERVER__PORT",
            )
        try:
            parsed: Any = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}", ".".join(parts), "is not a section")
            node = child
        node[parts[-1]] = parsed
    del source


class Section:
    """Reads one TOML table, remembering which keys were used so leftovers are reported."""

    def __init__(self, source: str, path: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise ConfigError(source, path, f"must be a table, got {_kind(table)}")
        self.source = source
        self.path = path
        self.table: dict[str, Any] = table
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(name)
        if name not in self.table:
            if default is ...:
                raise ConfigError(self.source, self.key(name), "is required but missing")
            return default
        value = self.table[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(self.source, self.key(name), f"must be an integer, got {value!r}")
        if kind is not int and not isinstance(value, kind):
            wanted = kind.__name__ if isinstance(kind, type) else "number"
            raise ConfigError(self.source, self.key(name), f"must be a {wanted}, got {value!r}")
        return value

    def positive(self, name: str, default: Any = ..., *, allow_zero: bool = False) -> int:
        value: int = self.get(name, int, default)
        if value < 0 or (value == 0 and not allow_zero):
            floor = "zero or more" if allow_zero else "greater than zero"
            raise ConfigError(self.source, self.key(name), f"must be {floor}, got {value}")
        return value

    def text(self, name: str, default: Any = ...) -> str:
        value: str = self.get(name, str, default)
        if not value.strip():
            raise ConfigError(self.source, self.key(name), "must not be empty")
        return value

    def section(self, name: str, *, required: bool = False) -> Section:
        self.used.add(name)
        if name not in self.table and required:
            raise ConfigError(self.source, self.key(name), "is required but missing")
        return Section(self.source, self.key(name), self.table.get(name, {}))

    def finish(self) -> None:
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise ConfigError(
                self.source, self.key(extra[0]), "unknown key (a typo?); see config/default.toml"
            )


def _addresses(section: Section, name: str) -> list[str]:
    values = section.get(name, list, [])
    for value in values:
        try:
            ipaddress.ip_address(value)
        except (ValueError, TypeError):
            raise ConfigError(
                section.source, section.key(name), f"{value!r} is not an IP address"
            ) from None
    return [str(v) for v in values]


def _kind(value: Any) -> str:
    return type(value).__name__


def parse_options(parent: Section, name: str, *, required: bool = True) -> tuple[Option, ...]:
    parent.used.add(name)
    items = parent.table.get(name)
    key = parent.key(name)
    if items is None:
        if required:
            raise ConfigError(parent.source, key, "is required but missing")
        return ()
    if not isinstance(items, list) or not items:
        raise ConfigError(parent.source, key, "must be a non-empty list of [[tables]]")
    seen: set[str] = set()
    options = []
    for index, item in enumerate(items):
        section = Section(parent.source, f"{key}[{index}]", item)
        option_id = section.text("id")
        if not option_id.replace("_", "").isalnum() or not option_id.isascii():
            raise ConfigError(
                parent.source,
                section.key("id"),
                f"must be lower-case letters, digits and _, got {option_id!r}",
            )
        if option_id in seen:
            raise ConfigError(parent.source, section.key("id"), f"duplicate id {option_id!r}")
        seen.add(option_id)
        options.append(Option(option_id, section.text("name_zh"), section.text("name_en")))
        section.finish()
    return tuple(options)


def parse_config(
    raw: dict[str, Any], *, source: str, data_dir: Path, data_key: str | None = None
) -> Config:
    """Validate a parsed TOML document into a `Config`."""
    root = Section(source, "", raw)

    hotline = root.section("hotline", required=True)
    name_zh = hotline.text("name_zh")
    name_en = hotline.text("name_en")
    time_zone = hotline.text("time_zone", "Asia/Shanghai")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            source, hotline.key("time_zone"), f"unknown time zone {time_zone!r}"
        ) from None
    hotline.finish()

    srv = root.section("server")
    port = srv.positive("port", 8080)
    if port > 65535:
        raise ConfigError(source, srv.key("port"), f"must be at most 65535, got {port}")
    origins = srv.get("allowed_origins", list, [])
    if not all(isinstance(o, str) and o.startswith(("http://", "https://")) for o in origins):
        raise ConfigError(
            source, srv.key("allowed_origins"), "must list origins like https://hotline.example"
        )
    server = ServerConfig(
        host=srv.text("host", "127.0.0.1"),
        port=port,
        allowed_origins=tuple(o.rstrip("/") for o in origins),
        secure_cookies=srv.get("secure_cookies", bool, False),
        session_hours=srv.positive("session_hours", 12),
        trusted_proxies=tuple(_addresses(srv, "trusted_proxies")),
    )
    srv.finish()

    ui_section = root.section("ui")
    languages = tuple(ui_section.get("languages", list, ["zh-CN", "en"]))
    supported = {"zh-CN", "en"}
    if not languages or not set(languages) <= supported:
        raise ConfigError(
            source, ui_section.key("languages"), f"must be chosen from {sorted(supported)}"
        )
    language = ui_section.text("language", "zh-CN")
    if language not in languages:
        raise ConfigError(
            source, ui_section.key("language"), f"{language!r} is not in ui.languages"
        )
    ui = UIConfig(language=language, languages=languages)
    ui_section.finish()

    console_section = root.section("console")
    grace = console_section.get("offline_grace_seconds", (int, float), 30)
    if isinstance(grace, bool) or grace < 0:
        raise ConfigError(
            source, console_section.key("offline_grace_seconds"), "must be zero or more seconds"
        )
    console = ConsoleConfig(offline_grace_seconds=float(grace))
    console_section.finish()

    ret = root.section("retention")
    retention = RetentionConfig(
        records_days=ret.positive("records_days", 1095),
        run_every_hours=ret.positive("run_every_hours", 24),
    )
    ret.finish()

    dbs = root.section("database")
    engine = dbs.text("engine", "sqlite")
    if engine not in DATABASE_ENGINES:
        raise ConfigError(
            source,
            dbs.key("engine"),
            f"unknown engine {engine!r}; choose one of: {', '.join(DATABASE_ENGINES)}",
        )
    database_url = dbs.get("url", str, "")
    if engine == "postgresql" and not database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            source,
            dbs.key("url"),
            "engine postgresql needs a url like postgresql://user@host:5432/hotline",
        )
    database = DatabaseConfig(engine=engine, url=database_url)
    dbs.finish()

    red = root.section("redis")
    redis_url = red.get("url", str, "")
    if redis_url and not redis_url.startswith(REDIS_SCHEMES):
        raise ConfigError(
            source,
            red.key("url"),
            "must be empty, a url like redis://127.0.0.1:6379/0, or"
            " redis+sentinel://host:26379,host:26379/<service>[/<db>]",
        )
    if redis_url.startswith(SENTINEL_SCHEME):
        try:
            parse_sentinel(redis_url)
        except AddressError as exc:
            raise ConfigError(source, red.key("url"), str(exc)) from None
    redis = RedisConfig(
        url=redis_url,
        key_prefix=red.text("key_prefix", "hotline:"),
        liveness_seconds=red.positive("liveness_seconds", 10),
    )
    red.finish()

    stats = root.section("statistics")
    statistics = StatisticsConfig(
        suppression_threshold=stats.positive("suppression_threshold", 5),
    )
    stats.finish()

    warn = root.section("early_warning")
    significance = warn.get("significance", (int, float), 0.01)
    if isinstance(significance, bool) or not 0 < significance < 1:
        raise ConfigError(
            source, warn.key("significance"), f"must be between 0 and 1, got {significance!r}"
        )
    early_warning = EarlyWarningConfig(
        baseline_days=warn.positive("baseline_days", 28),
        window_hours=warn.positive("window_hours", 24),
        significance=float(significance),
        check_every_minutes=warn.positive("check_every_minutes", 60),
    )
    warn.finish()

    chat = root.section("webchat")
    webchat = WebchatConfig(
        max_message_chars=chat.positive("max_message_chars", 2000),
        messages_per_window=chat.positive("messages_per_window", 20),
        window_seconds=chat.positive("window_seconds", 10),
        starts_per_minute=chat.positive("starts_per_minute", 10),
        abandon_after_seconds=chat.positive("abandon_after_seconds", 300),
        default_handle_minutes=chat.positive("default_handle_minutes", 20),
    )
    chat.finish()

    targets_section = root.section("wait_targets_seconds", required=True)
    targets = {level: targets_section.positive(level.value, allow_zero=True) for level in RiskLevel}
    targets_section.finish()
    ranked = sorted(RiskLevel, key=lambda level: level.rank, reverse=True)
    for more_urgent, less_urgent in pairwise(ranked):
        if targets[more_urgent] > targets[less_urgent]:
            raise ConfigError(
                source,
                targets_section.key(more_urgent.value),
                f"a {more_urgent.value} contact may not wait longer than a "
                f"{less_urgent.value} one ({targets[more_urgent]} > {targets[less_urgent]})",
            )

    districts = parse_options(root, "districts")
    wrap = root.section("wrap_up", required=True)
    wrap_up = WrapUpConfig(
        categories=parse_options(wrap, "categories"),
        outcomes=parse_options(wrap, "outcomes"),
        referrals=parse_options(wrap, "referrals"),
        no_follow_up_reasons=parse_options(wrap, "no_follow_up_reasons"),
    )
    wrap.finish()
    key_groups = parse_options(root, "key_groups")
    telephony = _telephony(root.section("telephony", required=True), districts)
    root.finish()

    return Config(
        source=source,
        data_dir=data_dir,
        name_zh=name_zh,
        name_en=name_en,
        time_zone=time_zone,
        server=server,
        ui=ui,
        console=console,
        retention=retention,
        database=database,
        redis=redis,
        statistics=statistics,
        early_warning=early_warning,
        webchat=webchat,
        wait_targets_seconds=targets,
        districts=districts,
        wrap_up=wrap_up,
        key_groups=key_groups,
        telephony=telephony,
        data_key=data_key,
    )


def _url(section: Section, name: str, default: Any = ...) -> str:
    value = section.text(name, default).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            section.source, section.key(name), f"must start with http:// or https://, got {value!r}"
        )
    return value


def parse_phone(section: Section, name: str) -> str:
    value = section.text(name).replace(" ", "")
    if not (value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16):
        raise ConfigError(
            section.source,
            section.key(name),
            f"must be an E.164 number like +8655312345678, got {value!r}",
        )
    return value


def _telephony(section: Section, districts: tuple[Option, ...]) -> TelephonyConfig:
    texts_section = section.section("texts", required=True)
    texts = {name: texts_section.text(name) for name in TELEPHONY_TEXTS}
    texts_section.finish()
    for name, fields in (("position", "{ahead}"), ("district_option", "{key}")):
        if fields not in texts[name]:
            raise ConfigError(section.source, texts_section.key(name), f"must contain {fields}")
    if section.get("ask_district", bool, True) and len(districts) > 9:
        raise ConfigError(
            section.source,
            section.key("ask_district"),
            "a phone keypad offers 9 districts at most; set ask_district = false",
        )
    secrets = {
        key: section.get(key, str, None)
        for key in ("account_sid", "auth_token", "api_key_sid", "api_key_secret", "twiml_app_sid")
    }
    telephony = TelephonyConfig(
        public_url=_url(section, "public_url"),
        api_base_url=_url(section, "api_base_url", "https://api.twilio.com"),
        phone_number=parse_phone(section, "phone_number"),
        recording_enabled=section.get("recording_enabled", bool, False),
        ask_district=section.get("ask_district", bool, True),
        ring_timeout_seconds=section.positive("ring_timeout_seconds", 20),
        callback_offer_after_seconds=section.positive("callback_offer_after_seconds", 180),
        overflow_after_seconds=section.positive("overflow_after_seconds", 600),
        backup_number=parse_phone(section, "backup_number"),
        sms_inactivity_minutes=section.positive("sms_inactivity_minutes", 120),
        wait_pause_seconds=section.positive("wait_pause_seconds", 20),
        texts=texts,
        **secrets,
    )
    section.finish()
    return telephony
