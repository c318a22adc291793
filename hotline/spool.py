"""The spool: what callers and texters send while the shared store does not answer.

With PostgreSQL on another machine the store can go away (a failover, a cut network) while
the gateway keeps running. Twilio does not retry a failed webhook: a text whose webhook
answers 500 is lost, and a caller hears "an application error has occurred" and is cut off.
So the voice and SMS webhooks keep what they could not store here, in a small SQLite file in
the gateway's data dir, and answer the person as if all were well: a caller is held in
Twilio's queue, a texter gets the usual acknowledgement (hotline.channels.store_away).

Each record is on disk before Twilio hears back (synchronous=FULL), and the person's number
and words in it are sealed with the data key, as in the store. When the store answers again
the replay feeds the records, oldest first, through the same channel methods the webhooks
call, with the instant each arrived, so a caller keeps their place in the queue.

Several gateways may share a data dir (one machine): a record is claimed before it is
replayed, so one process replays it; a claim older than CLAIM_SECONDS (its process died
mid-replay) is taken over. A record is therefore replayed at least once: the calls' steps are
idempotent (a call is found again by its CallSid); a text whose replay was cut off by a crash
after the store committed it could be filed twice (docs/scaleout.md).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from hotline.clock import Clock, from_iso, to_iso
from hotline.crypto import FieldCipher

SPOOL_FILE = "spool.sqlite3"
# A claim this old belongs to a process that died while replaying it.
CLAIM_SECONDS = 60
BUSY_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kept (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    kept_at TEXT NOT NULL,
    payload_enc BLOB NOT NULL,
    claimed_by TEXT,
    claimed_at TEXT,
    -- 1: the store refused it for a reason other than being away; kept for the operator
    set_aside INTEGER NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class Kept:
    """One webhook's worth of what a person sent, waiting for the store."""

    id: int
    kind: str
    kept_at: datetime
    payload: dict[str, Any]


class Spool:
    """The gateway's local spool file."""

    def __init__(self, conn: aiosqlite.Connection, cipher: FieldCipher, clock: Clock) -> None:
        self._conn = conn
        self._cipher = cipher
        self._clock = clock
        self._owner = secrets.token_hex(8)
        # Records this process knows are waiting (its own and others' seen at the last look):
        # while any wait, new webhooks queue behind them, so a call's hang-up is never
        # applied before the arrival it belongs to.
        self.waiting = 0

    @classmethod
    async def open(cls, data_dir: Path, cipher: FieldCipher, clock: Clock) -> Spool:
        conn = await aiosqlite.connect(data_dir / SPOOL_FILE, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute(_SCHEMA)
        except BaseException:
            await conn.close()
            raise
        spool = cls(conn, cipher, clock)
        await spool.count()
        return spool

    async def close(self) -> None:
        await self._conn.close()

    async def keep(self, kind: str, payload: dict[str, Any]) -> None:
        """Write one record to disk; returns once it is durable."""
        ref = secrets.token_hex(12)
        sealed = self._cipher.seal(json.dumps(payload, ensure_ascii=False), f"spool:{ref}")
        await self._conn.execute(
            "INSERT INTO kept (ref, kind, kept_at, payload_enc) VALUES (?, ?, ?, ?)",
            (ref, kind, to_iso(self._clock.now()), sealed),
        )
        self.waiting += 1

    async def count(self) -> int:
        """How many records wait (in this file, from every process sharing it)."""
        async with self._conn.execute("SELECT count(*) FROM kept WHERE set_aside = 0") as cursor:
            row = await cursor.fetchone()
        self.waiting = int(row[0]) if row else 0
        return self.waiting

    async def claim_oldest(self) -> Kept | None:
        """The oldest record nobody is replaying (or whose replayer died), now claimed."""
        now = self._clock.now()
        stale = to_iso(now - timedelta(seconds=CLAIM_SECONDS))
        async with self._immediate():
            async with self._conn.execute(
                "SELECT id, ref, kind, kept_at, payload_enc FROM kept"
                " WHERE set_aside = 0 AND (claimed_by IS NULL OR claimed_at < ?)"
                " ORDER BY id LIMIT 1",
                (stale,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            await self._conn.execute(
                "UPDATE kept SET claimed_by = ?, claimed_at = ? WHERE id = ?",
                (self._owner, to_iso(now), row[0]),
            )
        payload = json.loads(self._cipher.open(row[4], f"spool:{row[1]}"))
        return Kept(int(row[0]), str(row[2]), from_iso(row[3]), payload)

    async def release(self, kept: Kept) -> None:
        """Give a claimed record back (the store went away again during its replay)."""
        await self._conn.execute(
            "UPDATE kept SET claimed_by = NULL, claimed_at = NULL WHERE id = ?", (kept.id,)
        )

    async def set_aside(self, kept: Kept) -> None:
        """The store refused the record for another reason than being away: keep it in the
        file for the operator (the log names it: spool_record_set_aside) and stop offering
        it, so one bad record never holds up the people behind it."""
        await self._conn.execute("UPDATE kept SET set_aside = 1 WHERE id = ?", (kept.id,))
        self.waiting = max(0, self.waiting - 1)

    async def done(self, kept: Kept) -> None:
        """The record is in the store: forget it (its bytes zeroed: secure_delete)."""
        await self._conn.execute("DELETE FROM kept WHERE id = ?", (kept.id,))
        self.waiting = max(0, self.waiting - 1)

    @asynccontextmanager
    async def _immediate(self) -> AsyncIterator[None]:
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")
