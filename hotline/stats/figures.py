"""The supervisors' figures for a period: counts, rates and durations, suppressed.

Definitions (also in docs/statistics.md, so a supervisor can check any figure by hand):
- offered: contacts that arrived in the period (first queued), by the local day and hour of
  arrival; each ends as answered (a counsellor took it), abandoned (the person left while
  waiting), overflowed (sent to the backup line) or is still waiting.
- answer rate: answered / (answered + abandoned + overflowed); still-waiting contacts are
  not judged yet.
- average speed of answer (ASA): mean seconds from arrival to the first answer.
- service level 20 s / 60 s: contacts answered within 20 / 60 s of arrival, over the same
  denominator as the answer rate (an abandoned contact counts against it).
- wait by risk: median and 90th percentile (nearest rank) of the seconds to answer, by the
  risk level the contact had in the queue when it was answered.
- risk mix, high-risk: by the contact's final level (the counsellor's assessment where
  there was one); high-risk means high or imminent.
- dispatch acceptance: minutes from a dispatch request to the first member's acceptance.
- follow-ups: due points falling due in the period; done = an attempt was recorded for the
  point; overdue = its overdue alarm fired (the owner had not called within the grace).
Counts of fewer than the threshold are suppressed (see `hotline.stats.suppression`); rates
and durations resting on fewer contacts than the threshold are suppressed too.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hotline.contacts import Channel
from hotline.risk import RiskLevel
from hotline.stats.facts import ContactFact, DispatchFact, Facts, FollowUpPoint
from hotline.stats.suppression import TOTAL, Key, suppress, suppress_total

OUTCOMES = ("answered", "abandoned", "overflowed", "waiting")
HIGH_RISK = frozenset({RiskLevel.HIGH.value, RiskLevel.IMMINENT.value})
RISK_ORDER = tuple(level.value for level in sorted(RiskLevel, key=lambda r: -r.rank))
UNKNOWN_DISTRICT = "unknown"
CHANNELS = tuple(channel.value for channel in Channel)
SERVICE_LEVEL_SECONDS = (20, 60)
FOLLOW_UP_STATES = ("done", "done_late", "overdue", "pending")
RATE_NAMES = ("answer_rate", "asa_seconds", *(f"service_level_{s}" for s in SERVICE_LEVEL_SECONDS))


class Missing:
    """Marks a total not decided by any coarser figure (None means decided: hidden)."""


MISSING = Missing()


@dataclass(frozen=True)
class Filters:
    """What a supervisor narrowed the figures to (None = everything)."""

    channel: str | None = None
    district: str | None = None
    risk: str | None = None
    incident: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "district": self.district,
            "risk": self.risk,
            "incident": self.incident,
        }

    def keeps_contact(self, fact: ContactFact) -> bool:
        """True when the contact falls within every filter."""
        return (
            (self.channel is None or fact.channel == self.channel)
            and (self.district is None or (fact.district or UNKNOWN_DISTRICT) == self.district)
            and (self.risk is None or fact.risk == self.risk)
            and (self.incident is None or fact.incident_id == self.incident)
        )

    def keeps_linked(
        self, facts: Facts, district: str | None, risk: str, contact_key: int | None
    ) -> bool:
        """A dispatch or follow-up point: its own district and risk, and the channel and
        incident of the contact it came from (none: it does not pass those filters)."""
        if self.district is not None and (district or UNKNOWN_DISTRICT) != self.district:
            return False
        if self.risk is not None and risk != self.risk:
            return False
        if self.channel is None and self.incident is None:
            return True
        tags = facts.contact_tags.get(contact_key) if contact_key is not None else None
        if tags is None:
            return False
        channel, incident = tags
        return (self.channel is None or channel == self.channel) and (
            self.incident is None or incident == self.incident
        )


@dataclass(frozen=True)
class Period:
    """Local calendar days [first, last], both included, in the hotline's time zone."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def day_of(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).date().isoformat()

    def hour_of(self, instant: datetime) -> str:
        return f"{instant.astimezone(self.zone).hour:02d}"


