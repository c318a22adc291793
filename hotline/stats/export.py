"""Exports: counts by day, district, channel and risk, suppressed like the page.

One row per combination of the chosen dimensions that had any contact, with the outcome
counts (offered = answered + abandoned + overflowed + waiting) and the high-risk count.
Suppression runs over the whole table at once: the outcome cells as dimensions x outcome
with every total, so no line of it holds a single hidden cell), the high-risk cells as
dimensions x {high, other} keeping to the same totals. Each export is protected on its
own: two exports of different dimensions are two tables, and their totals are suppressed
separately (docs/statistics.md says what that leaves).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from hotline.stats.facts import ContactFact, Facts
from hotline.stats.figures import (
    CHANNELS,
    HIGH_RISK,
    OUTCOMES,
    RISK_ORDER,
    UNKNOWN_DISTRICT,
    Filters,
    Period,
    outcome_of,
)
from hotline.stats.suppression import TOTAL, Key, suppress

DIMENSIONS = ("day", "district", "channel", "risk")
MEASURES = ("offered", *OUTCOMES, "high_risk")


def parse_dimensions(text: str) -> tuple[str, ...]:
    """`day,district` -> ("day", "district"); an unknown name is a clear error."""
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in chosen if name not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"unknown dimension {unknown[0]!r} for --by; choose from {', '.join(DIMENSIONS)}"
        )
    if len(set(chosen)) != len(chosen):
        raise ValueError("each dimension may appear once in --by")
    return chosen


def export_rows(
    facts: Facts,
    period: Period,
    by: Sequence[str],
    threshold: int,
    districts: Sequence[str],
    filters: Filters | None = None,
) -> list[dict[str, Any]]:
    """The export's rows (None marks a suppressed count)."""
    keep = filters or Filters()
    contacts = [c for c in facts.contacts if keep.keeps_contact(c)]
    axes_by_name: dict[str, list[str]] = {
        "day": [d.isoformat() for d in period.days],
        "district": [*districts, UNKNOWN_DISTRICT],
        "channel": list(CHANNELS),
        "risk": list(RISK_ORDER),
    }
    axes = [axes_by_name[name] for name in by]

    def key_of(contact: ContactFact) -> Key:
        values = {
            "day": period.day_of(contact.arrived_at),
            "district": contact.district or UNKNOWN_DISTRICT,
            "channel": contact.channel,
            "risk": contact.risk,
        }
        return tuple(values[name] for name in by)

    outcomes = suppress(
        Counter((*key_of(c), outcome_of(c)) for c in contacts), [*axes, list(OUTCOMES)], threshold
    )
    # Offered per row (and every coarser total) is shared by both tables: the high-risk
    # table keeps to what the outcome table decided.
    offered_cells = {key: value for key, value in outcomes.items() if key[-1] == TOTAL}
    high = suppress(
        Counter((*key_of(c), "high" if c.risk in HIGH_RISK else "other") for c in contacts),
        [*axes, ["high", "other"]],
        threshold,
        offered_cells,
    )
    present = sorted({key_of(c) for c in contacts})
    rows = []
    # With no dimension there is one row, the totals, even for an empty period.
    for key in present or ([] if by else [()]):
        dimensions: dict[str, Any] = dict(zip(by, key, strict=True))
        rows.append(
            {
                **dimensions,
                "offered": outcomes[(*key, TOTAL)],
                **{outcome: outcomes[(*key, outcome)] for outcome in OUTCOMES},
                "high_risk": high[(*key, "high")],
            }
        )
    return rows


def to_csv(rows: list[dict[str, Any]], by: Sequence[str], threshold: int) -> str:
    """CSV with a header; a suppressed count reads `suppressed`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*by, *MEASURES])
    for row in rows:
        writer.writerow(
            [row[name] for name in by]
            + ["suppressed" if row[m] is None else row[m] for m in MEASURES]
        )
    return out.getvalue()


def to_json(
    rows: list[dict[str, Any]], by: Sequence[str], period: Period, threshold: int
) -> str:
    """JSON with the period, the dimensions and the threshold; suppressed counts are null."""
    return json.dumps(
        {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "time_zone": str(period.zone),
            "by": list(by),
            "suppression_threshold": threshold,
            "suppressed": "null",
            "rows": rows,
        },
        ensure_ascii=False,
        indent=2,
    )
