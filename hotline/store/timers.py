"""Durable timers: future actions kept as rows, so a restart neither loses nor repeats one.

A timer is claimed by setting `fired_at` inside the same write transaction that carries out
its action; if the process dies before the commit, the claim is rolled back with the action
and the timer fires after the restart; once committed, no other pass (or process) sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotline.clock import from_iso, to_iso
from hotline.store.database import Database, Transaction


@dataclass(frozen=True)
class Timer:
    """A claimed timer: what to do (`kind`), to what (`subject`), and when it was due."""

    id: int
    kind: str
    subject: str
    due_at: datetime
    data: dict[str, Any]


async def schedule(
    tx: Transaction, kind: str, subject: str, due_at: datetime, data: dict[str, Any] | None = None
) -> int:
    """Add a timer inside the caller's transaction."""
    timer_id = await tx.fetchval(
        "INSERT INTO timers (kind, subject, due_at, data, created_at) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        (kind, subject, to_iso(due_at), json.dumps(data or {}), to_iso(tx.clock.now())),
    )
    return int(timer_id)


async def schedule_many(
    tx: Transaction, kind: str, timers: list[tuple[str, datetime, int]]
) -> None:
    """Add many timers of a kind, each (subject, due_at, step), in one statement."""
    if not timers:
        return
    created = to_iso(tx.clock.now())
    await tx.executemany(
        "INSERT INTO timers (kind, subject, due_at, data, created_at) VALUES (?, ?, ?, ?, ?)",
        [
            (kind, subject, to_iso(due), json.dumps({"step": step}), created)
            for subject, due, step in timers
        ],
    )


async def cancel(tx: Transaction, kind: str, subject: str) -> int:
    """Retire a subject's pending timers of a kind (they will never fire); returns how many."""
    cursor = await tx.execute(
        f"UPDATE timers SET fired_at = ?, data = {tx.dialect.json_with_true('data', 'cancelled')}"
        " WHERE kind = ? AND subject = ? AND fired_at IS NULL",
        (to_iso(tx.clock.now()), kind, subject),
    )
    return cursor.rowcount


async def claim_due(tx: Transaction, kind: str, now: datetime, limit: int) -> list[Timer]:
    """Claim up to `limit` timers of a kind that are due, oldest first."""
    rows = await tx.fetchall(
        "UPDATE timers SET fired_at = ? WHERE id IN (SELECT id FROM timers"
        " WHERE fired_at IS NULL AND due_at <= ? AND kind = ? ORDER BY due_at, id LIMIT ?)"
        " RETURNING id, kind, subject, due_at, data",
        (to_iso(now), to_iso(now), kind, limit),
    )
    timers = [
        Timer(r["id"], r["kind"], r["subject"], from_iso(r["due_at"]), json.loads(r["data"]))
        for r in rows
    ]
    return sorted(timers, key=lambda t: (t.due_at, t.id))


async def next_due(db: Database, kind: str) -> datetime | None:
    """When the earliest pending timer of a kind is due (None: nothing pending)."""
    value = await db.fetchval(
        "SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL AND kind = ?", (kind,)
    )
    return from_iso(value) if value else None
