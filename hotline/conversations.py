"""Conversations: a contact's life from the person's first word to the counsellor's wrap-up.

This is the hotline's core service. Every method is one transaction that checks the
contact's state (see `hotline.contacts`), writes the change through the contact
repositories (`hotline.store.contacts`, which keep the SQL and seal any text), and appends
an event; live views learn of the change from the bus after commit. Nothing here knows SQL,
HTTP or websockets; the channels and the console call these methods.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from hotline import audit
from hotline.config import Config
from hotline.contacts import (
    Channel,
    Contact,
    ContactState,
    FollowUpRequest,
    IllegalTransition,
    Message,
    Note,
    WrapUp,
    check_transition,
)
from hotline.counsellors import Counsellors, Presence
from hotline.crypto import FieldCipher, new_token, token_digest
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.intake import Arrival, Intake, arrival_note
from hotline.risk import RiskLevel, TextScanner
from hotline.store.contacts import (
    AssessmentRepository,
    CallerSummary,
    ContactRepository,
    EarlierContact,
    MessageRepository,
    NewContact,
    NoteRepository,
    ProtocolRepository,
    WrapUpRepository,
)
from hotline.store.database import Database, Transaction
from hotline.store.optouts import OptOutRepository
from hotline.surge import SurgeMode, current_surge
from hotline.triage.assessment import PROTECTIVE_FACTORS, cssrs_level
from hotline.triage.protocol import SERVICES
from hotline.triage.protocol import STEPS as PROTOCOL_STEPS

# Message, Note and WrapUp are defined beside Contact (the store builds them too); the
# channels and the console import them from here, as the records this service returns.
# CallerSummary and EarlierContact are built by the store and returned as they are.
__all__ = ["CallerSummary", "Conversations", "EarlierContact", "Message", "Note", "WrapUp"]

log = structlog.get_logger(__name__)

# Called for each wait-target breach inside its transaction: (tx, contact id, level, district).
BreachHook = Callable[[Transaction, int, RiskLevel, str | None], Awaitable[object]]
# Called inside a wrap-up's transaction with its follow-up decision (the application wires
# dispatch's follow-up cases here); a DomainError it raises fails the whole wrap-up.
FollowUpHook = Callable[[Transaction, FollowUpRequest], Awaitable[object]]
# Called inside the creating transaction for each new contact that has a caller hash (a
# number or a web-chat identity), so a returning person's contact can be linked to their case.
ContactStartedHook = Callable[[Transaction, Contact], Awaitable[object]]

_DAY = timedelta(days=1)
# A shared queue index may hand out a contact another process has just taken; after this
# many such stale picks in a row, take through the store alone.
STALE_PICKS = 5


class QueuePicker(Protocol):
    """Suggests the most urgent waiting contact (the shared index several gateway processes
    keep in Redis); the store's guarded claim still decides."""

    async def take(self, channels: frozenset[Channel] | None = None) -> int | None: ...

    async def refresh(self, contact_ids: Iterable[int]) -> None: ...


# At these levels a wrap-up must say whether the person agreed to follow-up, and why not.
FOLLOW_UP_DECISION_RISKS = frozenset({RiskLevel.HIGH, RiskLevel.IMMINENT})
# A web-chat identity: what the page makes is 43 characters of base64url (32 random bytes).
CHAT_IDENTITY = re.compile(r"[A-Za-z0-9_-]{22,64}")
# A number the follow-up can call or text: E.164, spaces removed.
E164 = re.compile(r"\+[0-9]{8,16}")
# At most this many earlier contacts are opened by one look at the history.
HISTORY_LIMIT = 20
# A counsellor "holds" a contact in these states (serving the person now).
HELD_STATES = frozenset({ContactState.OFFERED, ContactState.ACTIVE, ContactState.WRAP_UP})


def reachable_number(number: str | None) -> str | None:
    """The number in E.164 form (spaces removed) if follow-up could call or text it, else None.

    A withheld caller id ("anonymous") or a malformed value is no way to reach anyone.
    """
    if number is None:
        return None
    compact = "".join(number.split())
    return compact if E164.fullmatch(compact) else None


