"""Group-commit intake: a burst of arrivals, each committed once, with its own event."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.contacts import Channel, ContactState
from hotline.crypto import FieldCipher
from hotline.intake import Arrival, Intake
from hotline.risk import RiskLevel
from hotline.store.database import DB_FILE, Database
from tests.test_queue import Line, open_line


@pytest.fixture
async def line(config: Config, clock: ManualClock) -> AsyncIterator[Line]:
    opened = await open_line(config, clock)
    yield opened
    await opened.db.close()


async def test_a_burst_of_chats_all_queued_once_with_events(line: Line) -> None:
    """500 people starting at once: 500 distinct contacts, each with one queued event."""
    async with line.db.bus.subscribe() as published:
        started = await asyncio.gather(
            *(line.conversations.start_webchat("jinghu", "zh-CN") for _ in range(500))
        )
        ids = [contact.id for contact, _ in started]
        assert len(set(ids)) == 500
        assert len({token for _, token in started}) == 500
        assert await line.conversations.queue_length() == 500
        events = published.drain()
    assert sorted(int(e.subject.split(":")[1]) for e in events) == sorted(ids)
    assert len({e.id for e in events}) == 500
    stored = await line.db.fetchall("SELECT id, subject FROM events WHERE kind = 'contact.queued'")
    assert {(r["id"], r["subject"]) for r in stored} == {(e.id, e.subject) for e in events}
    for contact, token in started[:5]:  # each person's token resumes their own contact
        resumed = await line.conversations.resume(token)
        assert resumed is not None and resumed.id == contact.id


async def test_event_ids_keep_growing_after_a_batch(line: Line) -> None:
    """Events written one by one after a batch continue the sequence, never reuse an id."""
    await asyncio.gather(*(line.conversations.start_webchat(None, "en") for _ in range(10)))
    contact, _ = await line.conversations.start_webchat(None, "en")
    await line.conversations.caller_end(contact.id)
    ids = [row[0] for row in await line.db.fetchall("SELECT id FROM events ORDER BY id")]
    assert ids == list(range(ids[0], ids[0] + len(ids)))


async def test_a_failed_batch_tells_every_waiter_and_commits_nothing(
    config: Config, clock: ManualClock
) -> None:
    """If the write fails, each person in the batch gets the error; no half-batch is left."""
    db = await Database.open(config.data_dir / DB_FILE, clock)
    try:
        intake = Intake(db, FieldCipher(os.urandom(32)))
        good = Arrival(Channel.WEBCHAT, None, "zh-CN", RiskLevel.NONE, "digest-a")
        clash = Arrival(Channel.WEBCHAT, None, "zh-CN", RiskLevel.NONE, "digest-a")
        results = await asyncio.gather(
            intake.admit(good), intake.admit(clash), return_exceptions=True
        )
        assert all(isinstance(r, Exception) for r in results)
        assert await db.fetchval("SELECT COUNT(*) FROM contacts") == 0
        assert await db.fetchval("SELECT COUNT(*) FROM events") == 0
        # The intake is not stuck: the next arrival goes in.
        contact = await intake.admit(good)
        assert contact.state is ContactState.QUEUED
    finally:
        await db.close()


async def test_person_who_never_connects_is_abandoned(
    line: Line, config: Config, clock: ManualClock
) -> None:
    """A chat started but never opened (tab closed at once) does not wait in the queue forever."""
    contact, _ = await line.conversations.start_webchat(None, "zh-CN")
    clock.advance(seconds=config.webchat.abandon_after_seconds + 1)
    assert await line.conversations.abandon_departed() == [contact.id]
