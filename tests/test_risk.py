"""Risk from automatic sources: only ever raised, always an event, re-orders the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.risk import RiskLevel
from tests.test_queue import Line, open_line


@pytest.fixture
async def line(config: Config, clock: ManualClock) -> AsyncIterator[Line]:
    opened = await open_line(config, clock)
    yield opened
    await opened.db.close()


async def test_a_rise_reorders_the_queue_and_is_traced_to_its_evidence(
    line: Line, clock: ManualClock
) -> None:
    """A later contact raised to high is answered first; the event names source and reasons."""
    first, _ = await line.conversations.start_webchat(None, "zh-CN")
    clock.advance(minutes=5)
    second, _ = await line.conversations.start_webchat(None, "zh-CN")
    assert [c.id for c in await line.conversations.queue()] == [first.id, second.id]
    raised = await line.conversations.raise_risk(
        second.id, RiskLevel.HIGH, "text_scanner", ["zh.plan.method"]
    )
    assert raised.risk is RiskLevel.HIGH
    assert [c.id for c in await line.conversations.queue()] == [second.id, first.id]
    [event] = [
        e
        for e in await line.db.events_for(f"contact:{second.id}")
        if e.kind == "contact.risk_changed"
    ]
    assert event.actor == "text_scanner"
    assert event.data == {
        "from": "none",
        "to": "high",
        "source": "text_scanner",
        "reasons": ["zh.plan.method"],
    }


async def test_automatic_sources_never_lower_the_level(line: Line) -> None:
    """A calmer message after an alarming one leaves the level where it was, with no event."""
    contact, _ = await line.conversations.start_webchat(None, "zh-CN")
    await line.conversations.raise_risk(contact.id, RiskLevel.IMMINENT, "ivr", ["key_9"])
    after = await line.conversations.raise_risk(contact.id, RiskLevel.LOW, "text_scanner")
    assert after.risk is RiskLevel.IMMINENT
    kinds = [e.kind for e in await line.db.events_for(f"contact:{contact.id}")]
    assert kinds.count("contact.risk_changed") == 1


async def test_a_closed_contact_is_not_raised(line: Line) -> None:
    """Risk rises only while the person may still be waiting or talking."""
    contact, _ = await line.conversations.start_webchat(None, "zh-CN")
    await line.conversations.caller_end(contact.id)
    after = await line.conversations.raise_risk(contact.id, RiskLevel.HIGH, "text_scanner")
    assert after.risk is RiskLevel.NONE
