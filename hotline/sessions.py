"""Staff sessions: server-side rows keyed by a digest of a random cookie token.

Kept in SQLite rather than in a signed cookie so a session can be ended (logout, account
disabled) and survives a restart; the store holds only the token's digest, so a copied
database cannot be used to log in. Each session carries its own CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from hotline.clock import to_iso
from hotline.crypto import new_token, token_digest
from hotline.store.database import Database


@dataclass(frozen=True)
class Session:
    """A logged-in staff member's session."""

    user_id: int
    csrf_token: str


class Sessions:
    """Session rows in the store."""

    def __init__(self, db: Database, lifetime: timedelta) -> None:
        self._db = db
        self._lifetime = lifetime

    async def create(self, user_id: int) -> tuple[str, Session]:
        """Start a session; returns the cookie token (shown once) and the session."""
        token = new_token()
        csrf = secrets.token_urlsafe(32)
        async with self._db.transaction() as tx:
            now = tx.clock.now()
            await tx.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_digest(token), user_id, csrf, to_iso(now), to_iso(now + self._lifetime)),
            )
            await tx.append_event("session.started", f"user:{user_id}", f"user:{user_id}")
        return token, Session(user_id, csrf)

    async def get(self, token: str) -> Session | None:
        """The live session of a cookie token, or None when unknown or expired."""
        row = await self._db.fetchone(
            "SELECT user_id, csrf_token FROM sessions WHERE token_hash = ? AND expires_at > ?",
            (token_digest(token), to_iso(self._db.clock.now())),
        )
        return None if row is None else Session(row["user_id"], row["csrf_token"])

    async def end(self, token: str) -> None:
        """Log out: the token stops working at once."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "DELETE FROM sessions WHERE token_hash = ? RETURNING user_id",
                (token_digest(token),),
            )
            if row is not None:
                await tx.append_event(
                    "session.ended", f"user:{row['user_id']}", f"user:{row['user_id']}"
                )

    async def purge_expired(self) -> None:
        """Drop expired rows so the table does not grow without end."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM sessions WHERE expires_at <= ?", (to_iso(tx.clock.now()),)
            )