def percent(part: int, whole: int, threshold: int) -> float | None:
    """part / whole as a percentage, or None when it rests on too few contacts."""
    if whole < threshold or whole == 0:
        return None
    return round(100 * part / whole, 1)


def nearest_rank(values: Sequence[float], p: float) -> float:
    """The p-th percentile by the nearest-rank method (a value someone actually waited)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: Sequence[float], threshold: int, digits: int = 1) -> dict[str, float | None]:
    """Median and 90th percentile, or None for both when there are too few values."""
    if len(values) < threshold or not values:
        return {"median": None, "p90": None}
    return {
        "median": round(float(statistics.median(values)), digits),
        "p90": round(nearest_rank(values, 90), digits),
    }


def outcome_of(fact: ContactFact) -> str:
    """How a contact ended, as the statistics count it."""
    if fact.answered_at is not None:
        return "answered"
    if fact.abandoned_at is not None:
        return "abandoned"
    if fact.transferred_at is not None:
        return "overflowed"
    return "waiting"


def _table(
    rows: Sequence[str],
    columns: Sequence[str],
    items: Iterable[tuple[str, str]],
    threshold: int,
    *,
    column_totals: Mapping[str, int | None] | None = None,
    row_totals: Mapping[str, int | None] | None = None,
    grand_total: int | Missing | None = MISSING,
) -> dict[str, Any]:
    """A two-way count table suppressed together with its row, column and grand totals.

    Totals that a coarser figure already published (or hid) are passed in, so this table
    keeps to them (see `hotline.stats.suppression`).
    """
    fixed: dict[Key, int | None] = {}
    for col, value in (column_totals or {}).items():
        fixed[(TOTAL, col)] = value
    for row, value in (row_totals or {}).items():
        fixed[(row, TOTAL)] = value
    if not isinstance(grand_total, Missing):
        fixed[(TOTAL, TOTAL)] = grand_total
    cells = suppress(Counter(items), [rows, columns], threshold, fixed)
    return {
        "categories": list(rows),
        "series": {col: [cells[(row, col)] for row in rows] for col in columns},
        "totals": [cells[(row, TOTAL)] for row in rows],
        "column_totals": {col: cells[(TOTAL, col)] for col in columns},
        "total": cells[(TOTAL, TOTAL)],
    }


def _one_way(
    categories: Sequence[str],
    items: Iterable[str],
    threshold: int,
    total: int | Missing | None = MISSING,
) -> tuple[list[int | None], int | None]:
    """A list of counts and its total, suppressed together; `total` when already decided."""
    fixed: dict[Key, int | None] = {} if isinstance(total, Missing) else {(TOTAL,): total}
    cells = suppress(Counter((item,) for item in items), [categories], threshold, fixed)
    return [cells[(c,)] for c in categories], cells[(TOTAL,)]


def _share(
    contacts: Sequence[ContactFact], has: Callable[[ContactFact], bool], threshold: int,
    offered: int | None,
) -> int | None:
    """How many contacts have something, published beside the number offered: hidden when
    it, or the number without it, is small (the total would give the other away)."""
    shown, _ = _one_way(
        ("yes", "no"), ("yes" if has(c) else "no" for c in contacts), threshold, offered
    )
    return shown[0]


def compute(
    facts: Facts,
    filters: Filters,
    period: Period,
    threshold: int,
    districts: Sequence[str],
) -> dict[str, Any]:
    """Every figure of the stats page for one period and set of filters (JSON-able).

    Counts are suppressed table by table, coarsest first: the outcome totals, then the
    tables that end in them (per day, per hour, per district), each keeping to the totals
    already decided. A rate is shown only when the counts it is made from are.
    """
    contacts = [c for c in facts.contacts if filters.keeps_contact(c)]
    dispatches = [
        d
        for d in facts.dispatches
        if filters.keeps_linked(facts, d.district, d.risk, d.contact_key)
    ]
    points = [
        p
        for p in facts.follow_ups
        if filters.keeps_linked(facts, p.district, p.risk, p.contact_key)
    ]
    district_rows = [*districts, UNKNOWN_DISTRICT]
    days = [d.isoformat() for d in period.days]
    hours = [f"{h:02d}" for h in range(24)]

    outcome_counts, offered = _one_way(OUTCOMES, (outcome_of(c) for c in contacts), threshold)
    outcome_totals = dict(zip(OUTCOMES, outcome_counts, strict=True))

    def by_outcome(rows: Sequence[str], row_of: Callable[[ContactFact], str]) -> dict[str, Any]:
        return _table(
            rows,
            OUTCOMES,
            ((row_of(c), outcome_of(c)) for c in contacts),
            threshold,
            column_totals=outcome_totals,
            grand_total=offered,
        )

    by_day = by_outcome(days, lambda c: period.day_of(c.arrived_at))
    by_day["answer_rate"] = []
    by_day["service_level_20"] = []
    judged_by_day: dict[str, list[ContactFact]] = {day: [] for day in days}
    for c in contacts:
        if c.left_queue:
            judged_by_day[period.day_of(c.arrived_at)].append(c)
    for i, day in enumerate(days):
        row_shown = all(by_day["series"][o][i] is not None for o in OUTCOMES)
        rates = _rates(judged_by_day[day], threshold) if row_shown else {}
        by_day["answer_rate"].append(rates.get("answer_rate"))
        by_day["service_level_20"].append(rates.get("service_level_20"))
    by_hour = by_outcome(hours, lambda c: period.hour_of(c.arrived_at))
    districts_table = by_outcome(district_rows, lambda c: c.district or UNKNOWN_DISTRICT)

    risk_counts, _ = _one_way(RISK_ORDER, (c.risk for c in contacts), threshold, offered)
    risk_mix = dict(zip(RISK_ORDER, risk_counts, strict=True))
    high_parts = [risk_mix[level] for level in RISK_ORDER if level in HIGH_RISK]
    high_risk = (
        None
        if any(part is None for part in high_parts)
        else suppress_total(sum(p for p in high_parts if p is not None), threshold)
    )
    high_by_district = _table(
        district_rows,
        ("high_risk", "other"),
        (
            (c.district or UNKNOWN_DISTRICT, "high_risk" if c.risk in HIGH_RISK else "other")
            for c in contacts
        ),
        threshold,
        column_totals={
            "high_risk": high_risk,
            "other": None if high_risk is None or offered is None else offered - high_risk,
        },
        row_totals=dict(zip(district_rows, districts_table["totals"], strict=True)),
        grand_total=offered,
    )
    districts_table["series"]["high_risk"] = high_by_district["series"]["high_risk"]
    channel_counts, _ = _one_way(CHANNELS, (c.channel for c in contacts), threshold, offered)
    referred = [c.referral for c in contacts if c.referral not in (None, "none")]
    referral_codes = sorted({str(r) for r in referred})
    referral_counts, referred_total = _one_way(
        referral_codes, (str(r) for r in referred), threshold
    )

    waits: dict[str, list[float]] = {level: [] for level in RISK_ORDER}
    for c in contacts:
        if c.waited_seconds is not None:
            waits[c.queue_risk].append(c.waited_seconds)

    judged = [c for c in contacts if c.left_queue]
    summary_rates = (
        _rates(judged, threshold)
        if all(value is not None for value in outcome_counts)
        else dict.fromkeys(RATE_NAMES)
    )
    summary: dict[str, Any] = {
        "offered": offered,
        **outcome_totals,
        **summary_rates,
        "high_risk": high_risk,
        "repeat": _share(contacts, lambda c: c.repeat, threshold, offered),
        "referred": referred_total,
        "dispatched": _share(contacts, lambda c: c.dispatched, threshold, offered),
        "incident_tagged": _share(
            contacts, lambda c: c.incident_id is not None, threshold, offered
        ),
    }
    return {
        "period": {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "time_zone": str(period.zone),
        },
        "filters": filters.to_json(),
        "threshold": threshold,
        "summary": summary,
        "by_day": by_day,
        "by_hour": by_hour,
        # Levels nobody was answered at are left out (a zero, like any zero cell).
        "wait_by_risk": [
            {"risk": level, **spread(waits[level], threshold, 0)}
            for level in RISK_ORDER
            if waits[level]
        ],
        "risk_mix": {"categories": list(RISK_ORDER), "counts": risk_counts},
        "channels": {"categories": list(CHANNELS), "counts": channel_counts},
        "referrals": {"categories": referral_codes, "counts": referral_counts},
        "districts": districts_table,
        "dispatch": _dispatch_figures(dispatches, district_rows, threshold),
        "follow_ups": _follow_up_figures(points, district_rows, threshold),
    }


def _rates(judged: Sequence[ContactFact], threshold: int) -> dict[str, float | None]:
    """Answer rate, ASA and service levels of contacts that left the queue."""
    answered = [c for c in judged if c.answered_at is not None]
    waits = [c.waited_seconds for c in answered if c.waited_seconds is not None]
    rates: dict[str, float | None] = {
        "answer_rate": percent(len(answered), len(judged), threshold),
        "asa_seconds": (
            round(statistics.fmean(waits), 1) if len(waits) >= threshold and waits else None
        ),
    }
    for seconds in SERVICE_LEVEL_SECONDS:
        within = sum(1 for w in waits if w <= seconds)
        rates[f"service_level_{seconds}"] = percent(within, len(judged), threshold)
    return rates


def _by_district(
    items: Sequence[Any],
    district_rows: Sequence[str],
    district_of: Callable[[Any], str | None],
    figure: Callable[[list[Any]], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[Any]] = {row: [] for row in district_rows}
    for item in items:
        grouped.setdefault(district_of(item) or UNKNOWN_DISTRICT, []).append(item)
    return {row: figure(grouped[row]) for row in district_rows}


def _dispatch_figures(
    dispatches: Sequence[DispatchFact], district_rows: Sequence[str], threshold: int
) -> dict[str, Any]:
    """Requests, acceptances and minutes to accept, overall and by district."""

    def figure(group: list[DispatchFact]) -> dict[str, Any]:
        minutes = [m for d in group if (m := d.minutes_to_accept) is not None]
        return {
            "requested": len(group),
            "accepted": len(minutes),
            **{f"{k}_minutes": v for k, v in spread(minutes, threshold).items()},
        }

    table = _table(
        district_rows,
        ("accepted", "not_accepted"),
        (
            (d.district or UNKNOWN_DISTRICT, "accepted" if d.accepted_at else "not_accepted")
            for d in dispatches
        ),
        threshold,
    )
    overall = figure(list(dispatches))
    rows = _by_district(dispatches, district_rows, lambda d: d.district, figure)
    for i, row in enumerate(district_rows):
        rows[row]["requested"] = table["totals"][i]
        rows[row]["accepted"] = table["series"]["accepted"][i]
    overall["requested"] = table["total"]
    overall["accepted"] = table["column_totals"]["accepted"]
    return {**overall, "by_district": rows}


def _follow_up_figures(
    points: Sequence[FollowUpPoint], district_rows: Sequence[str], threshold: int
) -> dict[str, Any]:
    """Due points by district: due (the row total) split into done on time, done late
    (after the overdue alarm), overdue (alarm fired, no attempt yet) and pending (not due
    yet, or within the grace before the alarm)."""

    def state(point: FollowUpPoint) -> str:
        if point.done_at is not None:
            return "done_late" if point.overdue else "done"
        return "overdue" if point.overdue else "pending"

    columns = FOLLOW_UP_STATES
    table = _table(
        district_rows,
        columns,
        ((p.district or UNKNOWN_DISTRICT, state(p)) for p in points),
        threshold,
    )
    return {
        "due": table["total"],
        **table["column_totals"],
        "by_district": table,
    }
