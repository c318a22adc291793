"""The audit trail: append-only and hash-chained.

Each record names who did what to which subject, when and why, and carries the SHA-256 of
the record before it together with its own fields. Triggers refuse updates and deletes; the
chain finds what triggers cannot stop (someone editing the database file, or dropping the
triggers): `verify` recomputes every link and names the first record that does not hold.
Records carry ids and codes, never a number, a name or anyone's words.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from hotline.clock import to_iso
from hotline.store.database import Database, Transaction

GENESIS = "0" * 64


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


async def record(
    tx: Transaction,
    *,
    actor: str,
    action: str,
    subject: str,
    purpose: str,
    data: dict[str, Any] | None = None,
) -> str:
    """Append one audit record inside the caller's transaction; returns its hash.

    The write transaction holds SQLite's only write lock, so no other record can slip in
    between reading the last hash and appending the next.
    """
    last = await tx.fetchone("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    prev_hash = last["hash"] if last else GENESIS
    record_id = (last["id"] if last else 0) + 1
    fields = {
        "id": record_id,
        "at": to_iso(tx.clock.now()),
        "actor": actor,
        "action": action,
        "subject": subject,
        "purpose": purpose,
        "data": data or {},
    }
    digest = _digest(prev_hash, fields)
    await tx.execute(
        "INSERT INTO audit_log (id, at, actor, action, subject, purpose, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record_id,
            fields["at"],
            actor,
            action,
            subject,
            purpose,
            json.dumps(fields["data"], ensure_ascii=False, sort_keys=True),
            prev_hash,
            digest,
        ),
    )
    return digest


@dataclass(frozen=True)
class Verification:
    """What `verify` found: how many records held, and the first that did not (if any)."""

    checked: int
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        """True when every link held."""
        return self.broken_at is None


async def verify(db: Database) -> Verification:
    """Recompute the chain from the first record; stop at the first broken link."""
    rows = await db.fetchall(
        "SELECT id, at, actor, action, subject, purpose, data, prev_hash, hash"
        " FROM audit_log ORDER BY id"
    )
    prev_hash = GENESIS
    for index, row in enumerate(rows, start=1):
        if row["id"] != index:
            return Verification(index - 1, row["id"], f"record {index} is missing")
        if row["prev_hash"] != prev_hash:
            return Verification(index - 1, row["id"], "does not follow the record before it")
        try:
            data = json.loads(row["data"])
        except ValueError:
            return Verification(index - 1, row["id"], "its data is not readable")
        fields = {
            "id": row["id"],
            "at": row["at"],
            "actor": row["actor"],
            "action": row["action"],
            "subject": row["subject"],
            "purpose": row["purpose"],
            "data": data,
        }
        if _digest(prev_hash, fields) != row["hash"]:
            return Verification(index - 1, row["id"], "its contents were changed")
        prev_hash = row["hash"]
    return Verification(len(rows))
