"""Early warning: each district's last hours against its own recent past, so supervisors see a
brewing crisis (a wave of calls after a local event, a rise in people at high risk) while it
is still brewing, not in next month's report.

The method (docs/early-warning.md; config `[early_warning]`):

- The window is the last `window_hours` before now; the baseline is the `baseline_days`
  before the window. Both are read from the event log through `load_facts`, one contact
  counted once, in the district it gave (contacts with no district, such as most texts,
  belong to no district and are not tested).
- Contacts and incident-tagged contacts: a one-sided Poisson test. The count expected in
  the window is the baseline count scaled to the window's length, and never less than
  `EXPECTED_FLOOR`, so that a quiet district's first few contacts are not "infinitely
  unlikely" (with an expectation of zero, any contact would be). p = P(X >= observed).
- High-risk share (final level high or imminent): a one-sided binomial test of the
  window's high-risk contacts among its contacts against the baseline share, smoothed by
  adding one high-risk and one other contact (Laplace), so that a baseline without a single
  high-risk contact does not make one such contact a certainty of crisis.
- Every district with a contact in the window or the baseline makes the contacts and the
  incident test; the share test is made where the window has contacts. With m tests made
  in a check, a rise alerts when p < significance / m (Bonferroni: the chance of any false
  alarm in a check stays below `significance`), and when its observed count is at least
  the statistics' suppression threshold, so an alert never shows a small cell.
- When the event log is younger than the baseline, the baseline is the part of it the log
  covers (the rate is per hour of history); with less than `MIN_BASELINE_DAYS` of history
  nothing is tested: there is no "usual" to compare with yet.

An alert, once raised, is stored and published as a `stats.early_warning` event; the same
district and measure is not raised again while that alert's window still overlaps the
current one, so a lasting rise yields one alert per window, not one per check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from scipy.stats import binomtest, poisson  # type: ignore[import-untyped]

from hotline.clock import from_iso, to_iso
from hotline.config import Config
from hotline.errors import NotFound
from hotline.stats.facts import ContactFact, load_facts
from hotline.store.database import Database

Measure = Literal["contacts", "high_risk_share", "incident_tagged"]
MEASURES: tuple[Measure, ...] = ("contacts", "high_risk_share", "incident_tagged")
HIGH_RISK = frozenset({"high", "imminent"})

# A district is expected to have at least one contact (and one incident-tagged contact) per
# window by chance. Without it a district with no baseline would alert on its first
# contacts; with it, a first-ever burst needs about 7 contacts in a day to be beyond chance
# among the 24 tests of eight districts (P(X >= 7 | 1) = 8e-5).
EXPECTED_FLOOR = 1.0
# With less history than this, no district is tested (capped at `baseline_days`).
MIN_BASELINE_DAYS = 7

MEASURE_NAMES: dict[str, dict[Measure, str]] = {
    "zh-CN": {
        "contacts": "来电/来访量",
        "high_risk_share": "高危比例",
        "incident_tagged": "事件相关来电",
    },
    "en": {
        "contacts": "Contacts",
        "high_risk_share": "High-risk share",
        "incident_tagged": "Incident-related contacts",
    },
}


@dataclass(frozen=True)
class DistrictCounts:
    """One district's counts over one period."""

    contacts: int = 0
    high_risk: int = 0
    incident_tagged: int = 0


