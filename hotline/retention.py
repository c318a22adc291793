"""Retention: personal data older than the configured period is purged; aggregates stay.

What is personal here is the people who reach the line and the people registered after an
incident: what they wrote, what counsellors wrote about them, their numbers and names, and
the keyed hashes and tokens that link one person's contacts to each other. A retention run
wipes those (or deletes rows that are nothing but such text) once the record they belong to
ended more than `retention.records_days` ago. Everything the statistics need stays: the
event log (ids and codes only), the contact, dispatch, case and incident rows with their
states, times, levels and codes, and the audit trail. docs/retention.md has the table of
every column and what happens to it, and why.

Age is judged by when the record a row belongs to ended:
- a contact when it closed, was abandoned or transferred (`closed_at`, else `ended_at`,
  else `created_at`); one still in progress (queued, offered, active, in wrap-up) is never
  touched;
- a follow-up case when it closed; an incident when it was stood down; a dispatch when it
  was resolved or cancelled.
A row of a contact (a message, a note) must also itself have been written before the
cutoff, which lets an index find it and keeps a note added after the contact ended for the
full period.
Whatever its age, nothing linked to something still open is purged: the contacts linked to
an open follow-up case (its origin, repeat contacts, the decision that opened it), the
registry entry of a person whose case is open, the contacts tagged with, and the
mobilisations of, an incident still active.

`survey` and `purge` run the same selection (`_PURGES`): the survey counts what each step
would touch, the purge runs the steps in one write transaction and reports what they did.
A step selects only rows that still hold something, so a second run purges nothing more.

Purged bytes must leave the file, not only the rows: on SQLite the purge runs with
`secure_delete` on (freed space is overwritten with zeros), and then a TRUNCATE checkpoint
copies the new pages into the database file and empties the write-ahead log, where the old
pages would otherwise linger. On PostgreSQL the purged tables are vacuumed after the purge
(`Database.reclaim_space`; docs/storage.md says what that does and does not remove).

The SQL names tables of the dispatch side (dispatches, follow-ups, incidents): the schema is
one store with one set of migrations, and retention is a property of the store, so this
module reads and writes those tables without importing `dispatch`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from hotline import audit
from hotline.clock import to_iso
from hotline.store.database import Database

log = structlog.get_logger(__name__)

ACTION = "retention.purged"
SUBJECT = "retention"
PURPOSES = ("scheduled", "manual")

# Follow-up cases whose records stay whatever their age: open cases, and cases of people
# registered in an incident that is still active.
_HELD_CASES = (
    "SELECT id FROM followup_cases WHERE state = 'open'"
    " UNION SELECT p.case_id FROM affected_people p JOIN incidents i ON i.id = p.incident_id"
    " WHERE i.state = 'active' AND p.case_id IS NOT NULL"
)
_ACTIVE_INCIDENTS = "SELECT id FROM incidents WHERE state = 'active'"


def _contact_is_old(contact_id: str) -> str:
    """True when the contact named by the column `contact_id` ended before the cutoff (its
    one `?`) and nothing still open holds it.

    Correlated on purpose: each step starts from the few rows of its own table that still
    hold something and were written before the cutoff (found through an index of migration
    0013), and asks this of their contact only, instead of listing every old contact ever.
    """
    return (
        f"EXISTS (SELECT 1 FROM contacts c WHERE c.id = {contact_id}"
        " AND c.state IN ('closed', 'abandoned', 'transferred')"
        " AND COALESCE(c.closed_at, c.ended_at, c.created_at) < ?"
        " AND NOT EXISTS (SELECT 1 FROM followup_contacts fl WHERE fl.contact_id = c.id"
        f" AND fl.case_id IN ({_HELD_CASES}))"
        " AND NOT EXISTS (SELECT 1 FROM followup_decisions fd WHERE fd.contact_id = c.id"
        f" AND fd.case_id IN ({_HELD_CASES}))"
        f" AND (c.incident_id IS NULL OR c.incident_id NOT IN ({_ACTIVE_INCIDENTS})))"
    )


# The contacts that still carry an identifier: the WHERE of the partial index
# `contacts_identified` (0013), spelled the same so SQLite can use it.
_IDENTIFIED = (
    "(caller_number_enc IS NOT NULL OR caller_hash IS NOT NULL"
    " OR caller_token_hash IS NOT NULL OR call_sid IS NOT NULL)"
)
_OLD_CASES = (
    "SELECT id FROM followup_cases WHERE state = 'closed' AND closed_at < ?"
    f" AND id NOT IN ({_HELD_CASES})"
)
_OLD_INCIDENTS = "SELECT id FROM incidents WHERE state = 'stood_down' AND stood_down_at < ?"
# A dispatch goes with its contact (a dispatch for a contact that is kept is kept too), and a
# mobilisation stays while its incident is active.
_OLD_DISPATCHES = (
    "SELECT d.id FROM dispatches d WHERE d.closed_at < ?"
    f" AND (d.contact_id IS NULL OR {_contact_is_old('d.contact_id')})"
    " AND d.id NOT IN (SELECT t.dispatch_id FROM incident_teams t"
    " JOIN incidents i ON i.id = t.incident_id"
    " WHERE i.state = 'active' AND t.dispatch_id IS NOT NULL)"
)


@dataclass(frozen=True)
class _Purge:
    """One kind of personal data: the rows of `table` that still hold some, and how it goes.

    `where` binds the cutoff at each `?`. `wipe` is the SET clause; None deletes the rows
    (they hold nothing but the personal text). `wipe_values` are bound at the `?` of `wipe`.
    """

    kind: str
    description: str
    table: str
    where: str
    wipe: str | None
    wipe_values: tuple[object, ...] = ()

    def params(self, cutoff: str) -> tuple[str, ...]:
        return (cutoff,) * self.where.count("?")

    def purge_params(self, cutoff: str) -> tuple[object, ...]:
        return (*self.wipe_values, *self.params(cutoff))

    def count_sql(self) -> str:
        return f"SELECT COUNT(*) FROM {self.table} WHERE {self.where}"

    def purge_sql(self) -> str:
        if self.wipe is None:
            return f"DELETE FROM {self.table} WHERE {self.where}"
        return f"UPDATE {self.table} SET {self.wipe} WHERE {self.where}"


# A row of a contact goes when the contact is old and the row itself was written before the
# cutoff. Messages, wrap-ups and assessments are written while the contact is open, so the
# second condition only lets the index find them; a note or protocol step added after the
# contact ended is kept until it is itself older than the period.
_PURGES: tuple[_Purge, ...] = (
    _Purge(
        "messages",
        "conversation messages (rows deleted)",
        "messages",
        f"at < ? AND {_contact_is_old('messages.contact_id')}",
        None,
    ),
    _Purge(
        "notes",
        "counsellors' private notes (rows deleted)",
        "notes",
        f"at < ? AND {_contact_is_old('notes.contact_id')}",
        None,
    ),
    _Purge(
        "caller_numbers",
        "callers' phone numbers on contacts",
        "contacts",
        f"{_IDENTIFIED} AND caller_number_enc IS NOT NULL AND created_at < ?"
        f" AND {_contact_is_old('contacts.id')}",
        "caller_number_enc = NULL",
    ),
    _Purge(
        "caller_links",
        "links from contacts to their person (keyed hash, chat token, call id)",
        "contacts",
        f"{_IDENTIFIED} AND (caller_hash IS NOT NULL OR caller_token_hash IS NOT NULL"
        f" OR call_sid IS NOT NULL) AND created_at < ? AND {_contact_is_old('contacts.id')}",
        "caller_hash = NULL, caller_token_hash = NULL, call_sid = NULL",
    ),
    _Purge(
        "wrap_up_summaries",
        "wrap-up summaries",
        "wrap_ups",
        f"summary_enc IS NOT NULL AND at < ? AND {_contact_is_old('wrap_ups.contact_id')}",
        "summary_enc = NULL",
    ),
    _Purge(
        "assessment_texts",
        "safety plans and reasons written on risk assessments",
        "assessments",
        "(safety_plan_enc IS NOT NULL OR reason_enc IS NOT NULL) AND at < ?"
        f" AND {_contact_is_old('assessments.contact_id')}",
        "safety_plan_enc = NULL, reason_enc = NULL",
    ),
    _Purge(
        "protocol_notes",
        "notes on imminent-risk protocol steps",
        "protocol_steps",
        f"note_enc IS NOT NULL AND at < ? AND {_contact_is_old('protocol_steps.contact_id')}",
        "note_enc = NULL",
    ),
    _Purge(
        "dispatch_texts",
        "dispatch summaries and cancellation reasons",
        "dispatches",
        f"(summary_enc IS NOT NULL OR cancel_reason_enc IS NOT NULL) AND id IN ({_OLD_DISPATCHES})",
        "summary_enc = NULL, cancel_reason_enc = NULL",
    ),
    _Purge(
        "page_response_reasons",
        "reasons responders gave for declining a page",
        "page_responses",
        f"reason_enc IS NOT NULL AND dispatch_id IN ({_OLD_DISPATCHES})",
        "reason_enc = NULL",
    ),
    _Purge(
        "followup_cases",
        "follow-up cases' numbers, names, closing notes and person hashes",
        "followup_cases",
        "(phone_enc IS NOT NULL OR name_enc IS NOT NULL OR close_note_enc IS NOT NULL"
        f" OR person_hash IS NOT NULL OR phone_hash IS NOT NULL) AND id IN ({_OLD_CASES})",
        "phone_enc = NULL, name_enc = NULL, close_note_enc = NULL, person_hash = NULL,"
        " phone_hash = NULL",
    ),
    _Purge(
        "followup_attempt_notes",
        "notes on follow-up attempts",
        "followup_attempts",
        f"note_enc IS NOT NULL AND case_id IN ({_OLD_CASES})",
        "note_enc = NULL",
    ),
    _Purge(
        "caring_text_ids",
        "the SMS provider's ids of caring texts (they find the number at the provider)",
        "followup_caring_texts",
        f"provider_sid IS NOT NULL AND case_id IN ({_OLD_CASES})",
        "provider_sid = NULL",
    ),
    _Purge(
        "incident_descriptions",
        "incident descriptions",
        "incidents",
        f"description_enc IS NOT NULL AND id IN ({_OLD_INCIDENTS})",
        "description_enc = NULL",
    ),
    _Purge(
        "situation_reports",
        "situation report texts (emptied; the report counts them)",
        "incident_sitreps",
        f"length(body_enc) > 0 AND incident_id IN ({_OLD_INCIDENTS})",
        # NOT NULL: an empty value, as `add_sitrep` writes before sealing. Nothing opens it.
        "body_enc = ?",
        (b"",),
    ),
    _Purge(
        "group_session_notes",
        "notes on incident group sessions",
        "group_sessions",
        f"note_enc IS NOT NULL AND incident_id IN ({_OLD_INCIDENTS})",
        "note_enc = NULL",
    ),
    _Purge(
        "affected_people",
        "names and numbers in incidents' affected-person registries",
        "affected_people",
        "(name_enc IS NOT NULL OR phone_enc IS NOT NULL)"
        f" AND incident_id IN ({_OLD_INCIDENTS})"
        f" AND (case_id IS NULL OR case_id NOT IN ({_HELD_CASES}))",
        "name_enc = NULL, phone_enc = NULL",
    ),
)

KINDS: tuple[str, ...] = tuple(p.kind for p in _PURGES)
DESCRIPTIONS: Mapping[str, str] = {p.kind: p.description for p in _PURGES}


@dataclass(frozen=True)
class RetentionSurvey:
    """What a run would purge (a survey) or purged: rows per kind of data, never contents.

    `checkpointed` is None for a survey and for a purge that found nothing; otherwise it
    says whether the write-ahead log could be emptied at once (if not, the purged bytes
    leave it at the next checkpoint).
    """

    at: datetime
    cutoff: datetime
    records_days: int
    counts: Mapping[str, int]
    purged: bool = False
    checkpointed: bool | None = None

    @property
    def total(self) -> int:
        """Rows touched (or to be touched) across every kind."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the CLI prints and the event records (counts and instants only)."""
        return {
            "at": to_iso(self.at),
            "cutoff": to_iso(self.cutoff),
            "records_days": self.records_days,
            "purged": self.purged,
            "counts": {kind: self.counts.get(kind, 0) for kind in KINDS},
            "total": self.total,
            "checkpointed": self.checkpointed,
        }


