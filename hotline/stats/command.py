"""`hotline stats export` and `hotline stats monthly`: the same suppressed figures as the
pages, for files sent on and for scripts. Standard output carries only the file (no log
lines); errors go to standard error with exit status 2."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from hotline.clock import SystemClock
from hotline.config import Config, ConfigError, load_config
from hotline.stats import queries
from hotline.stats.export import DIMENSIONS, parse_dimensions, to_csv, to_json
from hotline.stats.figures import Period
from hotline.store.database import DB_FILE, Database
from hotline.store.engine import open_database

EXIT_USAGE = 2
T = TypeVar("T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `stats` subcommands."""
    commands = parser.add_subparsers(dest="stats_command", required=True)
    export = commands.add_parser(
        "export", help="counts by day, district, channel and risk (suppressed), as CSV or JSON"
    )
    export.add_argument("--from", dest="first", required=True, help="first day, e.g. 2026-11-01")
    export.add_argument("--to", dest="last", required=True, help="last day (included)")
    export.add_argument(
        "--by", default="day", help=f"dimensions, comma-separated: {','.join(DIMENSIONS)}"
    )
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--out", type=Path, help="write here instead of standard output")
    monthly = commands.add_parser("monthly", help="the monthly report (Markdown)")
    monthly.add_argument("--month", help="e.g. 2026-11 (default: last month)")
    monthly.add_argument("--lang", choices=["zh-CN", "en"], default="zh-CN")
    monthly.add_argument("--out", type=Path, help="write here instead of standard output")


def _fail(message: str) -> int:
    print(f"hotline stats: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_stats(args: argparse.Namespace) -> int:
    """Run a `stats` subcommand."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}")
    zone = ZoneInfo(config.time_zone)
    now = SystemClock().now()
    db_path = config.data_dir / DB_FILE
    if config.database.engine == "sqlite" and not db_path.exists():
        return _fail(f"no database at {db_path} (is HOTLINE_DATA_DIR right?)")
    if args.stats_command == "export":
        try:
            first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
            by = parse_dimensions(args.by)
        except ValueError as exc:
            return _fail(str(exc))
        if last < first:
            return _fail("--to is before --from")
        period = Period(first, last, zone)
        rows = asyncio.run(
            _with_db(config, lambda db: queries.export_of(db, config, period, by, now))
        )
        threshold = config.statistics.suppression_threshold
        text = (
            to_csv(rows, by, threshold)
            if args.format == "csv"
            else to_json(rows, by, period, threshold) + "\n"
        )
    else:
        month = args.month or (now.astimezone(zone).date().replace(day=1) - timedelta(days=1))
        month_text = month if isinstance(month, str) else month.strftime("%Y-%m")
        try:
            queries.month_period(config, month_text)
        except ValueError as exc:
            return _fail(str(exc))
        text = asyncio.run(
            _with_db(
                config,
                lambda db: queries.monthly_markdown(db, config, month_text, args.lang, now),
            )
        )
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"hotline stats: wrote {args.out}", file=sys.stderr)
    return 0


async def _with_db(config: Config, read: Callable[[Database], Awaitable[T]]) -> T:
    """Open the configured store (read-only use), run one query, close it."""
    db = await open_database(config, SystemClock())
    try:
        return await read(db)
    finally:
        await db.close()
