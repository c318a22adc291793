"""`hotline followups check`: what is overdue or undecided, for a supervisor or a monitor.

Meant for the morning handover and for cron or a monitoring system: it prints the overdue
cases (pseudonym, risk, due time, who owns it, whether supervisors were alarmed) and the
high-risk contacts still waiting for a follow-up decision, and exits 1 when there is any,
so "nothing due slips by" can be watched from outside the browser too. No number, name or
note is printed.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.followups.store import CaseRepository
from hotline.clock import SystemClock, to_iso
from hotline.config import Config
from hotline.store.engine import open_database
from hotline.store.keycheck import data_cipher

EXIT_ATTENTION = 1


async def check(config: Config, *, as_json: bool, now: datetime | None = None) -> int:
    """Print what needs attention; 1 if anything does, else 0."""
    db = await open_database(config, SystemClock())
    try:
        cases = CaseRepository(db, data_cipher(config))
        moment = now or db.clock.now()
        overdue = [
            c for c in await cases.listed() if c.next_due_at is not None and c.next_due_at < moment
        ]
        undecided = await cases.undecided()
    finally:
        await db.close()
    zone = ZoneInfo(config.time_zone)
    rows: list[dict[str, Any]] = [
        {
            "case_id": c.id,
            "pseudonym": c.pseudonym,
            "risk": c.risk.value,
            "due_at": to_iso(c.next_due_at) if c.next_due_at else None,
            "due_kind": c.due_kind.value,
            "owner": c.owner.subject,
            "supervisors_alarmed": c.overdue_stage >= 2,
            "flagged": c.flagged.value if c.flagged else None,
        }
        for c in overdue
    ]
    if as_json:
        json.dump({"overdue": rows, "undecided": undecided}, sys.stdout, ensure_ascii=False)
        print()
    else:
        print(f"overdue follow-ups: {len(rows)}")
        for row, case in zip(rows, overdue, strict=True):
            assert case.next_due_at is not None
            local = case.next_due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            alarmed = "  supervisors alarmed" if row["supervisors_alarmed"] else ""
            print(
                f"  {row['pseudonym']}  {row['risk']:<9} due {local}  {row['due_kind']:<8}"
                f" {row['owner']}{alarmed}"
            )
        print(f"high-risk contacts without a follow-up decision: {len(undecided)}")
        for item in undecided:
            print(f"  contact {item['contact_id']}  {item['risk']:<9} {item['state']}")
    return EXIT_ATTENTION if rows or undecided else 0
