"""The queue in the store: its order, the atomic take-next race, and abandonment."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.contacts import ContactState, IllegalTransition
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors, Presence
from hotline.crypto import FieldCipher
from hotline.errors import Conflict
from hotline.risk import RiskLevel
from hotline.store.database import DB_FILE, Database
from hotline.users import Role, Users

KEY = os.urandom(32)


@dataclass
class Line:
    """One process's view of the store: database plus services."""

    db: Database
    conversations: Conversations
    counsellors: Counsellors
    users: Users


async def open_line(config: Config, clock: ManualClock) -> Line:
    db = await Database.open(config.data_dir / DB_FILE, clock)
    cipher = FieldCipher(KEY)
    counsellors = Counsellors(db)
    return Line(db, Conversations(db, cipher, config, counsellors), counsellors, Users(db, cipher))


@pytest.fixture
async def line(config: Config, clock: ManualClock) -> AsyncIterator[Line]:
    opened = await open_line(config, clock)
    yield opened
    await opened.db.close()


async def counsellor(line: Line, name: str) -> int:
    user = await line.users.add(name, name, Role.COUNSELLOR, "long enough password")
    await line.counsellors.set_presence(user.id, Presence.AVAILABLE)
    return user.id


async def set_risk(line: Line, contact_id: int, risk: RiskLevel) -> None:
    async with line.db.transaction() as tx:
        await tx.execute(
            "UPDATE contacts SET risk = ?, risk_rank = ? WHERE id = ?",
            (risk.value, risk.rank, contact_id),
        )


async def test_take_next_follows_risk_then_wait(line: Line, clock: ManualClock) -> None:
    """Counsellors get the highest risk first, and within a level the longest waiting."""
    ids = []
    for risk in (RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.LOW, RiskLevel.IMMINENT):
        contact, _ = await line.conversations.start_webchat(None, "zh-CN")
        await set_risk(line, contact.id, risk)
        ids.append(contact.id)
        clock.advance(seconds=30)
    me = await counsellor(line, "wang")
    taken = []
    while (contact := await line.conversations.take_next(me)) is not None:
        taken.append(contact.id)
    assert taken == [ids[3], ids[1], ids[0], ids[2]]


async def test_requeued_contact_returns_to_head_of_its_level(
    line: Line, clock: ManualClock
) -> None:
    """A dropped contact is answered before others of its level, keeping its waiting time."""
    first, _ = await line.conversations.start_webchat(None, "zh-CN")
    clock.advance(minutes=1)
    second, _ = await line.conversations.start_webchat(None, "zh-CN")
    me = await counsellor(line, "wang")
    taken = await line.conversations.take_next(me)
    assert taken is not None and taken.id == first.id
    clock.advance(minutes=5)
    third, _ = await line.conversations.start_webchat(None, "zh-CN")
    requeued = await line.conversations.requeue(first.id, "system", "counsellor_dropped")
    assert requeued.state is ContactState.QUEUED and requeued.waiting_since == first.waiting_since
    assert [c.id for c in await line.conversations.queue()] == [first.id, second.id, third.id]
    assert await line.conversations.position(requeued) == 1


async def test_on_break_counsellor_cannot_take(line: Line) -> None:
    """Take-next refuses a counsellor on break instead of handing them a person."""
    await line.conversations.start_webchat(None, "zh-CN")
    me = await counsellor(line, "wang")
    await line.counsellors.set_presence(me, Presence.ON_BREAK)
    with pytest.raises(Conflict) as refused:
        await line.conversations.take_next(me)
    assert refused.value.code == "not_available"
    assert await line.conversations.queue_length() == 1


async def test_illegal_transition_is_an_error(line: Line) -> None:
    """Steps out of order are refused with an error, and the contact stays where it was."""
    talking, _ = await line.conversations.start_webchat(None, "zh-CN")
    left, _ = await line.conversations.start_webchat(None, "zh-CN")
    me = await counsellor(line, "wang")
    assert (await line.conversations.take_next(me)).id == talking.id  # type: ignore[union-attr]
    with pytest.raises(Conflict) as refused:  # the wrap-up comes after the conversation ends
        await line.conversations.wrap_up(talking.id, me, {})
    assert refused.value.code == "not_in_wrap_up"
    await line.conversations.caller_end(left.id)
    with pytest.raises(IllegalTransition):
        await line.conversations.requeue(left.id, "system", "test")
    assert (await line.conversations.get(left.id)).state is ContactState.ABANDONED
    assert (await line.conversations.get(talking.id)).state is ContactState.ACTIVE


async def test_concurrent_take_next_never_gives_a_contact_twice(
    config: Config, clock: ManualClock
) -> None:
    """Many counsellors on several connections race for the queue: each contact goes once."""
    lines = [await open_line(config, clock) for _ in range(4)]
    try:
        waiting = 120
        for _ in range(waiting):
            await lines[0].conversations.start_webchat(None, "zh-CN")
        takers = [await counsellor(lines[0], f"c{i}") for i in range(24)]

        async def take_all(line: Line, me: int) -> list[int]:
            got = []
            while (contact := await line.conversations.take_next(me)) is not None:
                got.append(contact.id)
            return got

        results = await asyncio.gather(
            *(take_all(lines[i % len(lines)], me) for i, me in enumerate(takers))
        )
        given = [cid for got in results for cid in got]
        assert len(given) == len(set(given)), "a contact was given to two counsellors"
        assert len(given) == waiting, "a contact was lost"
        holders = await lines[0].db.fetchall(
            "SELECT id, counsellor_id FROM contacts WHERE state = 'active'"
        )
        owner = {row["id"]: row["counsellor_id"] for row in holders}
        for me, got in zip(takers, results, strict=True):
            assert all(owner[cid] == me for cid in got)
    finally:
        for opened in lines:
            await opened.db.close()


async def test_person_who_leaves_while_waiting_is_abandoned_after_grace(
    line: Line, clock: ManualClock, config: Config
) -> None:
    """Leaving the chat page does not abandon at once; staying away past the grace does."""
    contact, _ = await line.conversations.start_webchat(None, "zh-CN")
    back, _ = await line.conversations.start_webchat(None, "zh-CN")
    await line.conversations.caller_disconnected(contact.id)
    await line.conversations.caller_disconnected(back.id)
    clock.advance(seconds=config.webchat.abandon_after_seconds - 1)
    await line.conversations.caller_connected(back.id)
    assert await line.conversations.abandon_departed() == []
    clock.advance(seconds=2)
    assert await line.conversations.abandon_departed() == [contact.id]
    assert (await line.conversations.get(contact.id)).state is ContactState.ABANDONED
    assert (await line.conversations.get(back.id)).state is ContactState.QUEUED


async def test_every_change_is_an_event(line: Line, clock: ManualClock) -> None:
    """The event log holds each transition with its time and actor, and cannot be rewritten."""
    contact, _ = await line.conversations.start_webchat("wuwei", "zh-CN")
    me = await counsellor(line, "wang")
    clock.advance(seconds=42)
    await line.conversations.take_next(me)
    events = await line.db.events_for(f"contact:{contact.id}")
    assert [(e.kind, e.actor) for e in events] == [
        ("contact.queued", "caller"),
        ("contact.offered", f"user:{me}"),
        ("contact.active", f"user:{me}"),
    ]
    assert events[1].at == clock.now()
    assert events[0].data["district"] == "wuwei"
    with pytest.raises(Exception, match="append-only"):
        async with line.db.transaction() as tx:
            await tx.execute("DELETE FROM events")
