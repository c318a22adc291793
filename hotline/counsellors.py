"""Counsellor presence: who is ready to take the next contact and who is on break.

Presence is stored, not only held in memory, so a supervisor's floor view and the wait
estimate survive a restart; a counsellor whose last console closes is shown as offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hotline.clock import from_iso, to_iso
from hotline.store.database import Database


class Presence(StrEnum):
    """Whether a counsellor can be given a contact."""

    AVAILABLE = "available"
    ON_BREAK = "on_break"
    OFFLINE = "offline"


@dataclass(frozen=True)
class PresenceState:
    """A counsellor's presence and since when."""

    user_id: int
    status: Presence
    since: datetime | None


class Counsellors:
    """Presence of counsellors in the store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_presence(self, user_id: int, status: Presence) -> PresenceState:
        """Record a presence change (an event, so the floor view updates)."""
        async with self._db.transaction() as tx:
            now = tx.clock.now()
            previous = await tx.fetchone(
                "SELECT status FROM presence WHERE user_id = ?", (user_id,)
            )
            if previous is not None and previous["status"] == status.value:
                row = await tx.fetchone("SELECT since FROM presence WHERE user_id = ?", (user_id,))
                assert row is not None
                return PresenceState(user_id, status, from_iso(row["since"]))
            await tx.execute(
                "INSERT INTO presence (user_id, status, since) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE"
                " SET status = excluded.status, since = excluded.since",
                (user_id, status.value, to_iso(now)),
            )
            await tx.append_event(
                "counsellor.presence",
                f"user:{user_id}",
                f"user:{user_id}",
                {"status": status.value},
            )
        return PresenceState(user_id, status, now)

    async def presence(self, user_id: int) -> PresenceState:
        """A counsellor's current presence (offline when never set)."""
        row = await self._db.fetchone(
            "SELECT status, since FROM presence WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return PresenceState(user_id, Presence.OFFLINE, None)
        return PresenceState(user_id, Presence(row["status"]), from_iso(row["since"]))

    async def all_presence(self) -> dict[int, PresenceState]:
        """Presence of everyone who has ever set one."""
        rows = await self._db.fetchall("SELECT user_id, status, since FROM presence")
        return {
            r["user_id"]: PresenceState(r["user_id"], Presence(r["status"]), from_iso(r["since"]))
            for r in rows
        }

    async def available_count(self) -> int:
        """How many counsellors could take a contact right now."""
        return int(
            await self._db.fetchval("SELECT COUNT(*) FROM presence WHERE status = 'available'")
        )

    async def mark_all_offline(self) -> None:
        """At start no console is connected yet, so nobody is reachable until they return."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall("SELECT user_id FROM presence WHERE status != 'offline'")
            for row in rows:
                await tx.execute(
                    "UPDATE presence SET status = 'offline', since = ? WHERE user_id = ?",
                    (to_iso(tx.clock.now()), row[0]),
                )
                await tx.append_event(
                    "counsellor.presence", f"user:{row[0]}", "system", {"status": "offline"}
                )
