"""SMS opt-outs: numbers (by keyed hash) that texted STOP and must not be texted again."""

from __future__ import annotations

from hotline.clock import to_iso
from hotline.store.database import Database, Transaction


class OptOutRepository:
    """Who asked for no more texts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, tx: Transaction, caller_hash: str) -> None:
        """Record a STOP (a repeated STOP keeps the first time)."""
        await tx.execute(
            "INSERT INTO sms_opt_outs (caller_hash, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (caller_hash, to_iso(tx.clock.now())),
        )

    async def remove(self, tx: Transaction, caller_hash: str) -> None:
        """Record a START: texts may go to this number again."""
        await tx.execute("DELETE FROM sms_opt_outs WHERE caller_hash = ?", (caller_hash,))

    async def contains(self, caller_hash: str) -> bool:
        """True when this number asked for no more texts."""
        found = await self._db.fetchval(
            "SELECT 1 FROM sms_opt_outs WHERE caller_hash = ?", (caller_hash,)
        )
        return found is not None
