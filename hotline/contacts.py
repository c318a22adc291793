"""The contact: one person reaching the hotline once, and the states it moves through.

    queued → offered → active → wrap_up → closed
    queued/offered → abandoned        (the person left before anyone answered)
    queued → transferred              (overflow: nobody could answer, sent to a backup)
    offered/active → queued           (re-queued at the head when the counsellor drops)
    offered/active → transferred      (handed to another service; ends the contact here)

Each transition is checked against this table; an illegal one raises `IllegalTransition`
rather than being ignored, because a silent no-op is how a person in danger gets lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hotline.risk import RiskLevel


class ContactState(StrEnum):
    """Where a contact is in its life."""

    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"

    @property
    def is_open(self) -> bool:
        """True while the person may still be waiting or talking."""
        return self in OPEN_STATES


class Channel(StrEnum):
    """How the person reached the hotline."""

    WEBCHAT = "webchat"
    VOICE = "voice"
    SMS = "sms"

    @property
    def answers_at_once(self) -> bool:
        """True when taking the contact is answering it; a call must ring and be picked up."""
        return self is not Channel.VOICE


OPEN_STATES = frozenset({ContactState.QUEUED, ContactState.OFFERED, ContactState.ACTIVE})

TRANSITIONS: dict[ContactState, frozenset[ContactState]] = {
    ContactState.QUEUED: frozenset(
        {ContactState.OFFERED, ContactState.ABANDONED, ContactState.TRANSFERRED}
    ),
    ContactState.OFFERED: frozenset(
        {ContactState.ACTIVE, ContactState.QUEUED, ContactState.ABANDONED, ContactState.TRANSFERRED}
    ),
    ContactState.ACTIVE: frozenset(
        {ContactState.WRAP_UP, ContactState.QUEUED, ContactState.TRANSFERRED}
    ),
    ContactState.WRAP_UP: frozenset({ContactState.CLOSED}),
    ContactState.CLOSED: frozenset(),
    ContactState.ABANDONED: frozenset(),
    ContactState.TRANSFERRED: frozenset(),
}


class IllegalTransition(Exception):
    """A contact was asked to move to a state it cannot reach from where it is."""

    def __init__(self, contact_id: int, current: ContactState, wanted: ContactState) -> None:
        self.contact_id = contact_id
        self.current = current
        self.wanted = wanted
        super().__init__(f"contact {contact_id} cannot go from {current} to {wanted}")


def check_transition(contact_id: int, current: ContactState, wanted: ContactState) -> None:
    """Raise `IllegalTransition` unless `current → wanted` is in the table."""
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(contact_id, current, wanted)


@dataclass(frozen=True)
class Contact:
    """A contact as stored; personal data stays sealed in its own tables."""

    id: int
    channel: Channel
    state: ContactState
    risk: RiskLevel
    district: str | None
    lang: str
    waiting_since: datetime
    requeued: bool
    counsellor_id: int | None
    ended_by: str | None
    answered_at: datetime | None
    ended_at: datetime | None
    call_sid: str | None = None
    transferred_to: str | None = None
    callback_requested: bool = False
    # The mass incident the person said affected them (surge mode's question, or their
    # counsellor); None when untagged. Incidents are known here only by number.
    incident_id: int | None = None


@dataclass(frozen=True)
class Message:
    """One message of a conversation, opened for someone allowed to read it."""

    id: int
    contact_id: int
    sender: str
    author_id: int | None
    text: str
    at: datetime
    # Outbound SMS only: 'pending' until the provider takes it, then what it reports.
    delivery_status: str | None = None


@dataclass(frozen=True)
class Note:
    """A counsellor's private note on a contact; never shown to the person."""

    id: int
    contact_id: int
    author_id: int
    text: str
    at: datetime


@dataclass(frozen=True)
class WrapUp:
    """What the counsellor recorded when closing a contact."""

    category: str
    outcome: str
    referral: str
    # The person consented to follow-up (for high and imminent risk the counsellor must say).
    follow_up_wanted: bool
    key_groups: tuple[str, ...]
    summary: str
    # Why no follow-up case (an option id): required at high or imminent risk without consent.
    follow_up_reason: str | None = None
    # Consent to caring texts (short, neutral SMS on the follow-up schedule).
    caring_contacts: bool = False
    # Who follows up: None for the counsellor who wrapped up, else a district id (its team).
    follow_up_owner: str | None = None
    # A number to reach the person (web chat has none of its own); handed to the case, sealed
    # there, never kept with the wrap-up.
    follow_up_phone: str | None = None


@dataclass(frozen=True)
class FollowUpRequest:
    """A wrap-up's follow-up decision, handed inside the wrap-up's transaction to whoever
    opens follow-up cases (the application wires `dispatch.followups` in), so a closed
    high-risk contact always has a case or a recorded reason, never neither."""

    contact_id: int
    counsellor_id: int
    risk: RiskLevel
    district: str | None
    lang: str
    # Keyed hash of the contact's number or chat identity (links later contacts to the case).
    person_hash: str | None
    # The number to reach them: the caller's own, or the one written on the form. In memory
    # only; the case seals it.
    phone: str | None
    consent: bool
    reason: str | None
    caring: bool
    owner_district: str | None


def queue_key(contact: Contact) -> tuple[int, int, datetime, int]:
    """Sort key of the queue: highest risk, then dropped-and-requeued, then longest waiting.

    The store's index and `ORDER BY` implement the same order; this function states it in
    Python so the rule can be tested as a table.
    """
    return (-contact.risk.rank, -int(contact.requeued), contact.waiting_since, contact.id)