@dataclass(frozen=True)
class EarlyWarning:
    """A rise beyond chance in one district's measure: aggregates and the test, nothing else.

    `expected` is the count the baseline predicts for the window (for the high-risk share:
    the window's contacts times the baseline share), so `ratio` = observed / expected reads
    the same for every measure. `id` and `raised_at` are set once the alert is stored.
    """

    district: str
    measure: Measure
    window_start: datetime
    window_end: datetime
    observed: int
    expected: float
    ratio: float
    p_value: float
    threshold: float
    tests: int
    window_total: int | None = None
    baseline_share: float | None = None
    id: int | None = None
    raised_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON shape the API, the stats page and the event carry."""
        return {
            "id": self.id,
            "district": self.district,
            "measure": self.measure,
            "window_start": to_iso(self.window_start),
            "window_end": to_iso(self.window_end),
            "observed": self.observed,
            "expected": round(self.expected, 3),
            "window_total": self.window_total,
            "baseline_share": (
                None if self.baseline_share is None else round(self.baseline_share, 4)
            ),
            "ratio": round(self.ratio, 2),
            "p_value": self.p_value,
            "threshold": self.threshold,
            "tests": self.tests,
            "raised_at": None if self.raised_at is None else to_iso(self.raised_at),
            "acknowledged_at": (
                None if self.acknowledged_at is None else to_iso(self.acknowledged_at)
            ),
            "acknowledged_by": self.acknowledged_by,
        }


def alerts_json(alerts: Iterable[EarlyWarning], config: Config, lang: str) -> list[dict[str, Any]]:
    """Alerts as the pages show them: each with its district's and measure's names."""
    names = MEASURE_NAMES["zh-CN" if lang.startswith("zh") else "en"]
    shown = []
    for alert in alerts:
        district = config.district(alert.district)
        shown.append(
            {
                **alert.to_json(),
                "district_name": alert.district if district is None else district.name(lang),
                "measure_name": names[alert.measure],
            }
        )
    return shown


def count_by_district(contacts: Iterable[ContactFact]) -> dict[str, DistrictCounts]:
    """Contacts, high-risk contacts and incident-tagged contacts of each known district."""
    totals: Counter[str] = Counter()
    high: Counter[str] = Counter()
    tagged: Counter[str] = Counter()
    for contact in contacts:
        if contact.district is None:
            continue
        totals[contact.district] += 1
        high[contact.district] += contact.risk in HIGH_RISK
        tagged[contact.district] += contact.incident_id is not None
    return {
        district: DistrictCounts(totals[district], high[district], tagged[district])
        for district in totals
    }


def poisson_rise(observed: int, baseline: int, scale: float) -> tuple[float, float]:
    """(expected, one-sided p) of a window count against a baseline count; `scale` is the
    window's length over the baseline's."""
    expected = max(baseline * scale, EXPECTED_FLOOR)
    return expected, float(poisson.sf(observed - 1, expected))


def share_rise(
    high: int, total: int, baseline_high: int, baseline_total: int
) -> tuple[float, float]:
    """(baseline share, one-sided p) of `high` among `total` against the smoothed baseline."""
    share = (baseline_high + 1) / (baseline_total + 2)
    return share, float(binomtest(high, total, share, alternative="greater").pvalue)


def assess(
    window: dict[str, DistrictCounts],
    baseline: dict[str, DistrictCounts],
    *,
    scale: float,
    significance: float,
    suppression: int,
    window_start: datetime,
    window_end: datetime,
) -> list[EarlyWarning]:
    """The rises beyond chance among every district's tests, Bonferroni-corrected."""
    none = DistrictCounts()
    # (district, measure, observed, expected, p, window total, baseline share) per test made.
    tests: list[tuple[str, Measure, int, float, float, int | None, float | None]] = []
    for district in sorted(window.keys() | baseline.keys()):
        now, before = window.get(district, none), baseline.get(district, none)
        expected, p = poisson_rise(now.contacts, before.contacts, scale)
        tests.append((district, "contacts", now.contacts, expected, p, None, None))
        expected, p = poisson_rise(now.incident_tagged, before.incident_tagged, scale)
        tests.append((district, "incident_tagged", now.incident_tagged, expected, p, None, None))
        if now.contacts:
            share, p = share_rise(now.high_risk, now.contacts, before.high_risk, before.contacts)
            tests.append(
                (
                    district,
                    "high_risk_share",
                    now.high_risk,
                    now.contacts * share,
                    p,
                    now.contacts,
                    share,
                )
            )
    threshold = significance / len(tests) if tests else 0.0
    return [
        EarlyWarning(
            district=district,
            measure=measure,
            window_start=window_start,
            window_end=window_end,
            observed=observed,
            expected=expected,
            ratio=observed / expected,
            p_value=p,
            threshold=threshold,
            tests=len(tests),
            window_total=total,
            baseline_share=share,
        )
        for district, measure, observed, expected, p, total, share in tests
        if p < threshold and observed >= suppression
    ]