def cutoff_for(now: datetime, records_days: int) -> datetime:
    """The instant before which a record that ended is past retention."""
    if records_days <= 0:
        raise ValueError("records_days must be positive")
    return now - timedelta(days=records_days)


async def survey(db: Database, now: datetime, records_days: int) -> RetentionSurvey:
    """Count what a purge at `now` would touch, per kind; changes nothing.

    One statement, so every count comes from the same committed snapshot.
    """
    cutoff = cutoff_for(now, records_days)
    stamp = to_iso(cutoff)
    sql = "SELECT " + ", ".join(f"({p.count_sql()}) AS {p.kind}" for p in _PURGES)
    params = [value for p in _PURGES for value in p.params(stamp)]
    row = await db.fetchone(sql, params)
    assert row is not None
    counts = {p.kind: int(row[p.kind]) for p in _PURGES}
    return RetentionSurvey(now, cutoff, records_days, counts)


async def purge(
    db: Database,
    now: datetime,
    records_days: int,
    actor: str,
    *,
    purpose: str = "scheduled",
) -> RetentionSurvey:
    """Purge what `survey` would count, in one write transaction; returns what went.

    The run is recorded (event `retention.purged` and an audit record, counts only) when
    anything went, and always when run by hand (`purpose="manual"`): an administrator's
    run is an act worth a trace; a scheduled run that found nothing leaves none, so a
    restart does not add a record each time.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
    cutoff = cutoff_for(now, records_days)
    stamp = to_iso(cutoff)
    counts: dict[str, int] = {}
    async with db.transaction() as tx:
        async with tx.secure_delete():
            for step in _PURGES:
                cursor = await tx.execute(step.purge_sql(), step.purge_params(stamp))
                counts[step.kind] = max(cursor.rowcount, 0)
        result = RetentionSurvey(now, cutoff, records_days, counts, purged=True)
        if result.total or purpose == "manual":
            data = {
                "cutoff": to_iso(cutoff),
                "records_days": records_days,
                "counts": result.as_dict()["counts"],
                "total": result.total,
            }
            await tx.append_event(ACTION, SUBJECT, actor, data)
            await audit.record(
                tx, actor=actor, action=ACTION, subject=SUBJECT, purpose=purpose, data=data
            )
    if not result.total:
        return result
    touched = [step.table for step in _PURGES if counts[step.kind]]
    return RetentionSurvey(
        now, cutoff, records_days, counts, purged=True, checkpointed=await db.reclaim_space(touched)
    )
