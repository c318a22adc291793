"""The audit trail: append-only and hash-chained.

Each record names who did what to which subject, when and why, and carries the SHA-256 of
the record before it together with its own fields. Triggers refuse updates and deletes; the
chain finds what triggers cannot stop (someone editing the database file, or dropping the
triggers): `verify` recomputes every link and names the first record that does not hold.
Records carry ids and codes, never a number, a name or anyone's words.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotline.clock import to_iso
from hotline.errors import InvalidInput
from hotline.store.database import Database, Row, Transaction

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

    The write transaction holds the store's write lock, so no other record can slip in
    between reading the last hash and appending the next. The id follows the last one
    (not `reserve_ids`): on PostgreSQL a sequence value is not given back when a transaction
    rolls back, and a gap in the ids is how `verify` finds a deleted record.
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


_CHAIN = (
    "SELECT id, at, actor, action, subject, purpose, data, prev_hash, hash"
    " FROM audit_log ORDER BY id"
)


async def verify(db: Database) -> Verification:
    """Recompute the chain from the first record; stop at the first broken link."""
    return _check_links(await db.fetchall(_CHAIN))


async def verify_off_loop(db: Database) -> Verification:
    """`verify`, with the hashing done in a worker thread.

    The web page checks the whole chain each time an admin loads it; hashing a few hundred
    thousand records takes a second or more, which must not stall the consoles and the
    webchat that share the event loop. The rows are read as `verify` reads them.
    """
    rows = await db.fetchall(_CHAIN)
    return await asyncio.to_thread(_check_links, rows)


def _check_links(rows: Sequence[Row]) -> Verification:
    """The chain check itself, on rows already read (no I/O, so it can run in a thread)."""
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


# -- reading the trail (the admins' audit page) -------------------------------------------

MAX_PAGE = 500


@dataclass(frozen=True)
class Account:
    """A staff account as the trail names it: the login name and role, never the (sealed)
    display name."""

    username: str
    role: str


@dataclass(frozen=True)
class AuditRecord:
    """One record as an admin reads it, with the accounts behind `user:<id>` codes."""

    id: int
    at: str  # as stored (`to_iso`): even an edited, unreadable time is shown as it stands
    actor: str
    action: str
    subject: str
    purpose: str
    data: dict[str, Any]
    actor_account: Account | None = None
    subject_account: Account | None = None




async def browse(
    db: Database,
    *,
    before_id: int | None = None,
    limit: int = 50,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRecord]:
    """Records newest first, `limit` of them, older than `before_id` when given (paging).

    `actor` matches the recorded code (`user:5`, `admin`, `responder`) or an account's login
    name, ignoring case, since an admin knows colleagues by login name and not by id.
    `since` is inclusive and `until` exclusive, so consecutive days do not overlap. Accounts
    are joined whatever their state: a disabled account still did what it did.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}", field="limit")
    where: list[str] = []
    params: list[Any] = []
    if before_id is not None:
        where.append("a.id < ?")
        params.append(before_id)
    if action:
        where.append("a.action = ?")
        params.append(action)
    if actor:
        where.append("(a.actor = ? OR LOWER(au.username) = LOWER(?))")
        params += [actor, actor]
    if since is not None:
        where.append("a.at >= ?")
        params.append(to_iso(since))
    if until is not None:
        where.append("a.at < ?")
        params.append(to_iso(until))
    rows = await db.fetchall(
        "SELECT a.id, a.at, a.actor, a.action, a.subject, a.purpose, a.data,"
        " au.username AS actor_username, au.role AS actor_role,"
        " su.username AS subject_username, su.role AS subject_role"
        " FROM audit_log a"
        # A `user:<id>` code joined to its account by primary key; any other code joins
        # nothing.
        f" LEFT JOIN users au ON au.id = {db.dialect.id_after_prefix('a.actor', 'user:')}"
        f" LEFT JOIN users su ON su.id = {db.dialect.id_after_prefix('a.subject', 'user:')}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY a.id DESC LIMIT ?",
        (*params, limit),
    )
    return [_record(row) for row in rows]


def _record(row: Row) -> AuditRecord:
    try:
        data = json.loads(row["data"])
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Only an edit behind the application's back gets here; show what is there.
        data = {"unreadable": row["data"]}
    return AuditRecord(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        purpose=row["purpose"],
        data=data,
        actor_account=_account(row["actor_username"], row["actor_role"]),
        subject_account=_account(row["subject_username"], row["subject_role"]),
    )


def _account(username: str | None, role: str | None) -> Account | None:
    return None if username is None or role is None else Account(username, role)


async def recorded_actions(db: Database) -> list[str]:
    """Every action the trail holds, sorted, for the page's filter."""
    rows = await db.fetchall("SELECT DISTINCT action FROM audit_log ORDER BY action")
    return [row["action"] for row in rows]