async def check(db: Database, config: Config, now: datetime) -> list[EarlyWarning]:
    """The districts' rises beyond chance in the window ending now (nothing is stored)."""
    settings = config.early_warning
    window_start = now - timedelta(hours=settings.window_hours)
    baseline_start = window_start - timedelta(days=settings.baseline_days)
    # The log's first event marks when the line began recording: a baseline older than
    # that would count hours in which no contact could have been recorded at all.
    first = await db.fetchval("SELECT at FROM events ORDER BY id LIMIT 1")
    if first is None:
        return []
    covered_from = max(baseline_start, from_iso(first))
    baseline_hours = (window_start - covered_from).total_seconds() / 3600
    if baseline_hours < min(MIN_BASELINE_DAYS, settings.baseline_days) * 24:
        return []
    facts = await load_facts(db, baseline_start, now, now)
    return assess(
        count_by_district(c for c in facts.contacts if c.arrived_at >= window_start),
        count_by_district(c for c in facts.contacts if c.arrived_at < window_start),
        scale=settings.window_hours / baseline_hours,
        significance=settings.significance,
        suppression=config.statistics.suppression_threshold,
        window_start=window_start,
        window_end=now,
    )


async def raise_alerts(db: Database, config: Config, now: datetime) -> list[EarlyWarning]:
    """Store and publish the rises found now that no alert still within its window covers;
    returns the new alerts (the check may run in several processes: the write lock makes
    the "already raised?" question and the insert one step)."""
    found = await check(db, config, now)
    if not found:
        return []
    raised: list[EarlyWarning] = []
    async with db.transaction() as tx:
        for warning in found:
            recent = await tx.fetchval(
                "SELECT 1 FROM early_warnings WHERE district = ? AND measure = ?"
                " AND window_end > ? LIMIT 1",
                (warning.district, warning.measure, to_iso(warning.window_start)),
            )
            if recent:
                continue
            alert_id = await tx.fetchval(
                """
                INSERT INTO early_warnings (district, measure, window_start, window_end,
                    observed, expected, window_total, baseline_share, ratio, p_value,
                    threshold, tests, raised_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING id
                """,
                (
                    warning.district,
                    warning.measure,
                    to_iso(warning.window_start),
                    to_iso(warning.window_end),
                    warning.observed,
                    warning.expected,
                    warning.window_total,
                    warning.baseline_share,
                    warning.ratio,
                    warning.p_value,
                    warning.threshold,
                    warning.tests,
                    to_iso(now),
                ),
            )
            stored = replace(warning, id=int(alert_id), raised_at=now)
            data = stored.to_json()
            for field in ("id", "raised_at", "acknowledged_at", "acknowledged_by"):
                del data[field]
            await tx.append_event(
                "stats.early_warning",
                f"district:{warning.district}",
                "system",
                {"alert_id": stored.id, **data},
            )
            raised.append(stored)
    return raised


async def open_alerts(db: Database) -> list[EarlyWarning]:
    """Alerts no supervisor has acknowledged yet, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM early_warnings WHERE acknowledged_at IS NULL ORDER BY id"
    )
    return [_from_row(row) for row in rows]


async def acknowledge(db: Database, alert_id: int, user_id: int) -> EarlyWarning:
    """Mark an alert seen by a supervisor; acknowledging it again changes nothing (two
    supervisors clicking at once both succeed, the first one's mark stays)."""
    if not 0 < alert_id < 2**63:  # beyond SQLite's integers: no such alert, not an error
        raise NotFound("there is no such early warning", code="warning_not_found")
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT * FROM early_warnings WHERE id = ?", (alert_id,))
        if row is None:
            raise NotFound("there is no such early warning", code="warning_not_found")
        if row["acknowledged_at"] is None:
            await tx.execute(
                "UPDATE early_warnings SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
                (to_iso(tx.clock.now()), user_id, alert_id),
            )
            await tx.append_event(
                "stats.early_warning_acknowledged",
                f"district:{row['district']}",
                f"user:{user_id}",
                {"alert_id": alert_id, "measure": row["measure"]},
            )
            row = await tx.fetchone("SELECT * FROM early_warnings WHERE id = ?", (alert_id,))
            assert row is not None
    return _from_row(row)


def _from_row(row: Any) -> EarlyWarning:
    acknowledged = row["acknowledged_at"]
    return EarlyWarning(
        id=row["id"],
        district=row["district"],
        measure=cast(Measure, row["measure"]),
        window_start=from_iso(row["window_start"]),
        window_end=from_iso(row["window_end"]),
        observed=row["observed"],
        expected=row["expected"],
        window_total=row["window_total"],
        baseline_share=row["baseline_share"],
        ratio=row["ratio"],
        p_value=row["p_value"],
        threshold=row["threshold"],
        tests=row["tests"],
        raised_at=from_iso(row["raised_at"]),
        acknowledged_at=None if acknowledged is None else from_iso(acknowledged),
        acknowledged_by=row["acknowledged_by"],
    )