class Conversations:
    """Starts, routes, carries and closes contacts."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        config: Config,
        counsellors: Counsellors,
        scanner: TextScanner | None = None,
        *,
        on_follow_up: FollowUpHook | None = None,
        on_contact_started: ContactStartedHook | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._counsellors = counsellors
        self._cipher = cipher
        self._scanner = scanner
        # Hooks the application sets (often after construction, once dispatch is open): the
        # hotline's core reaches follow-up cases only through them, never by import.
        self.on_follow_up = on_follow_up
        self.on_contact_started = on_contact_started
        # Set when several gateway processes share a queue index (hotline.cluster).
        self.queue_picker: QueuePicker | None = None
        self._intake = Intake(db, cipher, self._announce_started)
        self._contacts = ContactRepository(db, cipher)
        self._messages = MessageRepository(db, cipher)
        self._notes = NoteRepository(db, cipher)
        self._wrap_ups = WrapUpRepository(db, cipher)
        self._opt_outs = OptOutRepository(db)
        self._assessments = AssessmentRepository(db, cipher)
        self._protocol = ProtocolRepository(db, cipher)

    # -- arrival ---------------------------------------------------------------------------

    async def start_webchat(
        self, district: str | None, lang: str, identity: object = None
    ) -> tuple[Contact, str]:
        """Queue a new web-chat contact; returns it and the person's secret resume token.

        `identity` is the random value the person's browser keeps across chats; its keyed
        hash links their contacts as a number's does. A missing or malformed one is ignored
        without a word: nobody in crisis is refused over it.
        """
        if district is not None and self._config.district(district) is None:
            known = ", ".join(d.id for d in self._config.districts)
            raise InvalidInput(
                f"unknown district {district!r}; choose one of: {known}",
                code="unknown_district",
                field="district",
            )
        if lang not in self._config.ui.languages:
            lang = self._config.ui.language
        token = new_token()
        caller = self.chat_identity_hash(identity)
        contact = await self._intake.admit(
            Arrival(
                Channel.WEBCHAT,
                district,
                lang,
                RiskLevel.NONE,
                token_digest(token),
                caller_hash=caller,
            )
        )
        log.info(
            "contact_started", contact_id=contact.id, channel="webchat", linked=caller is not None
        )
        return contact, token

    def chat_identity_hash(self, identity: object) -> str | None:
        """The keyed hash of a well-formed web-chat identity, else None.

        Prefixed so an identity can never collide with a phone number's hash (opt-outs and
        SMS threads are keyed by those).
        """
        if not isinstance(identity, str) or not CHAT_IDENTITY.fullmatch(identity):
            return None
        return self._cipher.keyed_hash("chat:" + identity)

    async def _announce_started(self, tx: Transaction, contact: Contact) -> None:
        """Tell the application of a new linkable contact, inside its creating transaction.

        Linking a returning person to their open case must never cost them their place in
        the queue: the hook runs under a savepoint, and if it fails, what it wrote (and the
        events it appended) is undone alone, the failure is logged (ids only), and the
        contact is queued all the same.
        """
        hook = self.on_contact_started
        if hook is None:
            return
        mark = len(tx.events)
        await tx.execute("SAVEPOINT contact_started")
        try:
            await hook(tx, contact)
        except Exception as exc:
            await tx.execute("ROLLBACK TO contact_started")
            await tx.execute("RELEASE contact_started")
            del tx.events[mark:]
            log.error(
                "contact_started_hook_failed",
                contact_id=contact.id,
                error_type=type(exc).__name__,
            )
            return
        await tx.execute("RELEASE contact_started")

    async def resume(self, token: str) -> Contact | None:
        """The contact a person's resume token belongs to, or None for an unknown token."""
        return await self._contacts.by_token_hash(token_digest(token))

    async def caller_connected(self, contact_id: int) -> None:
        """The person's chat is open again: they are not leaving."""
        async with self._db.transaction() as tx:
            await self._contacts.mark_caller_connected(tx, contact_id)

    async def caller_disconnected(self, contact_id: int) -> None:
        """The person's last chat connection closed; they may come back (see `abandon_departed`)."""
        async with self._db.transaction() as tx:
            await self._contacts.mark_caller_left(tx, contact_id, tx.clock.now())

    # -- risk ------------------------------------------------------------------------------

    async def raise_risk(
        self, contact_id: int, level: RiskLevel, source: str, reasons: Sequence[str] = ()
    ) -> Contact:
        """Raise a contact's risk from an automatic source (IVR key, screener, text scanner).

        Automatic sources only ever raise: a contact's level is the highest of its sources, so
        a calmer message never undoes an earlier alarming one (only a counsellor's written
        assessment may lower it). The queue is ordered by the stored level, so a rise
        re-orders it at once; the event carries the source and the reasons (rule ids), so
        every level can be traced to its evidence.
        """
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            return await self._raise_in(tx, contact, level, source, reasons)

    async def _raise_in(
        self,
        tx: Transaction,
        contact: Contact,
        level: RiskLevel,
        source: str,
        reasons: Sequence[str],
    ) -> Contact:
        """`raise_risk` inside a transaction the caller holds (so a tag and its rise commit
        together); the contact unchanged when it is already as high, or no longer open."""
        if level.rank <= contact.risk.rank or not contact.state.is_open:
            return contact
        await self._contacts.set_risk(tx, contact.id, level)
        await tx.append_event(
            "contact.risk_changed",
            f"contact:{contact.id}",
            source,
            {
                "from": contact.risk.value,
                "to": level.value,
                "source": source,
                "reasons": list(reasons),
            },
        )
        changed = await self._contacts.load(tx, contact.id)
        assert changed is not None
        await self._alert_supervisor_if_imminent(tx, changed)
        log.info("risk_raised", contact_id=contact.id, risk=level.value, source=source)
        return changed

    # -- surge mode (mass incidents) -------------------------------------------------------

    async def surge(self) -> SurgeMode | None:
        """The surge mode in force (a mass incident is live), if any."""
        return await current_surge(self._db)

    async def tag_affected_on_arrival(
        self, contact_id: int, via: str, incident_id: int | None = None
    ) -> Contact | None:
        """The person said the incident affected them (IVR key 1, the chat's "yes").

        The contact is tagged with the live incident and, when its risk is below the
        surge's `affected_min_risk`, raised to it through the ordinary risk rise (source
        `incident`, reason `incident.affected`): that rise is the whole priority rule, so
        affected people are answered before the merely worried of the same wait, and the
        queue needs no second ordering. Tag and rise are one transaction. A contact already
        tagged with this incident (a retried webhook) is left as it is: no second event.

        Returns None, changing nothing, when no surge is on, or when `incident_id` (the
        incident the caller was asked about) is no longer the live one: the question's
        premise has gone, and `affected` from a page or a key is then simply ignored.
        """
        async with self._db.transaction() as tx:
            surge = await current_surge(tx)
            if surge is None or (incident_id is not None and incident_id != surge.incident_id):
                return None
            contact = await self._load(tx, contact_id)
            if contact.incident_id is not None:
                return contact  # already tagged (a retry); a tag is never moved silently
            contact = await self._tag(tx, contact, surge, via, "caller")
            return await self._raise_in(
                tx, contact, surge.affected_min_risk, "incident", ["incident.affected"]
            )

    async def counsellor_tags_affected(self, contact_id: int, counsellor_id: int) -> Contact:
        """The counsellor holding a contact records that the incident affected the person.

        Only while a surge is on (409 `no_surge` otherwise) and only by the holder (403
        `not_yours`). It tags and does not raise the risk: the person is already with a
        counsellor, who sets the level with the assessment; an automatic rise would only
        overrule their judgement (the queue priority matters only to people still waiting).
        Tagging twice is harmless; a contact tagged with an earlier incident is not moved.
        """
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            if contact.state not in HELD_STATES:
                raise Conflict("this contact is no longer with you", code="not_active")
            surge = await current_surge(tx)
            if surge is None:
                raise Conflict(
                    "no incident is live: the surge mode has ended, so there is nothing to tag",
                    code="no_surge",
                )
            if contact.incident_id == surge.incident_id:
                return contact
            if contact.incident_id is not None:
                raise Conflict(
                    f"this contact is already tagged with incident {contact.incident_id}",
                    code="tagged_other_incident",
                )
            return await self._tag(tx, contact, surge, "counsellor", f"user:{counsellor_id}")

    async def _tag(
        self, tx: Transaction, contact: Contact, surge: SurgeMode, via: str, actor: str
    ) -> Contact:
        await self._contacts.tag_incident(tx, contact.id, surge.incident_id)
        await tx.append_event(
            "contact.incident_tagged",
            f"contact:{contact.id}",
            actor,
            {"incident_id": surge.incident_id, "via": via},
        )
        log.info("contact_incident_tagged", contact_id=contact.id, via=via)
        tagged = await self._contacts.load(tx, contact.id)
        assert tagged is not None
        return tagged

    async def assess(
        self, contact_id: int, counsellor_id: int, form: Mapping[str, object]
    ) -> Contact:
        """Record the counsellor's C-SSRS assessment; its level becomes the contact's.

        The counsellor may lower the level below what the evidence so far showed only with a
        written reason (sealed, like all free text); raising needs none. The event carries the
        answers that set the level, and whether a reason was given, never the reason's words.
        """
        result = cssrs_level(form)
        factors = form.get("protective_factors") or []
        if not isinstance(factors, list) or not set(factors) <= set(PROTECTIVE_FACTORS):
            raise InvalidInput("unknown protective factor", field="protective_factors")
        plan = form.get("safety_plan") or ""
        reason = form.get("reason") or ""
        if not isinstance(plan, str) or not isinstance(reason, str):
            raise InvalidInput("safety_plan and reason are text", field="safety_plan")
        limit = 10 * self._config.webchat.max_message_chars
        if len(plan) > limit or len(reason) > limit:
            raise InvalidInput("the text is too long", code="too_long", field="safety_plan")
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            if contact.state not in (ContactState.ACTIVE, ContactState.WRAP_UP):
                raise Conflict("assess during or right after the conversation", code="not_active")
            lowering = result.level.rank < contact.risk.rank
            if lowering and not reason.strip():
                raise InvalidInput(
                    f"the evidence so far shows {contact.risk.value}; write why the risk is "
                    f"now {result.level.value}",
                    code="reason_required",
                    field="reason",
                )
            await self._assessments.add(
                tx, contact_id, counsellor_id, form, list(factors), result.level, plan, reason
            )
            await self._contacts.set_risk(tx, contact_id, result.level)
            await tx.append_event(
                "contact.risk_changed",
                f"contact:{contact_id}",
                f"user:{counsellor_id}",
                {
                    "from": contact.risk.value,
                    "to": result.level.value,
                    "source": "assessment",
                    "reasons": list(result.reasons),
                    "lowered_with_reason": lowering,
                },
            )
            changed = await self._contacts.load(tx, contact_id)
            assert changed is not None
            if contact.risk is not RiskLevel.IMMINENT:
                await self._alert_supervisor_if_imminent(tx, changed)
        return changed

    async def _alert_supervisor_if_imminent(self, tx: Transaction, contact: Contact) -> None:
        """Someone in a conversation is in danger now: alert the supervisors, as step one."""
        if contact.risk is not RiskLevel.IMMINENT or contact.counsellor_id is None:
            return
        await self._protocol.add(tx, contact.id, "system", "supervisor_alerted", True, None, "")
        await tx.append_event(
            "protocol.step",
            f"contact:{contact.id}",
            "system",
            {
                "step": "supervisor_alerted",
                "done": True,
                "service": None,
                "noted": False,
                "counsellor_id": contact.counsellor_id,
            },
        )

    async def record_protocol_step(
        self, contact_id: int, counsellor_id: int, form: Mapping[str, object]
    ) -> None:
        """Record a step of the imminent-risk protocol (an event with its time)."""
        step, done, service = form.get("step"), form.get("done", True), form.get("service")
        note = form.get("note") or ""
        if step not in PROTOCOL_STEPS:
            raise InvalidInput(f"step must be one of {', '.join(PROTOCOL_STEPS)}", field="step")
        if not isinstance(done, bool):
            raise InvalidInput("done must be true or false", field="done")
        if service is not None and service not in SERVICES:
            raise InvalidInput(f"service must be one of {', '.join(SERVICES)}", field="service")
        if not isinstance(note, str) or len(note) > self._config.webchat.max_message_chars:
            raise InvalidInput("the note is too long", code="too_long", field="note")
        if step == "emergency_services" and (service in (None, "none") or not done) and not note:
            raise InvalidInput(
                "write why emergency services were not contacted",
                code="reason_required",
                field="note",
            )
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            actor = f"user:{counsellor_id}"
            await self._protocol.add(tx, contact_id, actor, str(step), done, service, note)
            await tx.append_event(
                "protocol.step",
                f"contact:{contact_id}",
                actor,
                {"step": step, "done": done, "service": service, "noted": bool(note)},
            )

    async def protocol_steps(self, contact_id: int) -> list[dict[str, object]]:
        """The protocol steps recorded for a contact."""
        return await self._protocol.of_contact(contact_id)

    async def latest_assessment(self, contact_id: int) -> dict[str, object] | None:
        """The contact's most recent assessment (answers, factors, level, safety plan)."""
        return await self._assessments.latest(contact_id)

    async def raise_wait_alarms(
        self, on_breach: BreachHook | None = None
    ) -> list[tuple[Contact, int]]:
        """Find people waiting past their level's target; one alarm event each (and per level).

        Returns (contact, seconds waited). The event is what the supervisors' consoles ring
        on and what the statistics count; it is raised once per contact and level, so a
        person does not cause an alarm every sweep, and a rise in risk (a tighter target)
        raises a new one. `on_breach` runs inside the same transaction (the application
        wires dispatch's supervisor page there, so an alarm and its page are one commit).
        """
        raised: list[tuple[Contact, int]] = []
        async with self._db.transaction() as tx:
            now = tx.clock.now()
            for level, target in self._config.wait_targets_seconds.items():
                cutoff = now - timedelta(seconds=target)
                for contact in await self._contacts.past_wait_target(tx, level, cutoff):
                    waited = int((now - contact.waiting_since).total_seconds())
                    await self._contacts.mark_wait_alarmed(tx, contact)
                    await tx.append_event(
                        "contact.wait_breached",
                        f"contact:{contact.id}",
                        "system",
                        {"risk": level.value, "waited_seconds": waited, "target_seconds": target},
                    )
                    raised.append((contact, waited))
                    if on_breach is not None:
                        await on_breach(tx, contact.id, level, contact.district)
        for contact, waited in raised:
            log.warning(
                "wait_target_breached",
                contact_id=contact.id,
                risk=contact.risk.value,
                waited_seconds=waited,
            )
        return raised

    # -- phone calls and texts -----------------------------------------------------------

    def caller_hash(self, number: str) -> str:
        """The keyed hash that links a number's contacts without storing the number in clear."""
        return self._cipher.keyed_hash(number)

    async def start_call(
        self,
        call_sid: str,
        number: str,
        risk: RiskLevel,
        district: str | None,
        arrived_at: datetime | None = None,
    ) -> Contact:
        """Queue a phone call after the IVR; a webhook retried by Twilio finds the same contact.

        `arrived_at`: when the caller reached the queue, for a call kept in the spool while
        the store was away (it waits from then, not from the replay).
        """
        existing = await self._contacts.by_call_sid(call_sid)
        if existing is not None:
            return existing
        if district is not None and self._config.district(district) is None:
            district = None
        contact = await self._intake.admit(
            Arrival(
                Channel.VOICE,
                district,
                self._config.ui.language,
                RiskLevel.NONE,
                None,
                call_sid=call_sid,
                caller_number=number,
                caller_hash=self.caller_hash(number),
                arrived_at=arrived_at,
            )
        )
        log.info("contact_started", contact_id=contact.id, channel="voice")
        if risk is not RiskLevel.NONE:
            # Raised, not created, at the IVR's level: the rise is an event naming its source,
            # like every other, so the level can be traced to the key the caller pressed.
            contact = await self.raise_risk(contact.id, risk, "ivr", ["ivr.danger_key"])
        return contact

    async def by_call_sid(self, call_sid: str) -> Contact | None:
        """The contact of a phone call, if the call got as far as the queue."""
        return await self._contacts.by_call_sid(call_sid)

    async def caller_number(self, contact_id: int) -> str | None:
        """The person's number, opened for a callback or an SMS reply (never for display)."""
        return await self._contacts.caller_number(contact_id)

    async def call_answered(self, contact_id: int, actor: str) -> Contact:
        """The counsellor picked up: the conversation is on (a repeated callback is harmless)."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            if contact.state is not ContactState.OFFERED:
                return contact
            return await self._move(
                tx, contact, ContactState.ACTIVE, actor, answered_at=tx.clock.now()
            )

    async def call_not_answered(self, contact_id: int, reason: str) -> Contact:
        """The counsellor's phone or browser did not pick up: back to the head of the queue."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            if contact.state is not ContactState.OFFERED:
                return contact
            return await self._move(
                tx,
                contact,
                ContactState.QUEUED,
                "system",
                reason=reason,
                event_data={"from_counsellor": contact.counsellor_id},
                counsellor_id=None,
                requeued=1,
            )

    async def call_ended(self, contact_id: int, waited_seconds: int | None = None) -> Contact:
        """The caller's line closed: abandoned while waiting, or to wrap-up if they talked."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            now = tx.clock.now()
            if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
                waited = (
                    waited_seconds
                    if waited_seconds is not None
                    else int((now - contact.waiting_since).total_seconds())
                )
                return await self._move(
                    tx,
                    contact,
                    ContactState.ABANDONED,
                    "caller",
                    event_data={"waited_seconds": waited},
                    ended_by="caller",
                    ended_at=now,
                )
            if contact.state is ContactState.ACTIVE:
                return await self._move(
                    tx, contact, ContactState.WRAP_UP, "caller", ended_by="caller", ended_at=now
                )
            return contact

    async def overflow(self, contact_id: int, destination: str) -> Contact:
        """Nobody could answer: the contact went to a backup, and says where."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            if contact.state not in (ContactState.QUEUED, ContactState.OFFERED):
                return contact
            now = tx.clock.now()
            return await self._move(
                tx,
                contact,
                ContactState.TRANSFERRED,
                "system",
                event_data={
                    "to": destination,
                    "waited_seconds": int((now - contact.waiting_since).total_seconds()),
                },
                transferred_to=destination,
                ended_at=now,
                counsellor_id=None,
            )

    async def request_callback(self, contact_id: int) -> Contact:
        """The caller chose to be called back rather than hold; they stay in the queue."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            if contact.state is not ContactState.QUEUED or contact.callback_requested:
                return contact
            await self._contacts.flag_callback(tx, contact_id)
            await tx.append_event("contact.callback_requested", f"contact:{contact_id}", "caller")
            refreshed = await self._contacts.load(tx, contact_id)
            assert refreshed is not None
            return refreshed

    async def sms_received(
        self, number: str, text: str, arrived_at: datetime | None = None
    ) -> tuple[Contact, Message, bool]:
        """File an inbound text: continue the number's open thread or open a new contact.

        Returns the contact, the stored message, and whether the contact is new. One
        transaction holds both, so a text is never stored without its contact or lost.
        `arrived_at`: when a text kept in the spool while the store was away arrived.
        """
        body = self.check_text(text)
        caller = self.caller_hash(number)
        window = timedelta(minutes=self._config.telephony.sms_inactivity_minutes)
        async with self._db.transaction() as tx:
            now = tx.clock.now()
            contact = await self._contacts.open_sms_thread(
                tx, caller, min(arrived_at or now, now) - window
            )
            is_new = contact is None
            if contact is None:
                repeat = bool(await self._contacts.known_callers(tx, [caller]))
                [contact] = await self._contacts.add_queued(
                    tx,
                    [
                        NewContact(
                            channel=Channel.SMS,
                            risk=RiskLevel.NONE,
                            district=None,
                            lang=self._config.ui.language,
                            caller_token_hash=None,
                            connected=True,
                            caller_number=number,
                            caller_hash=caller,
                            arrived_at=arrived_at,
                        )
                    ],
                )
                await tx.append_event(
                    "contact.queued",
                    f"contact:{contact.id}",
                    "caller",
                    {
                        "channel": Channel.SMS.value,
                        "district": None,
                        "risk": contact.risk.value,
                        "repeat": repeat,
                        **arrival_note(arrived_at, contact),
                    },
                )
                await self._announce_started(tx, contact)
            message = await self._append_message(tx, contact, "caller", None, body)
            await self._contacts.touch(tx, contact.id)
        await self._scan(contact.id, body)
        contact = await self.get(contact.id)
        return contact, message, is_new

    async def sms_opt_out(self, number: str) -> None:
        """The person texted STOP: record it (by keyed hash) so no reply is ever sent."""
        async with self._db.transaction() as tx:
            caller = self.caller_hash(number)
            await self._opt_outs.add(tx, caller)
            await tx.append_event("sms.opted_out", f"caller:{caller[:16]}", "caller")

    async def sms_opt_in(self, number: str) -> None:
        """The person texted START: texts may go to them again."""
        async with self._db.transaction() as tx:
            caller = self.caller_hash(number)
            await self._opt_outs.remove(tx, caller)
            await tx.append_event("sms.opted_in", f"caller:{caller[:16]}", "caller")

    async def opted_out(self, number: str) -> bool:
        """True when this number asked for no more texts."""
        return await self._opt_outs.contains(self.caller_hash(number))

    async def record_delivery(
        self, message_id: int, status: str, provider_sid: str | None = None
    ) -> None:
        """What the SMS provider says of an outbound message (an event, so consoles update)."""
        async with self._db.transaction() as tx:
            message = await self._messages.get(message_id)
            if message is None:
                raise NotFound(f"message {message_id} does not exist")
            await self._messages.set_delivery(tx, message_id, status, provider_sid)
            await tx.append_event(
                "message.delivery",
                f"contact:{message.contact_id}",
                "provider",
                {"message_id": message_id, "status": status},
            )

    async def pending_deliveries(self) -> list[Message]:
        """Outbound texts stored but not yet handed to the provider."""
        return await self._messages.pending()

    # -- messages --------------------------------------------------------------------------

    def check_text(self, text: object, what: str = "message") -> str:
        """The text if it is non-empty and within the size limit, else `InvalidInput`."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"{what} is empty", code="empty", field="text")
        limit = self._config.webchat.max_message_chars
        if len(text) > limit:
            raise InvalidInput(
                f"{what} is {len(text)} characters; the limit is {limit}",
                code="too_long",
                field="text",
            )
        return text

    async def caller_message(self, contact_id: int, text: object) -> Message:
        """Store a message from the person (allowed while waiting, too)."""
        body = self.check_text(text, "message")
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            if not contact.state.is_open:
                raise Conflict("this conversation has ended", code="ended")
            message = await self._append_message(tx, contact, "caller", None, body)
        await self._scan(contact_id, body)
        return message

    async def _scan(self, contact_id: int, body: str) -> None:
        """Run the text scanner on what the person wrote; a rise re-orders the queue at once."""
        if self._scanner is None:
            return
        signal = self._scanner.scan(body)
        if signal.level is not RiskLevel.NONE:
            await self.raise_risk(contact_id, signal.level, "text_scanner", signal.reasons)

    async def counsellor_message(
        self, contact_id: int, counsellor_id: int, text: object
    ) -> Message:
        """Store and deliver a counsellor's reply to the person."""
        body = self.check_text(text, "reply")
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            if contact.state is not ContactState.ACTIVE:
                raise Conflict(
                    f"replies can be sent only during the conversation (it is {contact.state})",
                    code="not_active",
                )
            if contact.channel is Channel.VOICE:
                raise Conflict(
                    "this is a phone call: speak with the person; use notes for writing",
                    code="voice_call",
                )
            delivery = None
            if contact.channel is Channel.SMS:
                number = await self._contacts.caller_number(contact.id)
                if number is not None and await self._opt_outs.contains(self.caller_hash(number)):
                    raise Conflict(
                        "the person texted STOP: no more texts may be sent to this number",
                        code="opted_out",
                    )
                await self._contacts.touch(tx, contact.id)
                delivery = "pending"  # the SMS channel hands it to the provider after commit
            return await self._append_message(
                tx, contact, "counsellor", counsellor_id, body, delivery
            )

    async def _append_message(
        self,
        tx: Transaction,
        contact: Contact,
        sender: str,
        author_id: int | None,
        body: str,
        delivery_status: str | None = None,
    ) -> Message:
        message = await self._messages.add(tx, contact.id, sender, author_id, body, delivery_status)
        actor = f"user:{author_id}" if author_id else "caller"
        # The event carries the length, never the text: events feed logs and statistics.
        await tx.append_event(
            "message.added",
            f"contact:{contact.id}",
            actor,
            {"message_id": message.id, "sender": sender, "chars": len(body)},
        )
        return message

    async def messages(self, contact_id: int) -> list[Message]:
        """The conversation so far, oldest first."""
        return await self._messages.of_contact(contact_id)

    async def message(self, message_id: int) -> Message | None:
        """One message by id (live views fetch the text of an event this way)."""
        return await self._messages.get(message_id)

    async def add_note(self, contact_id: int, counsellor_id: int, text: object) -> Note:
        """A private note by the counsellor who holds the contact."""
        body = self.check_text(text, "note")
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            note = await self._notes.add(tx, contact_id, counsellor_id, body)
            await tx.append_event(
                "note.added", f"contact:{contact_id}", f"user:{counsellor_id}", {"note_id": note.id}
            )
        return note

    async def notes(self, contact_id: int) -> list[Note]:
        """A contact's private notes, oldest first."""
        return await self._notes.of_contact(contact_id)

    # -- the queue -------------------------------------------------------------------------

    async def take_next(
        self, counsellor_id: int, channels: frozenset[Channel] | None = None
    ) -> Contact | None:
        """Give the most urgent waiting contact to this counsellor, or None if nobody waits.

        The claim is one `UPDATE ... WHERE state = 'queued' RETURNING` inside a write
        transaction (see `ContactRepository.claim_next`), so two counsellors pressing "take
        next" at the same instant (in one process or several on the same file) never
        receive the same contact.
        """
        await self._require_available(counsellor_id)
        picked = await self._take_picked(counsellor_id, channels)
        if picked is not None:
            return picked
        async with self._db.transaction() as tx:
            now = tx.clock.now()
            contact = await self._contacts.claim_next(tx, counsellor_id, now, channels)
            if contact is None:
                return None
            contact = await self._offered(tx, contact, counsellor_id)
        log.info("contact_taken", contact_id=contact.id, counsellor_id=counsellor_id)
        return contact

    async def _take_picked(
        self, counsellor_id: int, channels: frozenset[Channel] | None
    ) -> Contact | None:
        """Claim the contact the shared index suggests; None when there is no index, it
        suggests nobody, or only stale picks (the store's own order decides then)."""
        picker = self.queue_picker
        if picker is None:
            return None
        for _ in range(STALE_PICKS):
            contact_id = await picker.take(channels)
            if contact_id is None:
                return None
            try:
                async with self._db.transaction() as tx:
                    now = tx.clock.now()
                    contact = await self._contacts.claim(tx, contact_id, counsellor_id, now)
                    if contact is not None:
                        contact = await self._offered(tx, contact, counsellor_id)
            except BaseException:
                await picker.refresh([contact_id])  # popped but not claimed: put it back
                raise
            if contact is not None:
                log.info("contact_taken", contact_id=contact.id, counsellor_id=counsellor_id)
                return contact
        return None

    async def take(self, contact_id: int, counsellor_id: int) -> Contact:
        """Take one named waiting contact (an urgent offer answered); 409 if someone was faster."""
        await self._require_available(counsellor_id)
        async with self._db.transaction() as tx:
            contact = await self._contacts.claim(tx, contact_id, counsellor_id, tx.clock.now())
            if contact is None:
                raise Conflict("another counsellor has already taken this person", code="taken")
            contact = await self._offered(tx, contact, counsellor_id)
        log.info("contact_taken", contact_id=contact.id, counsellor_id=counsellor_id)
        return contact

    async def _require_available(self, counsellor_id: int) -> None:
        presence = await self._counsellors.presence(counsellor_id)
        if presence.status is not Presence.AVAILABLE:
            raise Conflict(
                "you are on break; set yourself available to take contacts", code="not_available"
            )

    async def _offered(self, tx: Transaction, contact: Contact, counsellor_id: int) -> Contact:
        """Record a claim just made, and answer at once where nothing has to ring."""
        now = tx.clock.now()
        actor = f"user:{counsellor_id}"
        await tx.append_event(
            "contact.offered",
            f"contact:{contact.id}",
            actor,
            {"from": "queued", "to": "offered", "counsellor_id": counsellor_id},
        )
        # Web chat and SMS have nothing to ring: the counsellor who took it is talking at
        # once. A call stays offered until the counsellor's phone or browser picks up.
        if contact.channel.answers_at_once:
            contact = await self._move(tx, contact, ContactState.ACTIVE, actor, answered_at=now)
        await self._alert_supervisor_if_imminent(tx, contact)
        return contact

    async def queue(self, limit: int | None = None) -> list[Contact]:
        """Waiting contacts in the order they will be answered."""
        return await self._contacts.waiting(limit)

    async def queue_length(self) -> int:
        """How many people are waiting."""
        return await self._contacts.waiting_count()

    async def position(self, contact: Contact) -> int:
        """1-based place of a waiting contact in the queue."""
        return await self._contacts.waiting_ahead_of(contact) + 1

    async def wait_estimate_minutes(self, position: int) -> int:
        """A rough "about N minutes" for the person at `position`.

        position × mean handling time of the last day's conversations ÷ counsellors available
        (at least one), rounded up; the configured default stands in until there is history.
        It is shown as an estimate, never a promise.
        """
        since = self._db.clock.now().replace(microsecond=0) - _DAY
        mean = await self._contacts.mean_handle_minutes(since)
        handle = mean if mean else float(self._config.webchat.default_handle_minutes)
        available = max(1, await self._counsellors.available_count())
        return max(1, math.ceil(position * handle / available))

    # -- ending ----------------------------------------------------------------------------

    async def caller_end(self, contact_id: int) -> Contact:
        """The person closed the conversation: abandoned if unanswered, else to wrap-up."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
                return await self._move(
                    tx,
                    contact,
                    ContactState.ABANDONED,
                    "caller",
                    ended_by="caller",
                    ended_at=tx.clock.now(),
                )
            if contact.state is ContactState.ACTIVE:
                return await self._move(
                    tx,
                    contact,
                    ContactState.WRAP_UP,
                    "caller",
                    ended_by="caller",
                    ended_at=tx.clock.now(),
                )
            return contact  # already over: ending twice is what a person expects to be harmless

    async def counsellor_end(self, contact_id: int, counsellor_id: int) -> Contact:
        """The counsellor ended the conversation; the wrap-up form follows."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            return await self._move(
                tx,
                contact,
                ContactState.WRAP_UP,
                f"user:{counsellor_id}",
                ended_by="counsellor",
                ended_at=tx.clock.now(),
            )

    async def requeue(self, contact_id: int, actor: str, reason: str) -> Contact:
        """Put a contact whose counsellor dropped back at the head of its risk level."""
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            return await self._move(
                tx,
                contact,
                ContactState.QUEUED,
                actor,
                reason=reason,
                event_data={"from_counsellor": contact.counsellor_id},
                counsellor_id=None,
                requeued=1,
            )

    async def wrap_up(
        self, contact_id: int, counsellor_id: int, form: dict[str, object]
    ) -> Contact:
        """Validate and store the wrap-up form, closing the contact.

        The follow-up decision is part of it. At high or imminent risk the counsellor must
        record the person's consent to follow-up or a reason why not; with consent there must
        be a number to reach them. The decision goes to `on_follow_up` in this same
        transaction, so a closed high-risk contact has a case (or a recorded reason), or the
        wrap-up fails whole.
        """
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            self._check_holder(contact, counsellor_id)
            if contact.state is not ContactState.WRAP_UP:
                raise Conflict(
                    "end the conversation before writing the wrap-up", code="not_in_wrap_up"
                )
            own_number = reachable_number(await self._contacts.caller_number(contact_id))
            wrap = self._validate_wrap_up(form, contact.risk, has_number=own_number is not None)
            # A number written on the form is the one the person asked to be reached on.
            phone = (wrap.follow_up_phone or own_number) if wrap.follow_up_wanted else None
            if (
                wrap.caring_contacts
                and phone is not None
                and await self._opt_outs.contains(self.caller_hash(phone))
            ):
                raise InvalidInput(
                    "this number texted STOP, so no caring texts may go to it; untick caring "
                    "texts (the person can text START to receive texts again)",
                    code="opted_out",
                    field="caring_contacts",
                )
            await self._wrap_ups.add(tx, contact_id, counsellor_id, wrap)
            closed = await self._move(
                tx,
                contact,
                ContactState.CLOSED,
                f"user:{counsellor_id}",
                event_data={
                    "category": wrap.category,
                    "outcome": wrap.outcome,
                    "referral": wrap.referral,
                    "follow_up_wanted": wrap.follow_up_wanted,
                    "follow_up_reason": wrap.follow_up_reason,
                    "caring_contacts": wrap.caring_contacts,
                    "key_groups": list(wrap.key_groups),
                },
                closed_at=tx.clock.now(),
            )
            if wrap.follow_up_wanted or contact.risk in FOLLOW_UP_DECISION_RISKS:
                request = FollowUpRequest(
                    contact_id=contact.id,
                    counsellor_id=counsellor_id,
                    risk=contact.risk,
                    district=contact.district,
                    lang=contact.lang,
                    person_hash=await self._contacts.caller_hash(tx, contact.id),
                    phone=phone,
                    consent=wrap.follow_up_wanted,
                    reason=wrap.follow_up_reason,
                    caring=wrap.caring_contacts,
                    owner_district=wrap.follow_up_owner,
                )
                if self.on_follow_up is not None:
                    await self.on_follow_up(tx, request)
        log.info(
            "contact_wrapped_up",
            contact_id=contact_id,
            follow_up=wrap.follow_up_wanted,
            follow_up_reason=wrap.follow_up_reason,
        )
        return closed

    def _validate_wrap_up(
        self, form: Mapping[str, object], risk: RiskLevel, *, has_number: bool
    ) -> WrapUp:
        options = self._config.wrap_up

        def pick(field: str, choices: Sequence[object], label: str) -> str:
            value = form.get(field)
            ids = [getattr(c, "id", None) for c in choices]
            if value not in ids:
                raise InvalidInput(f"choose a {label}", code="invalid_" + field, field=field)
            return str(value)

        # Checked in the form's order, top to bottom, so the first error is the first field.
        category = pick("category", options.categories, "category")
        outcome = pick("outcome", options.outcomes, "outcome")
        referral = pick("referral", options.referrals, "referral")
        groups = form.get("key_groups", [])
        known_groups = {g.id for g in self._config.key_groups}
        if not isinstance(groups, list) or not all(g in known_groups for g in groups):
            raise InvalidInput("unknown key group", code="invalid_key_groups", field="key_groups")
        summary = form.get("summary", "") or ""
        if (
            not isinstance(summary, str)
            or len(summary) > 10 * self._config.webchat.max_message_chars
        ):
            raise InvalidInput("the summary is too long", code="too_long", field="summary")
        consent, reason, caring, owner, phone = self._follow_up_decision(form, risk, has_number)
        return WrapUp(
            category=category,
            outcome=outcome,
            referral=referral,
            follow_up_wanted=consent,
            key_groups=tuple(str(g) for g in groups),
            summary=summary,
            follow_up_reason=reason,
            caring_contacts=caring,
            follow_up_owner=owner,
            follow_up_phone=phone,
        )

    def _follow_up_decision(
        self, form: Mapping[str, object], risk: RiskLevel, has_number: bool
    ) -> tuple[bool, str | None, bool, str | None, str | None]:
        """(consent, reason, caring, owner district, phone) from the wrap-up form's rules.

        A reason is kept only without consent, and a phone, caring texts and an owner only
        with it: what the person did not agree to is not passed on.
        """
        decided = form.get("follow_up_wanted")
        if decided is None:
            if risk in FOLLOW_UP_DECISION_RISKS:
                raise InvalidInput(
                    f"the risk is {risk.value}: record whether the person agreed to follow-up "
                    "(yes, or no with the reason why)",
                    code="follow_up_decision_required",
                    field="follow_up_wanted",
                )
            decided = False
        if not isinstance(decided, bool):
            raise InvalidInput("follow_up_wanted must be true or false", field="follow_up_wanted")

        reasons = {o.id for o in self._config.wrap_up.no_follow_up_reasons}
        reason = form.get("follow_up_reason") or None
        needs_reason = risk in FOLLOW_UP_DECISION_RISKS or reason is not None
        if not decided and needs_reason and reason not in reasons:
            raise InvalidInput(
                "choose why there will be no follow-up (for example: the person declined)",
                code="follow_up_reason_required",
                field="follow_up_reason",
            )

        caring = form.get("caring_contacts", False)
        if caring is None:
            caring = False
        if not isinstance(caring, bool):
            raise InvalidInput("caring_contacts must be true or false", field="caring_contacts")
        if caring and not decided:
            raise InvalidInput(
                "caring texts need the person's consent to follow-up",
                code="caring_needs_consent",
                field="caring_contacts",
            )

        owner = form.get("follow_up_owner") or None
        if owner is not None and (
            not isinstance(owner, str) or self._config.district(owner) is None
        ):
            known = ", ".join(d.id for d in self._config.districts)
            raise InvalidInput(
                f"unknown district {owner!r} for the follow-up; leave it to yourself or choose "
                f"one of: {known}",
                code="unknown_district",
                field="follow_up_owner",
            )

        written = form.get("follow_up_phone") or None
        phone = None
        if decided and written is not None:
            phone = reachable_number(written) if isinstance(written, str) else None
            if phone is None:
                raise InvalidInput(
                    "write the number with its country code, like +8613800000000",
                    code="invalid_phone",
                    field="follow_up_phone",
                )
        if decided and phone is None and not has_number:
            raise InvalidInput(
                "there is no number to reach this person: write the number they agreed to "
                "give, or record no follow-up with the reason that there is no way to reach them",
                code="follow_up_phone_required",
                field="follow_up_phone",
            )
        if decided:
            return True, None, caring, str(owner) if owner else None, phone
        return False, str(reason) if reason else None, False, None, None

    async def wrap_up_of(self, contact_id: int) -> WrapUp | None:
        """The wrap-up recorded for a closed contact."""
        return await self._wrap_ups.of_contact(contact_id)

    # -- repeat callers --------------------------------------------------------------------

    async def caller_summary(self, contact_id: int) -> CallerSummary:
        """How often this contact's person reached the line before, and how the last ended.

        Linked by keyed hash only (of a number or a web-chat identity); counts and levels,
        no words, so reading it is not audited.
        """
        summary = await self._contacts.caller_summary(contact_id)
        if summary is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return summary

    async def has_caller_number(self, contact_id: int) -> bool:
        """True when the contact came with a number of its own (a call or a text)."""
        return await self._contacts.has_caller_number(contact_id)

    async def open_history(
        self, contact_id: int, viewer_id: int, *, supervising: bool
    ) -> list[EarlierContact]:
        """The person's earlier contacts, newest first, wrap-up summaries opened: audited.

        The summaries are personal text, so the read and its `audit.history_opened` event
        are one transaction: there is no read without its record. A counsellor may open the
        history only of a person they are serving now; a supervisor (`supervising`) may open
        any, and the event says which purpose it was.
        """
        async with self._db.transaction() as tx:
            contact = await self._load(tx, contact_id)
            serving = contact.counsellor_id == viewer_id and contact.state in HELD_STATES
            if not serving and not supervising:
                raise Forbidden(
                    "you can open the history only of a person you are serving",
                    code="not_yours",
                )
            earlier = await self._contacts.earlier_contacts(tx, contact_id, HISTORY_LIMIT)
            purpose = "serving_contact" if serving else "supervision"
            await tx.append_event(
                "audit.history_opened",
                f"contact:{contact_id}",
                f"user:{viewer_id}",
                {"earlier_contacts": len(earlier), "purpose": purpose},
            )
            await audit.record(
                tx,
                actor=f"user:{viewer_id}",
                action="history.opened",
                subject=f"contact:{contact_id}",
                purpose=purpose,
                data={"earlier_contacts": len(earlier)},
            )
        log.info("history_opened", contact_id=contact_id, user_id=viewer_id, shown=len(earlier))
        return earlier

    # -- looking up ------------------------------------------------------------------------

    async def get(self, contact_id: int) -> Contact:
        """A contact by id."""
        contact = await self._contacts.get(contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return contact

    async def held_by(self, counsellor_id: int) -> list[Contact]:
        """Contacts a counsellor is talking with or wrapping up."""
        return await self._contacts.held_by(counsellor_id)

    async def in_conversation(self) -> list[Contact]:
        """Every contact a counsellor holds now (the supervisor's floor view)."""
        return await self._contacts.in_conversation()

    # -- recovery and sweeping -------------------------------------------------------------

    async def recover_after_restart(self) -> None:
        """Make the stored state true again after a process stopped.

        Web-chat connections did not survive, so each open web-chat contact starts its
        leaving clock now (the person's page reconnects within seconds). A contact offered
        but never answered goes back to the head of its risk level.
        """
        async with self._db.transaction() as tx:
            await self._contacts.mark_open_webchat_callers_left(tx, tx.clock.now())
            for contact in await self._contacts.offered(tx):
                await self._move(
                    tx,
                    contact,
                    ContactState.QUEUED,
                    "system",
                    reason="restart",
                    counsellor_id=None,
                    requeued=1,
                )

    async def abandon_departed(self) -> list[int]:
        """Mark abandoned the waiting web-chat contacts whose person left and did not return."""
        limit = self._config.webchat.abandon_after_seconds
        cutoff = self._db.clock.now() - _seconds(limit)
        abandoned = []
        async with self._db.transaction() as tx:
            for contact in await self._contacts.left_while_waiting(tx, cutoff):
                await self._move(
                    tx,
                    contact,
                    ContactState.ABANDONED,
                    "system",
                    reason="left_while_waiting",
                    ended_by="caller",
                    ended_at=tx.clock.now(),
                )
                abandoned.append(contact.id)
        return abandoned

    # -- internals -------------------------------------------------------------------------

    async def _load(self, tx: Transaction, contact_id: int) -> Contact:
        contact = await self._contacts.load(tx, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return contact

    @staticmethod
    def _check_holder(contact: Contact, counsellor_id: int) -> None:
        if contact.counsellor_id != counsellor_id:
            raise Forbidden("this contact is held by another counsellor", code="not_yours")

    async def _move(
        self,
        tx: Transaction,
        contact: Contact,
        wanted: ContactState,
        actor: str,
        *,
        reason: str | None = None,
        event_data: dict[str, object] | None = None,
        **columns: object,
    ) -> Contact:
        """The one place a contact changes state: check, update, append the event.

        `columns` are further contact columns to set in the same guarded update.
        """
        check_transition(contact.id, contact.state, wanted)
        moved = await self._contacts.move(tx, contact, wanted, **columns)
        if moved is None:  # changed under us by another process between read and write
            raise IllegalTransition(contact.id, contact.state, wanted)
        data: dict[str, object] = {"from": contact.state.value, "to": wanted.value}
        if reason:
            data["reason"] = reason
        if event_data:
            data.update(event_data)
        await tx.append_event(f"contact.{wanted.value}", f"contact:{contact.id}", actor, data)
        return moved


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)
