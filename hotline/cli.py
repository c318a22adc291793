"""The `hotline` command: the only place that reads argv and the environment.

Exit status 2 means the configuration (or the command line) is wrong; the message names the
file, the key and the problem. The hotline never starts half-configured.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from hotline.config import Config, ConfigError, load_config
from hotline.crypto import DataKeyError
from hotline.logs import configure_logging
from hotline.triage.rules import RuleFileError
from hotline.triage.scanner import TextRiskScanner

EXIT_CONFIG = 2


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

    from hotline.triage.command import add_arguments as add_triage_arguments

    add_triage_arguments(commands.add_parser("triage", help="rate message texts for risk"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    if args.command == "triage":  # needs only the rule files: no config, data or server
        from hotline.triage.command import run_triage

        return run_triage(args)
    configure_logging()
    try:
        config = load_config(args.config)
        if args.command in ("serve", "demo"):
            config = _with_server(config, args.host, args.port)
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
    if args.command == "bench":
        from hotline.bench import run_benchmarks

        return run_benchmarks(config, quick=args.quick, json_path=args.json_path)
    return EXIT_CONFIG


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
    from hotline.store.database import DB_FILE, Database
    from hotline.store.keycheck import data_cipher, verify_data_key

    cipher = data_cipher(config)
    db = await Database.open(config.data_dir / DB_FILE, SystemClock())
    try:
        await verify_data_key(db, cipher)
    finally:
        await db.close()


async def _migrate(config: Config) -> int:
    from hotline.clock import SystemClock
    from hotline.store.database import DB_FILE, Database

    db = await Database.open(config.data_dir / DB_FILE, SystemClock())  # open() migrates
    await db.close()
    print(f"database {config.data_dir / DB_FILE} is up to date")
    return 0


async def _add_user(config: Config, args: argparse.Namespace) -> int:
    from hotline.clock import SystemClock
    from hotline.errors import DomainError
    from hotline.store.database import DB_FILE, Database
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
    db = await Database.open(config.data_dir / DB_FILE, SystemClock())
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


if __name__ == "__main__":
    sys.exit(main())
