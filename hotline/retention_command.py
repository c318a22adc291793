"""`hotline retention run`: purge personal data past the retention period, or show what would go.

The same purge the server runs on its schedule (`hotline.retention`), for an administrator:
`--dry-run` counts what would go and changes nothing; `--at` judges age from another
instant. A real run may look back (an earlier instant purges less) but not ahead: an
instant in the future would purge records younger than the configured period, so it is
refused as a command-line error (exit 2); a dry run may look ahead ("what goes by then?").
Only counts, kinds and instants are printed, never what the records held.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hotline.clock import SystemClock
from hotline.config import Config
from hotline.retention import DESCRIPTIONS, KINDS, RetentionSurvey, purge, survey
from hotline.store.engine import open_database

EXIT_USAGE = 2
ACTOR = "admin"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommands and options of `hotline retention`."""
    commands = parser.add_subparsers(dest="retention_command", required=True)
    run = commands.add_parser(
        "run", help="purge personal data older than retention.records_days (or --dry-run)"
    )
    run.add_argument("--dry-run", action="store_true", help="show what would go; change nothing")
    run.add_argument(
        "--at",
        help="judge age from this instant, ISO 8601 (default now; without an offset: the "
        "hotline's time zone); a real run refuses a future instant",
    )
    run.add_argument("--json", action="store_true", help="print JSON instead of text")


async def run_retention(config: Config, args: argparse.Namespace) -> int:
    """Run `hotline retention run`; 0 when done, 2 for a bad --at."""
    zone = ZoneInfo(config.time_zone)
    clock = SystemClock()
    at = _instant(args.at, zone, clock.now())
    if at is None:
        return EXIT_USAGE
    if not args.dry_run and at > clock.now():
        print(
            "hotline: --at is in the future: a real run would purge records younger than "
            f"{config.retention.records_days} days; use --dry-run to look ahead",
            file=sys.stderr,
        )
        return EXIT_USAGE
    db = await open_database(config, clock)
    try:
        days = config.retention.records_days
        if args.dry_run:
            result = await survey(db, at, days)
        else:
            result = await purge(db, at, days, ACTOR, purpose="manual")
    finally:
        await db.close()
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, **result.as_dict()}, indent=2))
    else:
        _print_text(result, zone, dry_run=args.dry_run)
    return 0


def _instant(text: str | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """--at as an aware UTC instant (a naive one read in the hotline's zone); None if bad."""
    if text is None:
        return now
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        print(
            "hotline: --at must be an ISO 8601 date-time like 2026-11-23T09:00 or "
            f"2026-11-23T01:00:00Z, got {text!r}",
            file=sys.stderr,
        )
        return None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


def _print_text(result: RetentionSurvey, zone: ZoneInfo, *, dry_run: bool) -> None:
    def local(instant: datetime) -> str:
        return instant.astimezone(zone).isoformat(sep=" ", timespec="seconds")

    print(
        f"retention: records that ended before {local(result.cutoff)} "
        f"({result.records_days} days before {local(result.at)})"
    )
    print("would purge (dry run, nothing changed):" if dry_run else "purged:")
    width = max(len(kind) for kind in KINDS)
    for kind in KINDS:
        print(f"  {kind:<{width}}  {result.counts.get(kind, 0):>7}  {DESCRIPTIONS[kind]}")
    print(f"  {'total':<{width}}  {result.total:>7}")
    if result.checkpointed is False:
        print(
            "note: the write-ahead log is still in use; the purged bytes leave it at the "
            "next checkpoint"
        )
