"""Every figure of the stats page computed from a constructed event log with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.clock import ManualClock
from hotline.stats.facts import load_facts
from hotline.stats.figures import Filters, Period, compute
from hotline.store.database import Database
from tests.stats.eventlog import EventLog

ZONE = ZoneInfo("Asia/Shanghai")
DISTRICTS = ["jinghu", "yijiang", "jiujiang"]
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 2), ZONE)
NOW = datetime(2026, 11, 10, tzinfo=UTC)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZONE) if day > 0 else datetime(
        2026, 10, 31, hour, minute, tzinfo=ZONE
    )


def november_log() -> EventLog:
    """Day 1, 10:00 local: 8 answered + 2 abandoned phone calls (jinghu, low risk);
    day 2, 22:00 local: 6 answered + 1 overflowed web chats (yijiang, moderate in the
    queue, 5 assessed high, 2 tagged to incident 3); one contact before and one after the
    period; 6 dispatches; 6 follow-up cases."""
    log = EventLog()
    waits = [5, 10, 15, 20, 26, 30, 60, 90]
    day1 = []
    for i, wait in enumerate(waits):
        day1.append(log.contact(
            local(1, 10, i), answered_after=wait, repeat=i < 3,
            referral="police_110" if i < 4 else None,
        ))
    for i in range(2):
        log.contact(local(1, 10, 20 + i), abandoned_after=40)
    for i in range(6):
        log.contact(
            local(2, 22, i), channel="webchat", district="yijiang", risk="moderate",
            answered_after=10, assessed="high" if i < 5 else None,
            incident=3 if i < 2 else None,
        )
    log.contact(local(2, 22, 30), channel="webchat", district="yijiang", risk="moderate",
                transferred_after=45)
    log.contact(local(0, 23, 59), answered_after=1)  # 31 October: before the period
    log.contact(datetime(2026, 11, 3, 0, 30, tzinfo=ZONE), answered_after=1)  # after it
    for i, minutes in enumerate([2, 4, 6, 8, 10]):
        log.dispatch(local(1, 11, i), accepted_after_minutes=minutes,
                     contact=day1[i] if i < 2 else None)
    log.dispatch(local(1, 12), accepted_after_minutes=None)
    due = local(1, 15)
    for _ in range(3):
        log.follow_up(local(0, 9), due, attempted=due - timedelta(hours=1))
    log.follow_up(local(0, 9), due, overdue=True, attempted=due + timedelta(hours=3))
    log.follow_up(local(0, 9), due, overdue=True)
    log.follow_up(local(0, 9), due, closed=due - timedelta(hours=2))  # never due
    return log


@pytest.fixture
async def figures_db(tmp_path: Path) -> Any:
    clock = ManualClock(NOW)
    db = await Database.open(tmp_path / "stats.db", clock)
    await november_log().write(db, clock)
    clock.set(NOW)
    yield db
    await db.close()


async def figures(db: Database, threshold: int = 1, **filters: Any) -> dict[str, Any]:
    facts = await load_facts(db, PERIOD.start, PERIOD.end, NOW)
    return compute(facts, Filters(**filters), PERIOD, threshold, DISTRICTS)


async def test_summary_counts_rates_and_speed(figures_db: Database) -> None:
    """Offered, outcomes, answer rate, ASA and service levels match the hand count."""
    summary = (await figures(figures_db))["summary"]
    assert summary["offered"] == 17
    assert summary["answered"] == 14
    assert summary["abandoned"] == 2
    assert summary["overflowed"] == 1
    assert summary["waiting"] == 0
    assert summary["answer_rate"] == 82.4  # 14 / 17
    assert summary["asa_seconds"] == 22.6  # (256 + 6 x 10) / 14
    assert summary["service_level_20"] == 58.8  # 10 / 17 within 20 s
    assert summary["service_level_60"] == 76.5  # 13 / 17 within 60 s
    assert summary["high_risk"] == 5
    assert summary["repeat"] == 3
    assert summary["referred"] == 4
    assert summary["dispatched"] == 2
    assert summary["incident_tagged"] == 2


async def test_per_day_and_per_hour(figures_db: Database) -> None:
    """Outcomes fall on the local day and hour of arrival (Asia/Shanghai, not UTC)."""
    result = await figures(figures_db)
    by_day = result["by_day"]
    assert by_day["categories"] == ["2026-11-01", "2026-11-02"]
    assert by_day["series"]["answered"] == [8, 6]
    assert by_day["series"]["abandoned"] == [2, 0]
    assert by_day["series"]["overflowed"] == [0, 1]
    assert by_day["totals"] == [10, 7]
    assert by_day["answer_rate"] == [80.0, 85.7]
    by_hour = result["by_hour"]
    offered = dict(zip(by_hour["categories"], by_hour["totals"], strict=True))
    assert offered["10"] == 10 and offered["22"] == 7
    assert sum(v for k, v in offered.items() if k not in ("10", "22")) == 0


async def test_wait_by_risk_and_risk_mix(figures_db: Database) -> None:
    """Waits by queue risk (median, nearest-rank p90); mix by final (assessed) risk."""
    result = await figures(figures_db)
    waits = {row["risk"]: row for row in result["wait_by_risk"]}
    assert waits["low"]["median"] == 23  # (20 + 26) / 2
    assert waits["low"]["p90"] == 90
    assert waits["moderate"]["median"] == 10 and waits["moderate"]["p90"] == 10
    assert set(waits) == {"low", "moderate"}  # nobody was answered at another level
    mix = dict(zip(result["risk_mix"]["categories"], result["risk_mix"]["counts"], strict=True))
    assert mix == {"imminent": 0, "high": 5, "moderate": 2, "low": 10, "none": 0}


async def test_districts_dispatch_and_follow_ups(figures_db: Database) -> None:
    """Districts table, dispatch acceptance minutes and follow-up due/done/overdue."""
    result = await figures(figures_db)
    districts = result["districts"]
    row = districts["categories"].index("yijiang")
    assert districts["totals"][row] == 7
    assert districts["series"]["high_risk"][row] == 5
    dispatch = result["dispatch"]
    assert dispatch["requested"] == 6 and dispatch["accepted"] == 5
    assert dispatch["median_minutes"] == 6.0 and dispatch["p90_minutes"] == 10.0
    assert dispatch["by_district"]["jinghu"]["requested"] == 6
    follow_ups = result["follow_ups"]
    assert follow_ups["due"] == 5  # the case closed before its due point was never due
    assert (follow_ups["done"], follow_ups["done_late"], follow_ups["overdue"]) == (3, 1, 1)


@pytest.mark.parametrize(
    ("filters", "offered"),
    [
        ({"channel": "voice"}, 10),
        ({"channel": "webchat"}, 7),
        ({"district": "yijiang"}, 7),
        ({"district": "jiujiang"}, 0),
        ({"risk": "high"}, 5),
        ({"incident": 3}, 2),
        ({"channel": "voice", "risk": "high"}, 0),
    ],
)
async def test_filters(figures_db: Database, filters: dict[str, Any], offered: int) -> None:
    """Each filter narrows every figure to the contacts it names."""
    assert (await figures(figures_db, **filters))["summary"]["offered"] == offered


async def test_dispatch_filtered_through_its_contact(figures_db: Database) -> None:
    """A channel filter keeps only dispatches raised from contacts of that channel."""
    result = await figures(figures_db, channel="voice")
    assert result["dispatch"]["requested"] == 2


async def test_small_cells_suppressed_with_their_complements(figures_db: Database) -> None:
    """With the default threshold of 5 no count under 5 shows, and no row or column of a
    table hides exactly one cell (else the total would give it away)."""
    result = await figures(figures_db, threshold=5)
    summary = result["summary"]
    assert summary["abandoned"] is None and summary["overflowed"] is None
    assert summary["repeat"] is None and summary["dispatched"] is None
    assert summary["offered"] == 17 and summary["answered"] == 14
    mix = dict(zip(result["risk_mix"]["categories"], result["risk_mix"]["counts"], strict=True))
    assert mix["moderate"] is None and mix["high"] is None  # 2 hidden, and 5 with it
    assert mix["low"] == 10
    # High-risk = high + imminent: with "high" hidden as a complement, so is the sum.
    assert summary["high_risk"] is None
    for table in (result["by_day"], result["districts"]):
        columns = ["answered", "abandoned", "overflowed", "waiting"]
        grid = [
            [*(table["series"][c][i] for c in columns), table["totals"][i]]
            for i in range(len(table["totals"]))
        ]
        grid.append([*(table["column_totals"][c] for c in columns), table["total"]])
        for line in [*grid, *zip(*grid, strict=True)]:
            assert sum(1 for cell in line if cell is None) != 1, line
        for line in grid:
            assert all(cell is None or cell == 0 or cell >= 5 for cell in line)
    assert result["follow_ups"]["done"] is None and result["follow_ups"]["due"] == 5
    waits = {row["risk"]: row for row in result["wait_by_risk"]}
    assert waits["low"]["median"] == 23 and waits["moderate"]["median"] == 10


async def test_channels_and_referrals(figures_db: Database) -> None:
    """Offered by channel and wrap-ups by referral, for the monthly report."""
    result = await figures(figures_db)
    channels = dict(zip(result["channels"]["categories"], result["channels"]["counts"],
                        strict=True))
    assert channels == {"webchat": 7, "voice": 10, "sms": 0}
    assert result["referrals"] == {"categories": ["police_110"], "counts": [4]}
    suppressed = await figures(figures_db, threshold=5)
    assert suppressed["referrals"]["counts"] == [None]
