"""The statistics a person asks for, read from the store: the page's figures, an export's
rows and the monthly report. The web pages and the `hotline stats` command both come here,
so a figure is the same wherever it is read."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config import Config
from hotline.stats.export import export_rows
from hotline.stats.facts import load_facts
from hotline.stats.figures import Filters, Period, compute
from hotline.stats.monthly import (
    monthly_tables,
    parse_month,
    report_title,
    suppression_note,
    to_markdown,
)
from hotline.store.database import Database


def _districts(config: Config) -> list[str]:
    return [d.id for d in config.districts]


async def figures_of(
    db: Database, config: Config, period: Period, filters: Filters, now: datetime
) -> dict[str, Any]:
    """The suppressed figures of a period and filters."""
    facts = await load_facts(db, period.start, period.end, now)
    threshold = config.statistics.suppression_threshold
    # On a worker thread, like the facts: the event loop keeps serving the line meanwhile.
    return await asyncio.to_thread(
        compute, facts, filters, period, threshold, _districts(config)
    )


async def export_of(
    db: Database,
    config: Config,
    period: Period,
    by: Sequence[str],
    now: datetime,
    filters: Filters | None = None,
) -> list[dict[str, Any]]:
    """The suppressed rows of an export."""
    facts = await load_facts(db, period.start, period.end, now)
    threshold = config.statistics.suppression_threshold
    return await asyncio.to_thread(
        export_rows, facts, period, by, threshold, _districts(config), filters
    )


def month_period(config: Config, month: str) -> Period:
    """`2026-11` as a period of local days (ValueError names a malformed month)."""
    first, last = parse_month(month)
    return Period(first, last, ZoneInfo(config.time_zone))


async def monthly_markdown(
    db: Database, config: Config, month: str, lang: str, now: datetime
) -> str:
    """The monthly report as the Markdown file sent to the supervising authority."""
    period = month_period(config, month)
    figures = await figures_of(db, config, period, Filters(), now)
    span = f"{period.first.isoformat()} – {period.last.isoformat()} ({config.time_zone})"
    return to_markdown(
        report_title(config, month, lang),
        span,
        monthly_tables(figures, config, lang),
        suppression_note(config.statistics.suppression_threshold, lang),
    )
