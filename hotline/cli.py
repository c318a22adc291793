"""The `hotline` command: the only place that reads argv and the environment.

Exit status 2 means the configuration (or the command line) is wrong; the message names the
file, the key and the problem. The hotline never starts half-configured.
`hotline roster gaps` exits 1 when some team has nobody on call, so cron or a monitoring
check can alert on it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hotline.config import Config, ConfigError, load_config
from hotline.crypto import DataKeyError
from hotline.logs import configure_logging
from hotline.triage.rules import RuleFileError
from hotline.triage.scanner import TextRiskScanner

if TYPE_CHECKING:  # dispatch is imported only by the commands that use it
    from dispatch.config import DispatchConfig
    from dispatch.rosters import OnCall
    from dispatch.teams import Team

EXIT_CONFIG = 2
EXIT_GAPS = 1
GAP_DAYS = 14


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline", description="The city's psychological assistance hotline and dispatch."
    )
    parser.add_argument("--config", type=Path, help="config file (default config/default.toml)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the hotline web server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    demo = commands.add_parser("demo", help="serve with demo users and simulated web-chat traffic")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument("--no-traffic", action="store_true", help="demo users only, no simulator")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("migrate", help="apply pending migrations")

    users = commands.add_parser("users", help="staff accounts")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    add = users_commands.add_parser("add", help="add a staff account")
    add.add_argument("name", help="login name")
    add.add_argument(
        "--role", required=True, choices=["counsellor", "supervisor", "coordinator", "admin"]
    )
    add.add_argument("--display-name", help="name shown to colleagues (default: the login name)")
    add.add_argument(
        "--generate-password",
        action="store_true",
        help="generate a password and print it once instead of prompting",
    )
    add.add_argument(
        "--answer-by",
        choices=["browser", "phone"],
        default="browser",
        help="how this counsellor answers phone calls (default: browser)",
    )
    add.add_argument("--phone", help="the counsellor's own number (+86...) for --answer-by phone")

    bench = commands.add_parser("bench", help="run the benchmarks")
    bench.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")
    bench.add_argument("--json", type=Path, dest="json_path", help="write the metrics here")
    bench.add_argument(
        "--redis", help="the Redis for the scale-out metrics (default: [redis] url, else local)"
    )

    oncall = commands.add_parser("oncall", help="who is on call for a team, and who is next")
    oncall.add_argument("team", help="team id (city, a district id, supervisors)")
    oncall.add_argument(
        "--at", help="instant, ISO 8601 (default now; without an offset: the team's time zone)"
    )
    oncall.add_argument("--json", action="store_true", help="print JSON instead of text")

    roster = commands.add_parser("roster", help="on-call rosters: gaps and calendar feeds")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True)
    gaps = roster_commands.add_parser(
        "gaps", help="list times nobody is primary on call (exit status 1 when there are any)"
    )
    gaps.add_argument("--days", type=int, default=GAP_DAYS, help="how far ahead (default 14)")
    gaps.add_argument("--at", help="from this instant, ISO 8601 (default now)")
    ical = roster_commands.add_parser("ical", help="write a team's iCalendar feed to stdout")
    ical.add_argument("team")
    ical.add_argument("--days", type=int, default=60, help="how far ahead (default 60)")
    ical.add_argument("--lang", choices=["zh-CN", "en"], default="zh-CN")
    url = roster_commands.add_parser(
        "calendar-url", help="print a team's calendar subscription URL (with its token)"
    )
    url.add_argument("team")

    followups = commands.add_parser("followups", help="follow-up of people at high risk")
    followups_commands = followups.add_subparsers(dest="followups_command", required=True)
    check = followups_commands.add_parser(
        "check",
        help="list overdue follow-ups and undecided high-risk contacts (exit 1 when any)",
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of text")

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser(
        "verify", help="check the audit trail's hash chain (exit status 1 when it is broken)"
    )

    from hotline.retention_command import add_arguments as add_retention_arguments

    add_retention_arguments(commands.add_parser("retention", help="purge personal data by age"))

    from hotline.stats.command import add_arguments as add_stats_arguments

    add_stats_arguments(
        commands.add_parser("stats", help="supervisors' statistics: exports, monthly report")
    )

    from hotline.triage.command import add_arguments as add_triage_arguments

    add_triage_arguments(commands.add_parser("triage", help="rate message texts for risk"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    if args.command == "triage":  # needs only the rule files: no config, data or server
        from hotline.triage.command import run_triage

        return run_triage(args)
    if args.command == "stats":  # stdout carries the CSV, JSON or report: no log lines
        from hotline.stats.command import run_stats

        return run_stats(args)
    if args.command in ("oncall", "roster"):  # stdout carries JSON or iCalendar: no log lines
        return _rosters(args)
    configure_logging()
    try:
        config = load_config(args.config)
        if args.command in ("serve", "demo"):
            config = _with_server(config, args.host, args.port)
            _check_plans(config)
        if args.command != "bench":
            # A malformed or mismatched key is a configuration error, found before serving.
            asyncio.run(_check_key(config))
            # So is a broken triage rule file: the scanner must work before anyone relies on it.
            TextRiskScanner.default()
    except (ConfigError, DataKeyError, RuleFileError) as exc:
        print(f"hotline: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    if args.command == "serve":
        from hotline.web.app import create_app
        from hotline.web.serve import run

        run(create_app(config), config)
        return 0
    if args.command == "demo":
        from hotline.demo import run_demo

        run_demo(config, traffic=not args.no_traffic)
        return 0
    if args.command == "db":
        return asyncio.run(_migrate(config))
    if args.command == "users":
        return asyncio.run(_add_user(config, args))
    if args.command == "audit":
        return asyncio.run(_verify_audit(config))
    if args.command == "retention":
        from hotline.retention_command import run_retention

        return asyncio.run(run_retention(config, args))
    if args.command == "followups":
        from dispatch.followups.command import check

        return asyncio.run(check(config, as_json=args.json))
    if args.command == "bench":
        from hotline.bench import run_benchmarks

        return run_benchmarks(
            config, quick=args.quick, json_path=args.json_path, redis_url=args.redis
        )
    return EXIT_CONFIG


def _check_plans(config: Config) -> None:
    """Teams, follow-up schedules and emergency plans are read before serving, so a typo in
    any of them stops the start with its file and key named (exit 2), not a traceback."""
    from dispatch.config import load_dispatch_config
    from dispatch.followups.settings import load_followup_settings
    from dispatch.incidents.plans import load_plans

    dispatch_config = load_dispatch_config(config)
    load_followup_settings(config)
    load_plans(config, dispatch_config)


async def _verify_audit(config: Config) -> int:
    from hotline.audit import verify
    from hotline.clock import SystemClock
    from hotline.store.engine import open_database

    db = await open_database(config, SystemClock())
    try:
        result = await verify(db)
        last = await db.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
    finally:
        await db.close()
    if result.intact:
        # The newest hash, for an operator to keep elsewhere: a truncated tail is found only
        # against a copy of it.
        print(f"audit trail intact: {result.checked} records; last hash {last or '-'}")
        return 0
    print(
        f"audit trail BROKEN at record {result.broken_at}: {result.problem}"
        f" ({result.checked} records before it hold)",
        file=sys.stderr,
    )
    return 1


def _with_server(config: Config, host: str | None, port: int | None) -> Config:
    from dataclasses import replace

    if port is not None and not 0 < port < 65536:
        raise ConfigError("command line", "--port", f"must be 1-65535, got {port}")
    server = replace(
        config.server, host=host or config.server.host, port=port or config.server.port
    )
    return replace(config, server=server)


async def _check_key(config: Config) -> None:
    from hotline.clock import SystemClock
    from hotline.store.engine import open_database
    from hotline.store.keycheck import data_cipher, verify_data_key

    cipher = data_cipher(config)
    db = await open_database(config, SystemClock())
    try:
        await verify_data_key(db, cipher)
    finally:
        await db.close()


async def _migrate(config: Config) -> int:
    from hotline.clock import SystemClock
    from hotline.store.engine import open_database, store_label

    db = await open_database(config, SystemClock())  # opening migrates
    await db.close()
    print(f"{store_label(config)} is up to date")
    return 0


async def _add_user(config: Config, args: argparse.Namespace) -> int:
    from hotline.clock import SystemClock
    from hotline.errors import DomainError
    from hotline.store.engine import open_database
    from hotline.store.keycheck import data_cipher
    from hotline.users import Role, Users, generate_password

    if args.answer_by == "phone" and not (
        args.phone and args.phone.startswith("+") and args.phone[1:].isdigit()
    ):
        print("hotline: --answer-by phone needs --phone +86...", file=sys.stderr)
        return 2
    if args.generate_password or not sys.stdin.isatty():
        password, generated = generate_password(), True
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if password != getpass.getpass("again: "):
            print("hotline: the passwords differ; nothing was added", file=sys.stderr)
            return 1
        generated = False
    cipher = data_cipher(config)
    db = await open_database(config, SystemClock())
    try:
        users = Users(db, cipher)
        user = await users.add(args.name, args.display_name or args.name, Role(args.role), password)
        if args.answer_by != "browser" or args.phone:
            await users.set_answer_by(user.id, args.answer_by, args.phone)
    except DomainError as exc:
        print(f"hotline: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"added {user.role.value} {user.username} (id {user.id})")
    if generated:
        print(f"password (shown once): {password}")
    return 0


def _rosters(args: argparse.Namespace) -> int:
    """`oncall` and `roster ...`: read config and teams (and the data key only for a URL)."""
    from dispatch.config import load_dispatch_config

    try:
        config = load_config(args.config)
        dispatch_config = load_dispatch_config(config)
        if args.command == "roster" and args.roster_command == "calendar-url":
            asyncio.run(_check_key(config))  # the token is made with the server's own key
    except (ConfigError, DataKeyError) as exc:
        print(f"hotline: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "oncall":
        return _oncall(dispatch_config, args)
    if args.roster_command == "gaps":
        return _roster_gaps(dispatch_config, args)
    team = _team(dispatch_config, args.team)
    if team is None:
        return EXIT_CONFIG
    if args.roster_command == "ical":
        return _roster_ical(team, args)
    from dispatch.web.calendar import calendar_path
    from hotline.store.keycheck import data_cipher

    base = config.telephony.public_url.rstrip("/")
    print(base + calendar_path(data_cipher(config), team.id))
    return 0


def _team(dispatch_config: DispatchConfig, team_id: str) -> Team | None:
    """The team named on the command line, or None after saying which ids exist."""
    team = dispatch_config.teams.get(team_id)
    if team is None:
        valid = ", ".join(t.id for t in dispatch_config.teams)
        print(f"hotline: no team {team_id!r}; teams: {valid}", file=sys.stderr)
    return team


def _instant(text: str | None, zone: ZoneInfo) -> datetime | None:
    """--at as an aware instant (a naive one read in `zone`); now without it; None if invalid."""
    if text is None:
        from hotline.clock import SystemClock

        return SystemClock().now()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        print(
            f"hotline: --at must be an ISO 8601 date-time like 2026-11-23T09:00 or "
            f"2026-11-23T01:00:00Z, got {text!r}",
            file=sys.stderr,
        )
        return None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


def _days(days: int) -> bool:
    """--days within reason; the message says why not."""
    if not 0 < days <= 366:
        print(f"hotline: --days must be 1-366, got {days}", file=sys.stderr)
        return False
    return True


def _member_json(team: Team, member_id: str | None) -> dict[str, str] | None:
    member = team.member(member_id)
    if member_id is None:
        return None
    if member is None:  # config forbids it; say what the roster says rather than fail
        return {"id": member_id, "name": member_id, "role": ""}
    return {"id": member.id, "name": member.name, "role": member.role.value}


def _member_text(team: Team, member_id: str | None) -> str:
    found = _member_json(team, member_id)
    if found is None:
        return "nobody (GAP)"
    return f"{found['name']} ({found['id']}, {found['role']})"


def _local(team: Team, at: datetime) -> str:
    return at.astimezone(team.roster.zone).isoformat(sep=" ", timespec="minutes")


def _oncall(dispatch_config: DispatchConfig, args: argparse.Namespace) -> int:
    """Print who is on call for a team at an instant, who is next, and gaps ahead."""
    import json

    from dispatch.rosters import gaps, next_change, on_call

    team = _team(dispatch_config, args.team)
    if team is None:
        return EXIT_CONFIG
    at = _instant(args.at, team.roster.zone)
    if at is None:
        return EXIT_CONFIG
    now = on_call(team.roster, at)
    upcoming = next_change(team.roster, at)
    found = gaps(team.roster, at, at + timedelta(days=GAP_DAYS))
    if args.json:
        document: dict[str, Any] = {
            "team": team.id,
            **_answer_json(team, now),
            "next": None if upcoming is None else _answer_json(team, upcoming),
            "gaps": [{"start": s.isoformat(), "end": e.isoformat()} for s, e in found],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"{team.name_zh} / {team.name_en} ({team.id}), time zone {team.roster.time_zone}")
    print(f"  at         {_local(team, at)}")
    print(f"  primary    {_member_text(team, now.primary)}")
    print(f"  secondary  {_member_text(team, now.secondary)}")
    if upcoming is None:
        print("  next       no change in the next 60 days")
    else:
        print(
            f"  next       {_local(team, upcoming.at)}: primary "
            f"{_member_text(team, upcoming.primary)}, secondary "
            f"{_member_text(team, upcoming.secondary)}"
        )
    if found:
        print(f"WARNING: nobody primary on call {len(found)} time(s) in the next {GAP_DAYS} days:")
        for start, end in found:
            print(f"  gap {_local(team, start)} -> {_local(team, end)}")
    else:
        print(f"  no gaps in the next {GAP_DAYS} days")
    return 0


def _answer_json(team: Team, answer: OnCall) -> dict[str, Any]:
    return {
        "at": answer.at.isoformat(),
        "primary": _member_json(team, answer.primary),
        "secondary": _member_json(team, answer.secondary),
    }


def _roster_gaps(dispatch_config: DispatchConfig, args: argparse.Namespace) -> int:
    """List every team's gaps ahead; exit status 1 when there is any, so a cron job can alert."""
    from dispatch.rosters import gaps

    if not _days(args.days):
        return EXIT_CONFIG
    any_gap = False
    for team in dispatch_config.teams:
        at = _instant(args.at, team.roster.zone)
        if at is None:
            return EXIT_CONFIG
        for start, end in gaps(team.roster, at, at + timedelta(days=args.days)):
            any_gap = True
            hours = (end - start) / timedelta(hours=1)
            print(
                f"GAP {team.id} ({team.name_zh}): nobody primary on call "
                f"{_local(team, start)} -> {_local(team, end)} ({hours:g} h)"
            )
    if any_gap:
        return EXIT_GAPS
    print(f"no gaps in the next {args.days} days ({len(dispatch_config.teams.teams)} teams)")
    return 0


def _roster_ical(team: Team, args: argparse.Namespace) -> int:
    """Write the team's shifts from today (00:00 UTC) to --days ahead as iCalendar to stdout."""
    from dispatch.calendar import feed_window, team_calendar
    from hotline.clock import SystemClock

    if not _days(args.days):
        return EXIT_CONFIG
    now = SystemClock().now()
    start, end = feed_window(now, past_days=0, ahead_days=args.days)
    sys.stdout.flush()
    sys.stdout.buffer.write(team_calendar(team, start, end, lang=args.lang, stamp=now))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
