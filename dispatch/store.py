"""Dispatch rows: dispatches, pages, responses and responders' sealed numbers.

Free text (a dispatch's summary, a decline's reason) and phone numbers are sealed with the
data key, bound to their table, column and row; everything else is routing facts the board
and the statistics may read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch.lifecycle import DispatchState
from dispatch.teams import Teams
from hotline.clock import from_iso, to_iso
from hotline.crypto import FieldCipher
from hotline.risk import RiskLevel
from hotline.store.database import Database, Row, Transaction


@dataclass(frozen=True)
class DispatchRow:
    """A dispatch as stored (summary opened)."""

    id: int
    code: str
    kind: str
    team_id: str
    district_id: str | None
    risk: RiskLevel
    summary: str
    contact_id: int | None
    state: DispatchState
    policy: str
    step_index: int
    next_step_at: datetime | None
    alarm: bool
    exhausted: bool
    requested_by: str
    requested_at: datetime
    accepted_team: str | None
    accepted_member: str | None
    accepted_at: datetime | None
    accepted_via: str | None
    accepted_actor: str | None
    eta_minutes: int | None
    number_disclosed: bool
    outcome: str | None
    closed_at: datetime | None
    cancel_reason: str = ""


@dataclass(frozen=True)
class PageRow:
    """One page: one person, one channel, one step."""

    id: int
    dispatch_id: int
    step_index: int
    team_id: str
    member_id: str
    recipient_hash: str | None
    channel: str
    state: str
    send_after: datetime
    created_at: datetime
    sent_at: datetime | None
    provider_sid: str | None
    delivery: str | None
    response: str | None
    responded_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class ResponseRow:
    """A person's answer to a dispatch (or one recorded on their behalf)."""

    id: int
    dispatch_id: int
    page_id: int | None
    team_id: str
    member_id: str
    response: str
    eta_minutes: int | None
    reason: str
    via: str
    actor: str
    at: datetime


