"""Intake: new contacts enter the store by group commit.

On a disaster day hundreds of people may open the chat in the same minute. Each new contact
costs a handful of round trips to SQLite's thread (begin, insert, event, commit), and the
writer is one at a time, so writing them one by one caps intake at what those round trips
allow. Here, arrivals that come in while a write is under way wait for the next one and go
in together: one transaction, one multi-row insert of contacts and one of events, whatever
the batch size. A person's request returns only after the transaction holding their contact
has committed, so nobody is told they are queued before they are.

Each new contact that can be linked to earlier ones (it has a caller hash: a number, or a
web-chat identity) is announced to `on_started` inside that same transaction, one call per
contact, so whatever it records about the person commits with the contact or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from hotline.clock import to_iso
from hotline.contacts import Channel, Contact
from hotline.crypto import FieldCipher
from hotline.risk import RiskLevel
from hotline.store.contacts import ContactRepository, NewContact
from hotline.store.database import Database, Transaction

# Large enough to absorb a surge, small enough that one transaction stays short.
MAX_BATCH = 256

# Called inside the admitting transaction for each new contact that has a caller hash.
StartedHook = Callable[[Transaction, Contact], Awaitable[None]]


@dataclass(frozen=True)
class Arrival:
    """Someone reaching the hotline, before they have a contact."""

    channel: Channel
    district: str | None
    lang: str
    risk: RiskLevel
    caller_token_hash: str | None
    call_sid: str | None = None
    caller_number: str | None = None
    caller_hash: str | None = None
    # Set for an arrival replayed from the spool: when the person actually reached the line.
    arrived_at: datetime | None = None


class Intake:
    """Admits arrivals to the queue, many per transaction when they come together."""

    def __init__(
        self, db: Database, cipher: FieldCipher, on_started: StartedHook | None = None
    ) -> None:
        self._db = db
        self._contacts = ContactRepository(db, cipher)
        self._on_started = on_started
        self._pending: list[tuple[Arrival, asyncio.Future[Contact]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def admit(self, arrival: Arrival) -> Contact:
        """Queue one arrival; returns its contact once it is committed."""
        future: asyncio.Future[Contact] = asyncio.get_running_loop().create_future()
        self._pending.append((arrival, future))
        if self._drainer is None or self._drainer.done():
            # A task of its own, so a request that is cancelled cannot stop the writes of
            # everyone else waiting in the same batch.
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                contacts = await self._write([arrival for arrival, _ in batch])
            except Exception as exc:  # every waiter hears why; nothing was committed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), contact in zip(batch, contacts, strict=True):
                if not future.done():
                    future.set_result(contact)

    async def _write(self, arrivals: list[Arrival]) -> list[Contact]:
        async with self._db.transaction() as tx:
            known = await self._contacts.known_callers(
                tx, [a.caller_hash for a in arrivals if a.caller_hash is not None]
            )
            contacts = await self._contacts.add_queued(
                tx,
                [
                    NewContact(
                        channel=arrival.channel,
                        risk=arrival.risk,
                        district=arrival.district,
                        lang=arrival.lang,
                        caller_token_hash=arrival.caller_token_hash,
                        # A web-chat person is not connected until their socket opens: if it
                        # never does, the abandonment sweep must still find them.
                        connected=arrival.channel is not Channel.WEBCHAT,
                        call_sid=arrival.call_sid,
                        caller_number=arrival.caller_number,
                        caller_hash=arrival.caller_hash,
                        arrived_at=arrival.arrived_at,
                    )
                    for arrival in arrivals
                ],
            )
            await tx.append_events(
                [
                    (
                        "contact.queued",
                        f"contact:{c.id}",
                        "caller",
                        {
                            "channel": c.channel.value,
                            "district": c.district,
                            "risk": c.risk.value,
                            # Whether this person reached the line before: a flag, never
                            # the hash, so statistics can count repeat callers.
                            "repeat": a.caller_hash in known,
                            **arrival_note(a.arrived_at, c),
                        },
                    )
                    for a, c in zip(arrivals, contacts, strict=True)
                ]
            )
            if self._on_started is not None:
                for arrival, contact in zip(arrivals, contacts, strict=True):
                    if arrival.caller_hash is not None:
                        await self._on_started(tx, contact)
        return contacts


def arrival_note(arrived_at: datetime | None, contact: Contact) -> dict[str, str]:
    """For an arrival kept in the spool while the store was away: when the person actually
    reached the line, so statistics measure their wait from then, not from the replay."""
    return {} if arrived_at is None else {"arrived_at": to_iso(contact.waiting_since)}
