"""Statistics benchmarks for `hotline bench`: a month's figures over a busy event log, and
what computing them costs the line that shares the process.

* `stats_month_ms`: the figures of one month (`/stats` for that month) over an event log
  of `contacts` contacts arriving through it (100,000 in a full run: a surge month).
* `stats_loop_lag_p99_ms`: while those figures are computed, a ticker on the same event
  loop measures how late each 10 ms tick comes: the delay a console's take-next or a
  webhook would see meanwhile. The facts and figures are built on worker threads so this
  stays small; the target keeps the floor responsive.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.clock import SystemClock, to_iso
from hotline.config import Config
from hotline.stats import queries
from hotline.stats.figures import Filters, Period
from hotline.store.database import DB_FILE, Database

LOOP_LAG_P99_TARGET_MS = 100.0
TICK_SECONDS = 0.01
MONTH = (date(2026, 10, 1), date(2026, 10, 31))


def _events(config: Config, contacts: int) -> list[tuple[str, str, str, str, str]]:
    """A month of arrivals, answers, wrap-ups and abandonments, spread evenly."""
    rng = random.Random(8)
    districts = [d.id for d in config.districts] + [None]
    start = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 1 October, 00:00 in Shanghai
    step = timedelta(days=31) / contacts
    rows = []
    for key in range(1, contacts + 1):
        at = start + step * key
        subject = f"contact:{key}"
        arrival = {
            "channel": rng.choice(["voice", "sms", "webchat"]),
            "district": rng.choice(districts),
            "risk": rng.choice(["none", "low", "low", "moderate", "high", "imminent"]),
            "repeat": rng.random() < 0.3,
        }
        rows.append((to_iso(at), "caller", "contact.queued", subject, json.dumps(arrival)))
        waited = timedelta(seconds=rng.randint(1, 300))
        if rng.random() < 0.9:
            rows.append((to_iso(at + waited), "user:1", "contact.active", subject, "{}"))
            referral = rng.choice(["none", "none", "police_110", "community_health"])
            rows.append(
                (
                    to_iso(at + waited + timedelta(minutes=12)),
                    "user:1",
                    "contact.closed",
                    subject,
                    json.dumps({"referral": referral}),
                )
            )
        else:
            rows.append((to_iso(at + waited), "caller", "contact.abandoned", subject, "{}"))
    rows.sort()
    return rows


async def bench_stats(config: Config, contacts: int) -> tuple[float, float, dict[str, object]]:
    """(milliseconds for a month's figures, p99 event-loop lag meanwhile in ms, context)."""
    db = await Database.open(config.data_dir / DB_FILE, SystemClock())
    try:
        async with db.transaction() as tx:
            await tx.conn.executemany(
                "INSERT INTO events (at, actor, kind, subject, data) VALUES (?, ?, ?, ?, ?)",
                _events(config, contacts),
            )
        period = Period(*MONTH, ZoneInfo(config.time_zone))
        now = datetime(2026, 11, 5, tzinfo=UTC)
        lags: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                planned = time.perf_counter() + TICK_SECONDS
                await asyncio.sleep(TICK_SECONDS)
                lags.append(max(0.0, (time.perf_counter() - planned) * 1000))

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        figures = await queries.figures_of(db, config, period, Filters(), now)
        elapsed = (time.perf_counter() - started) * 1000
        done.set()
        await ticking
    finally:
        await db.close()
    lags.sort()
    lag_p99 = lags[max(0, int(len(lags) * 0.99) - 1)] if lags else 0.0
    context: dict[str, object] = {
        "contacts": contacts,
        "offered": figures["summary"]["offered"],
        "ticks": len(lags),
        "lag_max_ms": round(max(lags, default=0.0), 2),
    }
    return elapsed, lag_p99, context