def _time(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


class DispatchStore:
    """Reads and writes of the dispatch tables."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self.db = db
        self._cipher = cipher

    # -- responders ----------------------------------------------------------------------

    async def sync_responders(self, teams: Teams) -> None:
        """Seal the configured phone numbers into the store (config is read once at start)."""
        async with self.db.transaction() as tx:
            now = to_iso(tx.clock.now())
            for team in teams:
                for member in team.members:
                    if member.phone is None:
                        continue
                    context = f"responders.phone:{team.id}:{member.id}"
                    await tx.execute(
                        "INSERT INTO responders (team_id, member_id, phone_enc, phone_hash,"
                        " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, member_id)"
                        " DO UPDATE SET phone_enc = excluded.phone_enc,"
                        " phone_hash = excluded.phone_hash, updated_at = excluded.updated_at",
                        (
                            team.id,
                            member.id,
                            self._cipher.seal(member.phone, context),
                            self._cipher.keyed_hash(member.phone),
                            now,
                        ),
                    )

    async def phone(self, team_id: str, member_id: str) -> str | None:
        """A responder's number, opened to send a page (never shown, never logged)."""
        sealed = await self.db.fetchval(
            "SELECT phone_enc FROM responders WHERE team_id = ? AND member_id = ?",
            (team_id, member_id),
        )
        if sealed is None:
            return None
        return self._cipher.open(sealed, f"responders.phone:{team_id}:{member_id}")

    async def phone_hashes(self, tx: Transaction) -> dict[tuple[str, str], str]:
        """Keyed hashes of every responder's number (to throttle and match replies)."""
        rows = await tx.fetchall(
            "SELECT team_id, member_id, phone_hash FROM responders WHERE phone_hash IS NOT NULL"
        )
        return {(r["team_id"], r["member_id"]): r["phone_hash"] for r in rows}

    # -- dispatches ----------------------------------------------------------------------

    async def insert(
        self,
        tx: Transaction,
        *,
        code: str,
        kind: str,
        team_id: str,
        district_id: str | None,
        risk: RiskLevel,
        summary: str,
        contact_id: int | None,
        policy: str,
        requested_by: str,
    ) -> int:
        """A new dispatch in state `requested`."""
        dispatch_id = await tx.fetchval(
            "INSERT INTO dispatches (code, kind, team_id, district_id, risk, contact_id, state,"
            " policy, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                code,
                kind,
                team_id,
                district_id,
                risk.value,
                contact_id,
                DispatchState.REQUESTED.value,
                policy,
                requested_by,
                to_iso(tx.clock.now()),
            ),
        )
        dispatch_id = int(dispatch_id)
        if summary:
            await tx.execute(
                "UPDATE dispatches SET summary_enc = ? WHERE id = ?",
                (self._cipher.seal(summary, f"dispatches.summary:{dispatch_id}"), dispatch_id),
            )
        return dispatch_id

    async def codes_in_use(self, tx: Transaction, since: datetime) -> set[str]:
        """Codes of open dispatches, of those requested since `since`, and of recent incident
        call-ins (not to be reused)."""
        rows = await tx.fetchall(
            "SELECT code FROM dispatches WHERE closed_at IS NULL OR requested_at >= ?"
            # Incident call-ins are answered on the same number with the same grammar.
            " UNION SELECT code FROM incident_callins WHERE sent_at IS NULL OR sent_at >= ?",
            (to_iso(since), to_iso(since)),
        )
        return {r["code"] for r in rows}

    async def get(self, tx: Transaction | None, dispatch_id: int) -> DispatchRow | None:
        """A dispatch, read inside a transaction (current) or from committed data."""
        sql = "SELECT * FROM dispatches WHERE id = ?"
        row = await (
            tx.fetchone(sql, (dispatch_id,)) if tx else self.db.fetchone(sql, (dispatch_id,))
        )
        return None if row is None else self._dispatch(row)

    async def many(self, tx: Transaction, ids: Sequence[int]) -> dict[int, DispatchRow]:
        """Dispatches by id, in one query."""
        found: dict[int, DispatchRow] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = await tx.fetchall(
                f"SELECT * FROM dispatches WHERE id IN ({marks})", tuple(chunk)
            )
            found.update((r["id"], self._dispatch(r)) for r in rows)
        return found

    async def latest_by_code(self, tx: Transaction, code: str) -> DispatchRow | None:
        """The most recent dispatch with a code (codes are not reused for 30 days)."""
        row = await tx.fetchone(
            "SELECT * FROM dispatches WHERE code = ? ORDER BY id DESC LIMIT 1", (code,)
        )
        return None if row is None else self._dispatch(row)

    async def board_rows(self, closed_since: datetime) -> list[DispatchRow]:
        """Open dispatches and those closed since a cutoff, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM dispatches WHERE closed_at IS NULL OR closed_at >= ? ORDER BY id DESC",
            (to_iso(closed_since),),
        )
        return [self._dispatch(r) for r in rows]

    async def open_for_contact(self, tx: Transaction, contact_id: int, kind: str) -> int | None:
        """An open dispatch of a kind for a contact, if any."""
        value = await tx.fetchval(
            "SELECT id FROM dispatches WHERE contact_id = ? AND kind = ? AND closed_at IS NULL"
            " AND state IN ('requested', 'paging') LIMIT 1",
            (contact_id, kind),
        )
        return int(value) if value is not None else None

    async def update(self, tx: Transaction, dispatch_id: int, **columns: Any) -> None:
        """Set columns of a dispatch (names are this module's, never user input)."""
        names = ", ".join(f"{name} = ?" for name in columns)
        values = [_sql_value(v) for v in columns.values()]
        await tx.execute(f"UPDATE dispatches SET {names} WHERE id = ?", (*values, dispatch_id))

    async def seal_cancel_reason(self, tx: Transaction, dispatch_id: int, reason: str) -> None:
        """Keep why a dispatch was cancelled, sealed (free text may name the person)."""
        sealed = self._cipher.seal(reason, f"dispatches.cancel_reason:{dispatch_id}")
        await tx.execute(
            "UPDATE dispatches SET cancel_reason_enc = ? WHERE id = ?", (sealed, dispatch_id)
        )

    async def update_many(self, tx: Transaction, updates: list[dict[str, Any]]) -> None:
        """Set the same columns on many dispatches (each dict has `id` and the columns)."""
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for update in updates:
            by_shape.setdefault(tuple(k for k in update if k != "id"), []).append(update)
        for names, group in by_shape.items():
            assignments = ", ".join(f"{name} = ?" for name in names)
            await tx.executemany(
                f"UPDATE dispatches SET {assignments} WHERE id = ?",
                [[*(_sql_value(u[n]) for n in names), u["id"]] for u in group],
            )

    def _dispatch(self, row: Row) -> DispatchRow:
        summary = self._cipher.open_optional(row["summary_enc"], f"dispatches.summary:{row['id']}")
        return DispatchRow(
            id=row["id"],
            code=row["code"],
            kind=row["kind"],
            team_id=row["team_id"],
            district_id=row["district_id"],
            risk=RiskLevel(row["risk"]),
            summary=summary,
            contact_id=row["contact_id"],
            state=DispatchState(row["state"]),
            policy=row["policy"],
            step_index=row["step_index"],
            next_step_at=_time(row["next_step_at"]),
            alarm=bool(row["alarm"]),
            exhausted=bool(row["exhausted"]),
            requested_by=row["requested_by"],
            requested_at=from_iso(row["requested_at"]),
            accepted_team=row["accepted_team"],
            accepted_member=row["accepted_member"],
            accepted_at=_time(row["accepted_at"]),
            accepted_via=row["accepted_via"],
            accepted_actor=row["accepted_actor"],
            eta_minutes=row["eta_minutes"],
            number_disclosed=bool(row["number_disclosed"]),
            outcome=row["outcome"],
            closed_at=_time(row["closed_at"]),
            cancel_reason=self._cipher.open_optional(
                row["cancel_reason_enc"], f"dispatches.cancel_reason:{row['id']}"
            ),
        )

    # -- pages ---------------------------------------------------------------------------

    async def insert_pages(self, tx: Transaction, pages: list[dict[str, Any]]) -> None:
        """New pending pages, in one statement."""
        if not pages:
            return
        now = to_iso(tx.clock.now())
        await tx.executemany(
            "INSERT INTO pages (dispatch_id, step_index, team_id, member_id, recipient_hash,"
            " channel, state, send_after, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            [
                (
                    page["dispatch_id"],
                    page["step_index"],
                    page["team_id"],
                    page["member_id"],
                    page["recipient_hash"],
                    page["channel"],
                    to_iso(page["send_after"]),
                    now,
                )
                for page in pages
            ],
        )

    async def booked_slots(self, tx: Transaction, since: datetime) -> dict[str, list[datetime]]:
        """Send instants booked per number from `since` on: the throttle's input."""
        rows = await tx.fetchall(
            "SELECT recipient_hash, send_after FROM pages WHERE send_after > ?"
            " AND recipient_hash IS NOT NULL AND state != 'cancelled' ORDER BY send_after",
            (to_iso(since),),
        )
        booked: dict[str, list[datetime]] = {}
        for row in rows:
            booked.setdefault(row["recipient_hash"], []).append(from_iso(row["send_after"]))
        return booked

    async def claim_due_pages(self, tx: Transaction, now: datetime, limit: int) -> list[PageRow]:
        """Mark due pending pages `sending` and return them (the sender owns them now)."""
        rows = await tx.fetchall(
            "UPDATE pages SET state = 'sending' WHERE id IN (SELECT id FROM pages"
            " WHERE state = 'pending' AND send_after <= ? ORDER BY send_after, id LIMIT ?)"
            " RETURNING *",
            (to_iso(now), limit),
        )
        return sorted((_page(r) for r in rows), key=lambda p: p.id)

    async def next_page_due(self) -> datetime | None:
        """When the next pending page may go out."""
        value = await self.db.fetchval("SELECT MIN(send_after) FROM pages WHERE state = 'pending'")
        return from_iso(value) if value else None

    async def requeue_sending(self) -> int:
        """After a restart: pages caught mid-send go out again (a duplicate beats a loss)."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute("UPDATE pages SET state = 'pending' WHERE state = 'sending'")
            return cursor.rowcount

    async def page(self, tx: Transaction | None, page_id: int) -> PageRow | None:
        """A page by id."""
        sql = "SELECT * FROM pages WHERE id = ?"
        row = await (tx.fetchone(sql, (page_id,)) if tx else self.db.fetchone(sql, (page_id,)))
        return None if row is None else _page(row)

    async def pages_of(self, tx: Transaction | None, dispatch_ids: Sequence[int]) -> list[PageRow]:
        """Pages of some dispatches, oldest first."""
        found: list[PageRow] = []
        for chunk in _chunks(dispatch_ids, 500):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT * FROM pages WHERE dispatch_id IN ({marks}) ORDER BY id"
            rows = await (
                tx.fetchall(sql, tuple(chunk)) if tx else self.db.fetchall(sql, chunk)
            )
            found.extend(_page(r) for r in rows)
        return found

    async def update_page(self, tx: Transaction, page_id: int, **columns: Any) -> None:
        """Set columns of a page."""
        names = ", ".join(f"{name} = ?" for name in columns)
        values = [_sql_value(v) for v in columns.values()]
        await tx.execute(f"UPDATE pages SET {names} WHERE id = ?", (*values, page_id))

    async def record_sent(
        self,
        tx: Transaction,
        page_id: int,
        *,
        sent_at: datetime,
        sid: str | None,
        delivery: str | None,
    ) -> None:
        """A page handed to the provider. Its first status (from the send's own answer) is
        kept only if no status callback came first: the provider may call back before the
        sender records the send, and a later "queued" must not hide "no-answer"."""
        await tx.execute(
            "UPDATE pages SET state = 'sent', sent_at = ?, provider_sid = ?,"
            " delivery = COALESCE(delivery, ?) WHERE id = ?",
            (to_iso(sent_at), sid, delivery, page_id),
        )

    async def cancel_pending_pages(self, tx: Transaction, dispatch_id: int) -> int:
        """Pages not yet sent will not be: the dispatch no longer needs them."""
        cursor = await tx.execute(
            "UPDATE pages SET state = 'cancelled' WHERE dispatch_id = ? AND state = 'pending'",
            (dispatch_id,),
        )
        return cursor.rowcount

    # -- responses -----------------------------------------------------------------------

    async def add_response(
        self,
        tx: Transaction,
        *,
        dispatch_id: int,
        page_id: int | None,
        team_id: str,
        member_id: str,
        response: str,
        via: str,
        actor: str,
        eta_minutes: int | None = None,
        reason: str | None = None,
    ) -> int:
        """Record an answer."""
        response_id = await tx.fetchval(
            "INSERT INTO page_responses (dispatch_id, page_id, team_id, member_id, response,"
            " eta_minutes, via, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                dispatch_id,
                page_id,
                team_id,
                member_id,
                response,
                eta_minutes,
                via,
                actor,
                to_iso(tx.clock.now()),
            ),
        )
        response_id = int(response_id)
        if reason:
            sealed = self._cipher.seal(reason, f"page_responses.reason:{response_id}")
            await tx.execute(
                "UPDATE page_responses SET reason_enc = ? WHERE id = ?", (sealed, response_id)
            )
        return response_id

    async def responses_of(self, dispatch_ids: Sequence[int]) -> list[ResponseRow]:
        """Answers to some dispatches, oldest first."""
        found: list[ResponseRow] = []
        for chunk in _chunks(dispatch_ids, 500):
            rows = await self.db.fetchall(
                "SELECT * FROM page_responses WHERE dispatch_id IN"
                f" ({','.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            )
            found.extend(
                ResponseRow(
                    id=r["id"],
                    dispatch_id=r["dispatch_id"],
                    page_id=r["page_id"],
                    team_id=r["team_id"],
                    member_id=r["member_id"],
                    response=r["response"],
                    eta_minutes=r["eta_minutes"],
                    reason=self._cipher.open_optional(
                        r["reason_enc"], f"page_responses.reason:{r['id']}"
                    ),
                    via=r["via"],
                    actor=r["actor"],
                    at=from_iso(r["at"]),
                )
                for r in rows
            )
        return found

    async def declined_by_dispatch(
        self, tx: Transaction, dispatch_ids: Sequence[int]
    ) -> dict[int, set[tuple[str, str]]]:
        """Who has declined each of some dispatches (they are not paged again for it)."""
        found: dict[int, set[tuple[str, str]]] = {}
        for chunk in _chunks(dispatch_ids, 500):
            rows = await tx.fetchall(
                "SELECT dispatch_id, team_id, member_id FROM page_responses WHERE response ="
                f" 'declined' AND dispatch_id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            for r in rows:
                found.setdefault(r["dispatch_id"], set()).add((r["team_id"], r["member_id"]))
        return found


def _page(row: Row) -> PageRow:
    return PageRow(
        id=row["id"],
        dispatch_id=row["dispatch_id"],
        step_index=row["step_index"],
        team_id=row["team_id"],
        member_id=row["member_id"],
        recipient_hash=row["recipient_hash"],
        channel=row["channel"],
        state=row["state"],
        send_after=from_iso(row["send_after"]),
        created_at=from_iso(row["created_at"]),
        sent_at=_time(row["sent_at"]),
        provider_sid=row["provider_sid"],
        delivery=row["delivery"],
        response=row["response"],
        responded_at=_time(row["responded_at"]),
        error=row["error"],
    )


def _sql_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def _chunks(items: Iterable[int], size: int) -> list[list[int]]:
    listed = list(items)
    return [listed[i : i + size] for i in range(0, len(listed), size)]
